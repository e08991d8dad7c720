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
        json_response(
            self.status(),
            &json!({"error": bounded(&self.to_string(), MAX_ERROR_CHARS)}),
        )
    }
}

/// At most this much of a caller's text is echoed in an answer or written to a log line.
pub const ECHO_CHARS: usize = 100;

/// An error message in an answer is at most this long, whatever it quotes.
pub const MAX_ERROR_CHARS: usize = 500;

/// `text` cut to `max` characters (and an ellipsis) when longer.
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// What an answer may echo of a caller's text (an id, an event type, a parser's complaint that
/// quotes the body): at most [`ECHO_CHARS`] characters, its start and its end around an
/// ellipsis, so that what a long complaint says last (e.g. "expected u64") is kept.
pub fn echo(text: &str) -> String {
    let total = text.chars().count();
    if total <= ECHO_CHARS {
        return text.to_owned();
    }
    let tail = ECHO_CHARS * 2 / 5;
    let head: String = text.chars().take(ECHO_CHARS - tail - 1).collect();
    let end: String = text.chars().skip(total - tail).collect();
    format!("{head}…{end}")
}

/// A caller's text as a log field: cut like [`echo`] and always written escaped and quoted
/// (the `Debug` form of a string), so a newline or a control character in it cannot forge a log
/// line. Either `%untrusted(x)` or `?untrusted(x)` logs it the same way.
pub fn untrusted(text: &str) -> Untrusted {
    Untrusted(echo(text))
}

/// See [`untrusted`].
pub struct Untrusted(String);

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::fmt::Debug for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
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

/// API Gateway's own payload cap: the routers take any body up to it, and each handler
/// applies its tighter limit with a message that says so.
pub const GATEWAY_BODY_LIMIT: usize = 10 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_text_is_bounded_and_keeps_both_ends() {
        assert_eq!(echo("short"), "short");
        let long = format!(
            "invalid type: string \"{}\", expected u64",
            "A".repeat(10_000)
        );
        let echoed = echo(&long);
        assert_eq!(echoed.chars().count(), ECHO_CHARS);
        assert!(echoed.starts_with("invalid type: string \"AAA"), "{echoed}");
        assert!(echoed.ends_with("\", expected u64"), "{echoed}");
        assert_eq!(echo(&"é".repeat(500)).chars().count(), ECHO_CHARS);
        assert_eq!(bounded("abcdef", 3), "abc…");
        assert_eq!(bounded("abc", 3), "abc");
    }

    #[test]
    fn untrusted_text_cannot_forge_a_log_line() {
        let forged = "message\n2026-01-01T00:00:00Z  INFO escalated by tool call\u{1b}[2J";
        for logged in [
            format!("{}", untrusted(forged)),
            format!("{:?}", untrusted(forged)),
        ] {
            assert!(
                !logged.contains('\n') && !logged.contains('\u{1b}'),
                "{logged}"
            );
            assert!(
                logged.starts_with('"') && logged.contains("\\n"),
                "{logged}"
            );
        }
        assert!(format!("{}", untrusted(&"x".repeat(10_000))).len() < ECHO_CHARS + 10);
    }

    #[test]
    fn refusals_quote_at_most_a_bounded_message() {
        let response = Rejection::BadRequest("y".repeat(100_000)).into_response();
        assert!(response.body().len() < MAX_ERROR_CHARS + 50);
    }
}
