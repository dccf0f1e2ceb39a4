//! `protoland backfill`'s engine: listing, skipping what already landed,
//! `--force`, and never reading its own output, on local directories and on
//! moto's S3.

#![allow(clippy::unwrap_used)]

use protoland_pipeline::KeyTemplate;
use protoland_pipeline::Location;
use protoland_pipeline::Pipeline;
use protoland_pipeline::{BackfillOptions, backfill};
use protoland_pipeline::{BadObjectPolicy, Settings};
use protoland_stream::Framing;
use protoland_test_kit::{
    Moto, click, expected_ndjson, frame, get, gunzip, gzip, keys, put, store,
};

use crate::{click_settings, runtime};

/// Landing on moto's bucket `data`, under `landing/`.
fn s3_settings(moto: &Moto) -> Settings {
    let mut s = click_settings(Location::parse("s3://data/landing").unwrap());
    s.storage = moto.storage_options();
    s
}

/// A backfill that skips what landed unless `force`, following no symlinks.
fn backfill_options(force: bool, concurrency: Option<usize>) -> BackfillOptions {
    BackfillOptions {
        force,
        concurrency,
        follow_symlinks: false,
    }
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
    let _shared = crate::shared();
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
        click_settings(Location::Local {
            root: landing.clone(),
        }),
        "backfill",
    ));
    let pipeline = pipeline.unwrap();
    let rt = runtime();
    let source = Location::Local { root: raw.clone() };
    let options = backfill_options(false, Some(2));

    let first = rt
        .block_on(backfill(&pipeline, &source, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (first.listed, first.stats.objects, first.existing),
        (2, 2, 0),
        "{first:?}"
    );
    let landed = std::fs::read(landing.join("clicks/2024/a b.pb.ndjson.gz")).unwrap();
    assert!(gunzip(&landed) == expected_ndjson(&messages));
    // Only what landed: no empty `_quarantine/` under the `fail` policy.
    assert_eq!(dir_names(&landing), ["clicks"]);
    assert!(
        gunzip(&std::fs::read(landing.join("clicks/one.bin.ndjson.gz")).unwrap())
            == expected_ndjson(&messages[..1])
    );

    let second = rt
        .block_on(backfill(&pipeline, &source, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (second.listed, second.stats.objects, second.existing),
        (2, 0, 2),
        "{second:?}"
    );

    let forced = backfill_options(true, None);
    let third = rt
        .block_on(backfill(&pipeline, &source, &forced, |_, _| {}))
        .unwrap();
    assert_eq!((third.stats.objects, third.existing), (2, 0), "{third:?}");
    assert_eq!(
        std::fs::read(landing.join("clicks/2024/a b.pb.ndjson.gz")).unwrap(),
        landed,
        "same bytes"
    );
}

#[test]
fn quarantines_a_bad_local_object_under_the_landing_directory() {
    let _shared = crate::shared();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let landing = dir.path().join("landing");
    std::fs::create_dir_all(&raw).unwrap();
    let messages: Vec<Vec<u8>> = (0..3).map(|i| click(i, 4)).collect();
    std::fs::write(raw.join("good.pb"), frame(&messages, Framing::Varint)).unwrap();
    std::fs::write(raw.join("bad.pb"), b"\xff\xfe not protobuf").unwrap();
    let mut s = click_settings(Location::Local {
        root: landing.clone(),
    });
    s.on_bad_object = BadObjectPolicy::Quarantine;
    let rt = runtime();
    let pipeline = rt.block_on(Pipeline::start(s, "backfill")).unwrap();
    let options = backfill_options(false, None);
    let source = Location::Local { root: raw.clone() };
    let summary = rt
        .block_on(backfill(&pipeline, &source, &options, |_, _| {}))
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
    assert_eq!(dir_names(&landing), ["_quarantine", "good.pb.ndjson.gz"]);
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
    needs_moto!();
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
    let pipeline = rt
        .block_on(Pipeline::start(s3_settings(&moto), "backfill"))
        .unwrap();
    let source = Location::parse("s3://data/raw").unwrap();
    let options = backfill_options(false, None);
    let summary = rt
        .block_on(backfill(&pipeline, &source, &options, |_, _| {}))
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
        all.contains(&"landing/raw/x.pb.ndjson.gz".to_owned()),
        "{all:?}"
    );
    assert!(
        gunzip(&rt.block_on(get(&data, "landing/raw/deep/y.pb.ndjson.gz")))
            == expected_ndjson(&messages)
    );

    // Everything under the whole bucket now: landing output is not a source.
    let whole = Location::parse("s3://data").unwrap();
    let again = rt
        .block_on(backfill(&pipeline, &whole, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (again.listed, again.existing, again.stats.objects),
        (4, 2, 1),
        "{again:?}"
    );
}

/// Sources that once shared a landing key: the suffix stripping mapped
/// `x.pb`, `x.pb.gz` and `x.bin` to one key, and the backfill said "1
/// converted, 2 already landed". Now each lands on its own key; and with a
/// template that does collide, the second source fails with both named,
/// is never counted as already landed, and the first's lines stay whole.
#[test]
fn sources_never_share_a_landing_object() {
    let _shared = crate::shared();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(raw.join("a")).unwrap();
    std::fs::create_dir_all(raw.join("b")).unwrap();
    let m = |range: std::ops::Range<u64>| -> Vec<Vec<u8>> { range.map(|i| click(i, 3)).collect() };
    std::fs::write(raw.join("x.pb"), frame(&m(0..3), Framing::Varint)).unwrap();
    std::fs::write(raw.join("x.pb.gz"), gzip(&frame(&m(3..7), Framing::Varint))).unwrap();
    std::fs::write(raw.join("x.bin"), frame(&m(7..12), Framing::Varint)).unwrap();
    let landing = dir.path().join("landing");
    let rt = runtime();
    let pipeline = rt
        .block_on(Pipeline::start(
            click_settings(Location::Local {
                root: landing.clone(),
            }),
            "backfill",
        ))
        .unwrap();
    let options = backfill_options(false, Some(3));
    let top = Location::Local { root: raw.clone() };
    let summary = rt
        .block_on(backfill(&pipeline, &top, &options, |_, _| {}))
        .unwrap();
    assert_eq!(
        (summary.stats.objects, summary.existing),
        (3, 0),
        "{summary:?}"
    );
    for (name, messages) in [("x.pb", m(0..3)), ("x.pb.gz", m(3..7)), ("x.bin", m(7..12))] {
        let landed = std::fs::read(landing.join(format!("{name}.ndjson.gz"))).unwrap();
        assert!(gunzip(&landed) == expected_ndjson(&messages), "{name}");
    }

    // A template without the folder: `a/x.pb` and `b/x.pb` share a key.
    std::fs::remove_file(raw.join("x.pb")).unwrap();
    std::fs::remove_file(raw.join("x.pb.gz")).unwrap();
    std::fs::remove_file(raw.join("x.bin")).unwrap();
    std::fs::write(raw.join("a/x.pb"), frame(&m(0..201), Framing::Varint)).unwrap();
    std::fs::write(raw.join("b/x.pb"), frame(&m(500..501), Framing::Varint)).unwrap();
    let folded = dir.path().join("folded");
    let mut s = click_settings(Location::Local {
        root: folded.clone(),
    });
    s.key_template = KeyTemplate::parse("{prefix}/{file_stem}{ext}").unwrap();
    let pipeline = rt.block_on(Pipeline::start(s, "backfill")).unwrap();
    for run in 0..2 {
        let summary = rt
            .block_on(backfill(&pipeline, &top, &options, |_, _| {}))
            .unwrap();
        assert_eq!(
            (
                summary.stats.objects + summary.existing,
                summary.stats.failures
            ),
            (1, 1),
            "run {run}: {summary:?}"
        );
        let winner = if summary.failures[0].contains("b/x.pb: ") {
            ("a/x.pb", "b/x.pb", m(0..201))
        } else {
            ("b/x.pb", "a/x.pb", m(500..501))
        };
        let (kept, refused, lines) = winner;
        let failure = &summary.failures[0];
        // Held by the other source: landed (`holds the output of`), or
        // being written when both ran at once (`is being written from`).
        let kept = format!(
            "file://{}",
            raw.canonicalize().unwrap().join(kept).display()
        );
        assert!(
            failure.contains(&format!("{refused}: landing "))
                && (failure.contains(&format!("x.ndjson.gz holds the output of {kept};"))
                    || failure.contains(&format!("x.ndjson.gz is being written from {kept} "))),
            "{failure}"
        );
        assert!(
            gunzip(&std::fs::read(folded.join("x.ndjson.gz")).unwrap()) == expected_ndjson(&lines)
        );
    }
}

/// `backfill DIR --landing DIR --key-template '{key}' --force` replaced its
/// own source file with its output: a landing key that is the source is
/// refused, and the source stays as it was.
#[test]
fn never_lands_on_its_own_source() {
    let _shared = crate::shared();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let data = frame(
        &(0..4).map(|i| click(i, 2)).collect::<Vec<_>>(),
        Framing::Varint,
    );
    std::fs::write(raw.join("x.pb"), &data).unwrap();
    let mut s = click_settings(Location::Local { root: raw.clone() });
    s.key_template = KeyTemplate::parse("{key}").unwrap();
    let rt = runtime();
    let pipeline = rt.block_on(Pipeline::start(s, "backfill")).unwrap();
    let forced = backfill_options(true, None);
    let summary = rt
        .block_on(backfill(
            &pipeline,
            &Location::Local { root: raw.clone() },
            &forced,
            |_, _| {},
        ))
        .unwrap();
    assert_eq!(
        (summary.stats.objects, summary.stats.failures),
        (0, 1),
        "{summary:?}"
    );
    assert!(
        summary.failures[0].contains("the landing key is the source object itself"),
        "{:?}",
        summary.failures
    );
    assert_eq!(std::fs::read(raw.join("x.pb")).unwrap(), data);
    assert_eq!(dir_names(&raw), ["x.pb"]);
}

/// The landing directory is the source directory: what protoland wrote
/// there is skipped by its source record, not by its name, so a source
/// named like output (`y.ndjson.gz`) still converts.
#[test]
fn output_beside_its_sources_is_known_by_its_record() {
    let _shared = crate::shared();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let messages: Vec<Vec<u8>> = (0..2).map(|i| click(i, 2)).collect();
    std::fs::write(raw.join("x.pb"), frame(&messages, Framing::Varint)).unwrap();
    std::fs::write(raw.join("y.ndjson.gz"), frame(&messages, Framing::Varint)).unwrap();
    let rt = runtime();
    let pipeline = rt
        .block_on(Pipeline::start(
            click_settings(Location::Local { root: raw.clone() }),
            "backfill",
        ))
        .unwrap();
    let forced = backfill_options(true, None);
    let source = Location::Local { root: raw.clone() };
    let first = rt
        .block_on(backfill(&pipeline, &source, &forced, |_, _| {}))
        .unwrap();
    assert_eq!(
        (first.stats.objects, first.stats.own_output),
        (2, 0),
        "{first:?}"
    );
    let second = rt
        .block_on(backfill(&pipeline, &source, &forced, |_, _| {}))
        .unwrap();
    assert_eq!(
        (second.listed, second.stats.objects, second.stats.own_output),
        (4, 2, 2),
        "{second:?}"
    );
    assert_eq!(
        dir_names(&raw),
        [
            "x.pb",
            "x.pb.ndjson.gz",
            "y.ndjson.gz",
            "y.ndjson.gz.ndjson.gz"
        ]
    );
}

/// A key with a control character failed the whole listing ("Encountered
/// object with invalid path") and nothing landed, not even the keys listed
/// before it. Now every key is listed as stored: that object fails on its
/// own (its text escaped), the others convert; under the quarantine policy
/// its report lands under an escaped key.
#[test]
fn a_key_that_cannot_be_read_fails_alone_in_an_s3_backfill() {
    needs_moto!();
    let moto = Moto::start();
    moto.create_buckets(&["data"]);
    let rt = runtime();
    let data = store(&moto, "data");
    let messages: Vec<Vec<u8>> = (0..3).map(|i| click(i, 2)).collect();
    rt.block_on(async {
        put(&data, "a/first.pb", frame(&messages, Framing::Varint)).await;
        put(&data, "a/zz last.pb", frame(&messages, Framing::Varint)).await;
    });
    moto.boto(
        "s3.put_object(Bucket='data', Key='a/ctrl\\x01.pb', Body=b'')\n\
         s3.put_object(Bucket='data', Key='a/double//slash.pb', Body=b'')\n\
         result = 1",
    );
    for policy in [BadObjectPolicy::Fail, BadObjectPolicy::Quarantine] {
        let mut s = s3_settings(&moto);
        s.on_bad_object = policy;
        let pipeline = rt.block_on(Pipeline::start(s, "backfill")).unwrap();
        let options = backfill_options(true, Some(1));
        let summary = rt
            .block_on(backfill(
                &pipeline,
                &Location::parse("s3://data/a").unwrap(),
                &options,
                |_, _| {},
            ))
            .unwrap();
        assert_eq!(summary.listed, 4, "{summary:?}");
        assert_eq!(summary.stats.objects, 2, "{summary:?}");
        match policy {
            BadObjectPolicy::Fail => {
                assert_eq!(summary.stats.failures, 2, "{summary:?}");
                assert!(
                    summary.failures[0].starts_with(
                        "s3://data/a/ctrl\\u{1}.pb: key `a/ctrl\\u{1}.pb` cannot be addressed"
                    ),
                    "{:?}",
                    summary.failures
                );
                assert!(
                    summary.failures[1].starts_with(
                        "s3://data/a/double//slash.pb: key `a/double//slash.pb` cannot be addressed"
                    ),
                    "{:?}",
                    summary.failures
                );
            }
            BadObjectPolicy::Quarantine => {
                assert_eq!(summary.stats.quarantined, 2, "{summary:?}");
                for (report, key) in [
                    (
                        "landing/_quarantine/data/a/ctrl%01.pb.error.json",
                        "a/ctrl\u{1}.pb",
                    ),
                    (
                        "landing/_quarantine/data/a/double%2F/slash.pb.error.json",
                        "a/double//slash.pb",
                    ),
                ] {
                    let report: serde_json::Value =
                        serde_json::from_slice(&rt.block_on(get(&data, report))).unwrap();
                    assert_eq!(report["key"], key, "{report}");
                }
            }
        }
        let landed = gunzip(&rt.block_on(get(&data, "landing/a/zz last.pb.ndjson.gz")));
        assert!(landed == expected_ndjson(&messages));
    }
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
    let _shared = crate::shared();
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
        (false, vec!["own.pb.ndjson.gz"]),
        (
            true,
            vec![
                "own.pb.ndjson.gz",
                "private/more.pb.ndjson.gz",
                "secret.pb.ndjson.gz",
            ],
        ),
    ] {
        let landing = dir.path().join(format!("landing-{follow}"));
        let pipeline = rt
            .block_on(Pipeline::start(
                click_settings(Location::Local {
                    root: landing.clone(),
                }),
                "backfill",
            ))
            .unwrap();
        let options = BackfillOptions {
            follow_symlinks: follow,
            ..backfill_options(false, None)
        };
        let summary = rt
            .block_on(backfill(&pipeline, &source, &options, |_, _| {}))
            .unwrap();
        assert_eq!(
            (summary.listed, summary.stats.failures),
            (expected.len() as u64, 0),
            "follow {follow}: {summary:?}"
        );
        assert_eq!(files_under(&landing), expected, "follow {follow}");
    }
}
