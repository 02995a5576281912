//! The one error type of the console. Server functions return it; the browser shows its
//! `Display` text, which never contains database or internal details (those are logged on the
//! server with the request id instead).

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Everything a console request can fail with, as the user should read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    /// No admin session (never signed in, signed out, or idle too long).
    #[error("Please sign in.")]
    Unauthenticated,
    /// The form's anti-forgery token is missing or does not belong to this session.
    #[error("This form has expired. Reload the page and try again.")]
    CsrfRejected,
    /// Wrong name or password; deliberately does not say which.
    #[error("Wrong user name or password.")]
    InvalidCredentials,
    /// Too many failed sign-ins for this account or from this address.
    #[error("Too many failed sign-ins. Try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    /// What the page or action is about does not exist (any more).
    #[error("{message}")]
    NotFound { message: String },
    /// A form field holds a value that cannot be accepted.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A failure on the server; details are in the server log under this request id.
    #[error("Something went wrong on the server. The log has the details (request {request_id}).")]
    Internal { request_id: String },
    /// The request did not reach the server function, or its answer could not be read.
    #[error("The server could not be reached: {message}")]
    Transport { message: String },
}

impl AppError {
    /// An error about one form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The HTTP status this error is answered with (see the server's status layer).
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::CsrfRejected => 403,
            AppError::Throttled { .. } => 429,
            AppError::Invalid { .. } => 422,
            AppError::NotFound { .. } => 404,
            AppError::Internal { .. } => 500,
            AppError::Transport { .. } => 400,
        }
    }

    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport {
            message: value.to_string(),
        }
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Conversions from server-side failures. Each logs what happened and hands the user only
    //! a request id to quote.
    use super::AppError;

    /// The request id of the request being served (set by the server's request-id layer).
    pub fn current_request_id() -> String {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "-".to_owned())
    }

    /// Logs `err` and turns it into an opaque [`AppError::Internal`].
    pub fn internal(context: &str, err: impl std::fmt::Display) -> AppError {
        let request_id = current_request_id();
        tracing::error!(%request_id, error = %err, "{context}");
        AppError::Internal { request_id }
    }

    /// A domain failure as the console shows it: refusals of a value belong to the form field
    /// `field`; a missing user, bucket or link is [`AppError::NotFound`]; the rest is internal.
    pub fn domain(err: domain::Error, field: &str) -> AppError {
        match err {
            domain::Error::Invalid { message, .. } => AppError::invalid(field, message),
            domain::Error::AlreadyExists { .. } | domain::Error::BucketNotEmpty { .. } => {
                AppError::invalid(field, err.to_string())
            }
            domain::Error::Store(message) => AppError::invalid(field, message),
            domain::Error::NotFound { .. } => AppError::NotFound {
                message: capitalized(&err.to_string()),
            },
            other => internal("domain error", other),
        }
    }

    fn capitalized(text: &str) -> String {
        let mut chars = text.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            internal("database error", err)
        }
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(err: tower_sessions::session::Error) -> Self {
            internal("session store error", err)
        }
    }

    impl From<tokio::task::JoinError> for AppError {
        fn from(err: tokio::task::JoinError) -> Self {
            internal("background task failed", err)
        }
    }
}
