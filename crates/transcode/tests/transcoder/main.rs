//! Integration tests of the transcoder, one binary: golden outputs for
//! hand-written messages (insta snapshots), errors with their exact
//! messages, and round-trip properties against prost-reflect.
//!
//! The fixtures are `.proto` files in `tests/fixtures`; messages are written
//! in text format or, for what text format cannot say (field order,
//! duplicates, unknown fields, malformed bytes), with the wire builder in
//! `support.rs`. The values themselves are checked against Google's
//! `json_format` by the differential suite (`tests/differential.rs`).

mod errors;
mod golden;
mod limits;
mod message_set;
mod roundtrip;
mod support;
