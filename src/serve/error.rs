//! The one place where errors become HTTP responses: a status, and a JSON body in either our
//! shape (`{"error": {"message", "field"}}`) or OpenAI's envelope for the `/v1` routes, so that
//! their clients show the message. Internal errors say so without their details.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Error, ErrorKind};
use crate::kokoro::EngineError;

/// An error a route answers with.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The request field at fault, if one is.
    pub field: Option<&'static str>,
    /// Seconds a client should wait before trying again (503).
    pub retry_after: Option<u64>,
    /// Answer in OpenAI's envelope.
    pub openai: bool,
}

impl ApiError {
    pub fn bad(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            field: Some(field),
            retry_after: None,
            openai: false,
        }
    }

    pub fn status(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), field: None, retry_after: None, openai: false }
    }

    /// The pool and its queue are full.
    pub fn busy(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::status(
                StatusCode::SERVICE_UNAVAILABLE,
                "every model session is busy and the queue is full; try again",
            )
        }
    }

    /// The same error in OpenAI's envelope.
    pub fn openai(self) -> Self {
        Self { openai: true, ..self }
    }

    /// A library error, classified by its kind; `field` is the request field it is about.
    pub fn from_error(error: Error, field: &'static str) -> Self {
        match &error {
            Error::TextTooLong { .. } => {
                Self { field: Some(field), ..Self::status(StatusCode::PAYLOAD_TOO_LARGE, error.to_string()) }
            }
            Error::Engine(EngineError::Busy { .. }) => Self::busy(1),
            _ if error.kind() == ErrorKind::User => Self::bad(field, error.to_string()),
            _ => Self::status(StatusCode::INTERNAL_SERVER_ERROR, "internal error while speaking; see the server's log"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = if self.openai {
            let kind = if self.status.is_server_error() { "server_error" } else { "invalid_request_error" };
            json!({ "error": { "message": self.message, "type": kind, "param": self.field, "code": self.status.as_u16() } })
        } else {
            json!({ "error": { "message": self.message, "field": self.field, "status": self.status.as_u16() } })
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
