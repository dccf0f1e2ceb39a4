//! The error of a setting: which variable, and what is wrong with it.

/// A setting that is missing or invalid, named by its variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{var} is not set: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    /// A value that does not work, without the text it came from (a
    /// setting made in code, or a schema that does not load).
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
    /// A value that does not work, with the text it was given as.
    #[error("{var}: {message} (got {value:?})")]
    Value {
        var: &'static str,
        value: String,
        message: String,
    },
}

impl ConfigError {
    /// The variable at fault.
    pub fn var(&self) -> &'static str {
        match self {
            ConfigError::Missing { var, .. }
            | ConfigError::Invalid { var, .. }
            | ConfigError::Value { var, .. } => var,
        }
    }
}

pub(super) fn invalid(var: &'static str, message: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.to_string(),
    }
}

/// `var`'s `value` does not work, because of `message`.
pub(super) fn bad(var: &'static str, value: &str, message: impl ToString) -> ConfigError {
    ConfigError::Value {
        var,
        value: value.to_owned(),
        message: message.to_string(),
    }
}
