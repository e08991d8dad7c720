//! What the webhook functions share: why a delivery is refused, the one place that becomes an
//! HTTP status, and JSON answers.

use http::{HeaderMap, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::auth::SignatureError;

/// Why a delivery was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// Same answer for a wrong credential, a missing one and an unknown store or account:
    /// callers learn nothing about what exists.
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("invalid webhook signature: {0}")]
    BadSignature(SignatureError),
    #[error("body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    BadRequest(String),
    /// Our table or queue failed; the sender retries, and nothing was accepted.
    #[error("temporarily unavailable, retry later")]
    Unavailable,
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Unauthorized | Rejection::BadSignature(_) => StatusCode::UNAUTHORIZED,
            Rejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BadRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn into_response(self) -> Response<String> {
        json_response(self.status(), &json!({"error": self.to_string()}))
    }
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<String> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .expect("static response parts are valid")
}

pub fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Logs a state or queue failure and turns it into a retryable refusal.
pub fn unavailable(what: &str, err: &dyn std::fmt::Display) -> Rejection {
    tracing::error!(error = %err, "{what}");
    Rejection::Unavailable
}

/// The raw body of an API Gateway request (signatures are checked over these exact bytes).
pub fn lambda_body(body: &lambda_http::Body) -> &[u8] {
    match body {
        lambda_http::Body::Text(text) => text.as_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => &[],
    }
}
