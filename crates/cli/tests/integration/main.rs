//! The CLI's tests that link the AWS stack (through the test kit), as one
//! test binary so that it is linked once:
//!
//! - `aws`: `convert s3://…`, `worker` and `backfill` against moto;
//! - `docs`: the documentation's commands run against the real binary;
//! - `table`: `protoland table` read by sqlglot, botocore and Spark.
//!
//! The other suites (cli, settings, terminal) only run the binary and link
//! nothing of the AWS stack.

mod aws;
mod docs;
mod table;
