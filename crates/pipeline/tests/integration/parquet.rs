//! Parquet landing objects, end to end through moto's S3: chosen by
//! `PROTOLAND_OUTPUT_FORMAT` or by a route, converted by a backfill and by
//! the batch handler, and read back by pyarrow.

use std::collections::HashMap;

use protoland_pipeline::{BackfillOptions, Location, Pipeline, Settings, backfill};
use protoland_stream::Framing;
use protoland_test_kit::{
    CLICK_MESSAGE, Moto, click, click_schema_source, expected_click_rows, expected_ndjson, frame,
    get, gunzip, gzip, keys, put, pyarrow_read, sqs_event, store,
};

use crate::runtime_test;

/// Settings as the Lambda function reads them, from `vars` (and the test
/// schema).
fn settings(vars: &[(&str, String)]) -> Settings {
    let map: HashMap<&str, String> = vars.iter().cloned().collect();
    let mut s =
        Settings::from_lookup(|var| map.get(var).cloned(), Some(click_schema_source())).unwrap();
    s.metrics.enabled = false;
    s
}

/// `PROTOLAND_OUTPUT_FORMAT=parquet` lands `.parquet` objects whose rows
/// are the messages; a route that chooses NDJSON lands NDJSON (compressed
/// as `PROTOLAND_OUTPUT_COMPRESSION` says) beside them.
#[test]
fn backfill_lands_parquet_and_a_route_keeps_ndjson() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::shared();
        moto.create_buckets(&["raw-parquet-backfill", "landing-parquet-backfill"]);
        let raw = store(moto, "raw-parquet-backfill");
        let landing = store(moto, "landing-parquet-backfill");
        let messages: Vec<Vec<u8>> = (0..2000).map(|i| click(i, 20)).collect();
        put(
            &raw,
            "clicks/a.pb.gz",
            gzip(&frame(&messages, Framing::Varint)),
        )
        .await;
        put(&raw, "json/b.pb", frame(&messages[..10], Framing::Varint)).await;
        let mut s = settings(&[
            (
                "PROTOLAND_LANDING",
                "s3://landing-parquet-backfill/out".into(),
            ),
            ("PROTOLAND_MESSAGE", CLICK_MESSAGE.into()),
            ("PROTOLAND_OUTPUT_FORMAT", "parquet".into()),
            (
                "PROTOLAND_ROUTES",
                format!("json/={CLICK_MESSAGE} as ndjson"),
            ),
        ]);
        s.storage = moto.storage_options();
        let pipeline = Pipeline::start(s, "backfill").await.unwrap();
        let source = Location::parse("s3://raw-parquet-backfill").unwrap();
        let options = BackfillOptions {
            force: false,
            concurrency: None,
            follow_symlinks: false,
        };
        let summary = backfill(&pipeline, &source, &options, |_, _| {})
            .await
            .unwrap();
        assert_eq!(summary.stats.objects, 2, "{:?}", summary.failures);
        assert_eq!(
            keys(&landing).await,
            ["out/clicks/a.pb.gz.parquet", "out/json/b.pb.ndjson.gz"]
        );
        let rows = pyarrow_read(&get(&landing, "out/clicks/a.pb.gz.parquet").await).rows;
        assert_eq!(rows.len(), 2000);
        assert!(rows == expected_click_rows(&messages));
        assert!(
            gunzip(&get(&landing, "out/json/b.pb.ndjson.gz").await)
                == expected_ndjson(&messages[..10])
        );
    });
}

/// A route may choose Parquet while the default stays NDJSON; the batch
/// handler (the Lambda function's) lands each as its route says.
#[test]
fn a_route_chooses_parquet_beside_an_ndjson_default() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::shared();
        moto.create_buckets(&["raw-parquet-route", "landing-parquet-route"]);
        let raw = store(moto, "raw-parquet-route");
        let landing = store(moto, "landing-parquet-route");
        let messages: Vec<Vec<u8>> = (0..300).map(|i| click(i, 8)).collect();
        put(&raw, "tables/a.pb", frame(&messages, Framing::Varint)).await;
        put(&raw, "lines/b.pb", frame(&messages, Framing::Varint)).await;
        let mut s = settings(&[
            ("PROTOLAND_LANDING", "s3://landing-parquet-route/out".into()),
            ("PROTOLAND_MESSAGE", CLICK_MESSAGE.into()),
            ("PROTOLAND_OUTPUT_COMPRESSION", "none".into()),
            (
                "PROTOLAND_ROUTES",
                format!("tables/={CLICK_MESSAGE} as parquet"),
            ),
        ]);
        s.storage = moto.storage_options();
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, stats) = pipeline
            .handle(
                sqs_event("raw-parquet-route", &["tables/a.pb", "lines/b.pb"]),
                None,
            )
            .await;
        assert_eq!(stats.objects, 2, "{response:?}");
        assert_eq!(
            keys(&landing).await,
            ["out/lines/b.pb.ndjson", "out/tables/a.pb.parquet"]
        );
        let rows = pyarrow_read(&get(&landing, "out/tables/a.pb.parquet").await).rows;
        assert!(rows == expected_click_rows(&messages));
        assert!(get(&landing, "out/lines/b.pb.ndjson").await == expected_ndjson(&messages));
    });
}
