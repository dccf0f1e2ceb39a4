//! Settings for the pipeline, from `PROTOLAND_*` environment variables (the
//! Lambda) or from flags (the CLI modes fill [`Settings`] themselves).
//!
//! Everything is checked here, at start-up: a missing or invalid setting is a
//! [`ConfigError`] naming the variable, never a failure at the first event.
//! `docs/configuration.md` lists every variable with its default.
//!
//! One concern a file: the variable names (`vars`), reading them (`env`),
//! the settings and their checks (`settings`), the limits of the services
//! they are checked against (`limits`) and the error naming the variable
//! (`error`).

mod env;
mod error;
mod limits;
mod settings;
pub mod vars;

pub use self::env::{ValueKind, value_kind};
pub use self::error::ConfigError;
pub use self::limits::{
    LAMBDA_MAX_TIMEOUT, MAX_PART_SIZE, MIN_PART_SIZE, SQS_MAX_VISIBILITY_TIMEOUT,
    SQS_MAX_WAIT_TIME, check_retry_delay, check_visibility_timeout, check_wait_time,
};
pub use self::settings::{BadObjectPolicy, MetricsSettings, MissingPolicy, SchemaSource, Settings};
