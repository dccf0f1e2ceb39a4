//! `protoland backfill`'s engine: listing, skipping what already landed,
//! `--force`, and never reading its own output, on local directories and on
//! moto's S3.

#![allow(clippy::unwrap_used)]

use protoland_pipeline::Pipeline;
use protoland_pipeline::backfill::{self, BackfillOptions};
use protoland_pipeline::config::{BadObjectPolicy, Settings};
use protoland_pipeline::storage::Location;
use protoland_pipeline::testing::{
    CLICK_MESSAGE, Moto, click, click_schema_source, expected_ndjson, frame, get, gunzip, keys,
    put, store,
};
use protoland_stream::Framing;

fn settings(landing: Location) -> Settings {
    let mut s = Settings::new(landing);
    s.schema = Some(click_schema_source());
    s.message = Some(CLICK_MESSAGE.into());
    s.metrics.enabled = false;
    s
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The names in a directory, sorted.
fn dir_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn converts_a_local_directory_then_skips_what_landed_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let messages: Vec<Vec<u8>> = (0..30).map(|i| click(i, 4)).collect();
    std::fs::create_dir_all(raw.join("clicks/2024")).unwrap();
    std::fs::write(
        raw.join("clicks/2024/a b.pb"),
        frame(&messages, Framing::Varint),
    )
    .unwrap();
    std::fs::write(
        raw.join("clicks/one.bin"),
        frame(&messages[..1], Framing::Single),
    )
    .unwrap();
    // The landing directory inside the source: its objects are never sources.
    let landing = raw.join("out");
    let pipeline = runtime().block_on(Pipeline::start(
        settings(Location::Local {
            root: landing.clone(),
        }),
        "backfill",
    ));
    let pipeline = pipeline.unwrap();
    let rt = runtime();
    let source = Location::Local { root: raw.clone() };
    let options = BackfillOptions {
        force: false,
        concurrency: Some(2),
        follow_symlinks: false,
    };

    let first = rt
        .block_on(backfill::run(&pipeline, &source, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (first.listed, first.stats.objects, first.existing),
        (2, 2, 0),
        "{first:?}"
    );
    let landed = std::fs::read(landing.join("clicks/2024/a b.ndjson.gz")).unwrap();
    assert!(gunzip(&landed) == expected_ndjson(&messages));
    // Only what landed: no empty `_quarantine/` under the `fail` policy.
    assert_eq!(dir_names(&landing), ["clicks"]);
    assert!(
        gunzip(&std::fs::read(landing.join("clicks/one.ndjson.gz")).unwrap())
            == expected_ndjson(&messages[..1])
    );

    let second = rt
        .block_on(backfill::run(&pipeline, &source, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (second.listed, second.stats.objects, second.existing),
        (2, 0, 2),
        "{second:?}"
    );

    let forced = BackfillOptions {
        force: true,
        concurrency: None,
        follow_symlinks: false,
    };
    let third = rt
        .block_on(backfill::run(&pipeline, &source, &forced, |_, _| {}))
        .unwrap();
    assert_eq!((third.stats.objects, third.existing), (2, 0), "{third:?}");
    assert_eq!(
        std::fs::read(landing.join("clicks/2024/a b.ndjson.gz")).unwrap(),
        landed,
        "same bytes"
    );
}

#[test]
fn quarantines_a_bad_local_object_under_the_landing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let landing = dir.path().join("landing");
    std::fs::create_dir_all(&raw).unwrap();
    let messages: Vec<Vec<u8>> = (0..3).map(|i| click(i, 4)).collect();
    std::fs::write(raw.join("good.pb"), frame(&messages, Framing::Varint)).unwrap();
    std::fs::write(raw.join("bad.pb"), b"\xff\xfe not protobuf").unwrap();
    let mut s = settings(Location::Local {
        root: landing.clone(),
    });
    s.on_bad_object = BadObjectPolicy::Quarantine;
    let rt = runtime();
    let pipeline = rt.block_on(Pipeline::start(s, "backfill")).unwrap();
    let options = BackfillOptions {
        force: false,
        concurrency: None,
        follow_symlinks: false,
    };
    let source = Location::Local { root: raw.clone() };
    let summary = rt
        .block_on(backfill::run(&pipeline, &source, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (
            summary.stats.objects,
            summary.stats.quarantined,
            summary.stats.failures
        ),
        (1, 1, 0),
        "{summary:?}"
    );
    assert_eq!(dir_names(&landing), ["_quarantine", "good.ndjson.gz"]);
    let report = landing.join("_quarantine/bad.pb.error.json");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["key"], "bad.pb", "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("bad.pb"),
        "{report}"
    );
}

#[test]
fn backfills_an_s3_prefix_and_reports_bad_objects() {
    let moto = Moto::start();
    moto.create_buckets(&["data"]);
    let rt = runtime();
    let data = store(&moto, "data");
    let messages: Vec<Vec<u8>> = (0..10).map(|i| click(i, 2)).collect();
    rt.block_on(async {
        put(&data, "raw/x.pb", frame(&messages, Framing::Varint)).await;
        put(&data, "raw/deep/y.pb", frame(&messages, Framing::Varint)).await;
        put(&data, "raw/bad.pb", b"\xff\xfe not protobuf".to_vec()).await;
        put(
            &data,
            "rawish/not-listed.pb",
            frame(&messages, Framing::Varint),
        )
        .await;
    });
    let mut s = settings(Location::parse("s3://data/landing").unwrap());
    s.storage = moto.storage_options();
    let pipeline = rt.block_on(Pipeline::start(s, "backfill")).unwrap();
    let source = Location::parse("s3://data/raw").unwrap();
    let options = BackfillOptions {
        force: false,
        concurrency: None,
        follow_symlinks: false,
    };
    let summary = rt
        .block_on(backfill::run(&pipeline, &source, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (
            summary.listed,
            summary.stats.objects,
            summary.stats.failures
        ),
        (3, 2, 1),
        "{summary:?}"
    );
    assert_eq!(summary.failures.len(), 1);
    assert!(
        summary.failures[0].starts_with("s3://data/raw/bad.pb: "),
        "{:?}",
        summary.failures
    );
    let all = rt.block_on(keys(&data));
    assert!(
        all.contains(&"landing/raw/x.ndjson.gz".to_owned()),
        "{all:?}"
    );
    assert!(
        gunzip(&rt.block_on(get(&data, "landing/raw/deep/y.ndjson.gz")))
            == expected_ndjson(&messages)
    );

    // Everything under the whole bucket now: landing output is not a source.
    let whole = Location::parse("s3://data").unwrap();
    let again = rt
        .block_on(backfill::run(&pipeline, &whole, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (again.listed, again.existing, again.stats.objects),
        (4, 2, 1),
        "{again:?}"
    );
}

/// All files under a directory, relative and sorted.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// A symlink in a local source to a file outside it (`secret.pb` → a file
/// elsewhere) and one to a directory outside it were read and converted:
/// `object_store`'s listing follows links. They are skipped now, unless
/// `follow_symlinks` is set.
#[cfg(unix)]
#[test]
fn does_not_follow_symlinks_out_of_a_local_source_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&raw).unwrap();
    std::fs::create_dir_all(outside.join("private")).unwrap();
    let messages: Vec<Vec<u8>> = (0..3).map(|i| click(i, 4)).collect();
    let stream = frame(&messages, Framing::Varint);
    std::fs::write(raw.join("own.pb"), &stream).unwrap();
    std::fs::write(outside.join("secret.pb"), &stream).unwrap();
    std::fs::write(outside.join("private/more.pb"), &stream).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.pb"), raw.join("secret.pb")).unwrap();
    std::os::unix::fs::symlink(outside.join("private"), raw.join("private")).unwrap();

    let rt = runtime();
    let source = Location::Local { root: raw.clone() };
    for (follow, expected) in [
        (false, vec!["own.ndjson.gz"]),
        (
            true,
            vec![
                "own.ndjson.gz",
                "private/more.ndjson.gz",
                "secret.ndjson.gz",
            ],
        ),
    ] {
        let landing = dir.path().join(format!("landing-{follow}"));
        let pipeline = rt
            .block_on(Pipeline::start(
                settings(Location::Local {
                    root: landing.clone(),
                }),
                "backfill",
            ))
            .unwrap();
        let options = BackfillOptions {
            force: false,
            concurrency: None,
            follow_symlinks: follow,
        };
        let summary = rt
            .block_on(backfill::run(&pipeline, &source, &options, |_, _| {}))
            .unwrap();
        assert_eq!(
            (summary.listed, summary.stats.failures),
            (expected.len() as u64, 0),
            "follow {follow}: {summary:?}"
        );
        assert_eq!(files_under(&landing), expected, "follow {follow}");
    }
}
