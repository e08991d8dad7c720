//! Fault injection on both APIs, by call kind, and the log of the calls the sandbox served.
//!
//! Every Support API (`/api/v2/...`) and Conversations API (`/sc/...`) request is classified
//! into a [`Call`] by its method and path, logged, and matched against the active
//! [`FaultRule`]s in the order they were added:
//!
//! - a rule matches a call when its `call` is that call kind or [`Call::Any`];
//! - a matching rule whose `skip` has not run out counts the call down (whatever another rule
//!   does to it) and lets it through;
//! - the first matching rule whose `skip` is 0 applies its fault and counts one of its `times`
//!   down; a rule is gone once its `times` are used up.
//!
//! The faults that do nothing ([`Fault::Status`], [`Fault::RateLimited`], [`Fault::Latency`])
//! are served before authentication, like Zendesk's edge; the others run the real handler
//! first (the change is committed) and then replace or hold back its answer.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Shared;

/// An API call the sandbox serves, as a fault rule or the call log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// Matches every Support and Conversations call (only as a rule selector).
    Any,
    // Support API
    /// `GET /api/v2/tickets/{id}`
    ShowTicket,
    /// `GET /api/v2/tickets/{id}/comments`
    ListComments,
    /// `PUT /api/v2/tickets/{id}`
    UpdateTicket,
    /// `POST /api/v2/tickets`
    CreateTicket,
    /// `GET /api/v2/search`
    Search,
    /// `GET /api/v2/users/{id}` (not `users/me`, which is [`Call::OtherSupport`])
    ShowUser,
    /// Any other `/api/v2/...` request (users/me, webhooks, triggers, unknown paths).
    OtherSupport,
    // Conversations API
    /// `GET /sc/v2/apps/{app}/conversations/{id}`
    GetConversation,
    /// `GET .../conversations/{id}/messages`
    ListMessages,
    /// `POST .../conversations/{id}/messages`
    PostMessage,
    /// `POST .../conversations/{id}/activity`
    PostActivity,
    /// `POST .../conversations/{id}/passControl`
    PassControl,
    /// `POST .../conversations/{id}/releaseControl`
    ReleaseControl,
    /// `POST /sc/v2/apps/{app}/users`
    CreateUser,
    /// `GET /sc/v2/apps/{app}/users/{userIdOrExternalId}`
    GetUser,
    /// `POST /sc/v2/apps/{app}/conversations`
    CreateConversation,
    /// `GET /sc/v2/apps/{app}/conversations` (with `filter[userId]` or `filter[userExternalId]`)
    ListConversations,
    /// `GET /sc/attachments/{token}/{file_name}`: a private attachment's bytes
    DownloadAttachment,
    /// Any other `/sc/...` request (integrations, switchboards, unknown paths).
    OtherConversations,
}

impl Call {
    /// The call a request is, or `None` when it is not a Support or Conversations API call
    /// (the control API, for one). Support paths may end in `.json`.
    pub fn classify(method: &Method, path: &str) -> Option<Call> {
        if let Some(rest) = path.strip_prefix("/api/v2/") {
            let rest = rest.trim_end_matches('/');
            let rest = rest.strip_suffix(".json").unwrap_or(rest);
            let segments: Vec<&str> = rest.split('/').collect();
            let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            let call = match (method, segments.as_slice()) {
                (&Method::GET, ["tickets", id]) if numeric(id) => Call::ShowTicket,
                (&Method::PUT, ["tickets", id]) if numeric(id) => Call::UpdateTicket,
                (&Method::GET, ["tickets", id, "comments"]) if numeric(id) => Call::ListComments,
                (&Method::POST, ["tickets"]) => Call::CreateTicket,
                (&Method::GET, ["search"]) => Call::Search,
                (&Method::GET, ["users", id]) if numeric(id) => Call::ShowUser,
                _ => Call::OtherSupport,
            };
            return Some(call);
        }
        if path != "/sc" && !path.starts_with("/sc/") {
            return None;
        }
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        // ["", "sc", "attachments", token, file_name]
        if let (&Method::GET, ["", "sc", "attachments", _, _]) = (method, segments.as_slice()) {
            return Some(Call::DownloadAttachment);
        }
        // ["", "sc", version, "apps", app, "conversations", id, action?]
        let call = match (method, segments.get(5..).unwrap_or_default()) {
            (&Method::POST, ["users"]) => Call::CreateUser,
            (&Method::GET, ["users", _]) => Call::GetUser,
            (&Method::POST, ["conversations"]) => Call::CreateConversation,
            (&Method::GET, ["conversations"]) => Call::ListConversations,
            (&Method::GET, ["conversations", _]) => Call::GetConversation,
            (&Method::GET, ["conversations", _, "messages"]) => Call::ListMessages,
            (&Method::POST, ["conversations", _, "messages"]) => Call::PostMessage,
            (&Method::POST, ["conversations", _, "activity"]) => Call::PostActivity,
            (&Method::POST, ["conversations", _, "passControl"]) => Call::PassControl,
            (&Method::POST, ["conversations", _, "releaseControl"]) => Call::ReleaseControl,
            _ => Call::OtherConversations,
        };
        Some(call)
    }

    /// Whether a rule for `self` applies to `call`.
    pub fn matches(self, call: Call) -> bool {
        self == Call::Any || self == call
    }

    fn is_conversations(self) -> bool {
        matches!(
            self,
            Call::GetConversation
                | Call::ListMessages
                | Call::PostMessage
                | Call::PostActivity
                | Call::PassControl
                | Call::ReleaseControl
                | Call::CreateUser
                | Call::GetUser
                | Call::CreateConversation
                | Call::ListConversations
                | Call::DownloadAttachment
                | Call::OtherConversations
        )
    }
}

/// What the sandbox does to a call a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer this status (e.g. 500, 503, 400, 403, 404, 413, 422) and do nothing.
    Status { status: u16 },
    /// 429 with `Retry-After: retry_after_secs`, nothing done.
    RateLimited { retry_after_secs: u64 },
    /// Do the work, answer normally after `millis`.
    Latency { millis: u64 },
    /// Do the work (it is committed), then answer `status` instead of the real answer.
    CommitThenStatus { status: u16 },
    /// Do the work (committed), then hold the answer for `millis` before sending it (past the
    /// client's timeout).
    CommitThenTimeout { millis: u64 },
    /// Do the work (committed), then answer 200 with a body that is not JSON.
    Garbage,
}

/// Which calls get a fault: the next `times` calls of kind `call` after `skip` of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub call: Call,
    /// Matching calls let through before the fault applies (0 = the next matching call).
    #[serde(default)]
    pub skip: usize,
    /// How many matching calls get the fault once it applies (default 1).
    #[serde(default = "one")]
    pub times: usize,
    pub fault: Fault,
}

fn one() -> usize {
    1
}

impl FaultRule {
    /// The next matching call gets `fault`, once.
    pub fn once(call: Call, fault: Fault) -> Self {
        Self {
            call,
            skip: 0,
            times: 1,
            fault,
        }
    }
}

/// The active rules (with what is left of their `skip` and `times`) and the call log.
#[derive(Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
    calls: Vec<Call>,
    requests: Vec<ApiRequest>,
}

/// One API request as the sandbox received it: what a conformance check reads.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ApiRequest {
    pub call: Call,
    pub method: String,
    pub path: String,
    /// The JSON body, when there was one.
    pub body: Option<serde_json::Value>,
}

impl Faults {
    pub fn add(&mut self, rule: FaultRule) {
        if rule.times > 0 {
            self.rules.push(rule);
        }
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    pub fn requests(&self) -> &[ApiRequest] {
        &self.requests
    }

    /// Logs a call and returns the fault it gets, if any.
    pub fn on_call(&mut self, call: Call) -> Option<Fault> {
        self.calls.push(call);
        let mut applies = None;
        for (index, rule) in self.rules.iter_mut().enumerate() {
            if !rule.call.matches(call) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
            } else if applies.is_none() {
                applies = Some(index);
            }
        }
        let index = applies?;
        let rule = &mut self.rules[index];
        rule.times -= 1;
        let fault = rule.fault.clone();
        if rule.times == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }
}

/// An error answer in the API's own shape: Support's `{"error", "description"}` or the
/// Conversations API's `{"errors": [{"code", "title"}]}`.
pub(crate) fn error_response(call: Call, status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = if call.is_conversations() {
        let code = reason.to_ascii_lowercase().replace([' ', '-'], "_");
        json!({"errors": [{"code": code, "title": reason}]})
    } else {
        let (error, description) = match status.as_u16() {
            400 => ("InvalidInput", "The request is malformed"),
            401 => ("Couldn't authenticate you", "Couldn't authenticate you"),
            403 => ("Forbidden", "You do not have access to this page"),
            404 => ("RecordNotFound", "Not found"),
            409 => (
                "UpdateConflict",
                "The record changed while this request was served",
            ),
            413 => ("RequestTooLarge", "The request is too large"),
            422 => ("RecordInvalid", "Record validation errors"),
            429 => (
                "APIRateLimitExceeded",
                "Number of allowed API requests per minute exceeded",
            ),
            503 => ("ServiceUnavailable", "Zendesk is temporarily unavailable"),
            _ => ("", reason),
        };
        let error = match error {
            "" => reason.replace([' ', '-'], ""),
            named => named.to_owned(),
        };
        json!({"error": error, "description": description})
    };
    (status, axum::Json(body)).into_response()
}

/// The answer for a path no route serves, in its API's shape.
pub(crate) async fn unknown_route(request: Request) -> Response {
    let call = Call::classify(request.method(), request.uri().path()).unwrap_or(Call::OtherSupport);
    error_response(call, 404)
}

/// Middleware around both APIs: logs the call and serves the fault a rule gives it.
pub(crate) async fn serve(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(call) = Call::classify(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    // Keep the body for the request log, then hand the request on whole.
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let logged = ApiRequest {
        call,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        body: serde_json::from_slice(&bytes).ok(),
    };
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    let fault = {
        let mut world = shared.world();
        world.faults.requests.push(logged);
        world.faults.on_call(call)
    };
    let Some(fault) = fault else {
        return next.run(request).await;
    };
    tracing::debug!(?call, ?fault, "serving an injected fault");
    match fault {
        Fault::Status { status } => error_response(call, status),
        Fault::RateLimited { retry_after_secs } => {
            let mut response = error_response(call, 429);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                retry_after_secs.to_string().parse().expect("digits"),
            );
            response
        }
        Fault::Latency { millis } => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            next.run(request).await
        }
        Fault::CommitThenStatus { status } => {
            drop(next.run(request).await);
            error_response(call, status)
        }
        Fault::CommitThenTimeout { millis } => {
            let response = next.run(request).await;
            tokio::time::sleep(Duration::from_millis(millis)).await;
            response
        }
        Fault::Garbage => {
            drop(next.run(request).await);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<html><body><h1>Zendesk</h1><p>Something went wrong",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_counts_matching_calls_and_times_runs_out() {
        let mut faults = Faults::default();
        faults.add(FaultRule {
            call: Call::PostMessage,
            skip: 1,
            times: 2,
            fault: Fault::Garbage,
        });
        assert_eq!(faults.on_call(Call::ShowTicket), None);
        assert_eq!(faults.on_call(Call::PostMessage), None, "skipped");
        assert_eq!(faults.on_call(Call::PostMessage), Some(Fault::Garbage));
        assert_eq!(faults.on_call(Call::ListMessages), None);
        assert_eq!(faults.on_call(Call::PostMessage), Some(Fault::Garbage));
        assert_eq!(faults.on_call(Call::PostMessage), None, "used up");
        assert!(faults.rules().is_empty());
        assert_eq!(faults.calls().len(), 6);
    }

    #[test]
    fn the_first_rule_in_order_applies_and_later_ones_wait() {
        let mut faults = Faults::default();
        let status = |status| Fault::Status { status };
        faults.add(FaultRule::once(Call::Any, status(500)));
        faults.add(FaultRule::once(Call::Any, status(503)));
        faults.add(FaultRule::once(Call::ShowTicket, status(404)));
        assert_eq!(faults.on_call(Call::ShowTicket), Some(status(500)));
        assert_eq!(faults.on_call(Call::PostMessage), Some(status(503)));
        assert_eq!(faults.on_call(Call::ShowTicket), Some(status(404)));
        assert_eq!(faults.on_call(Call::ShowTicket), None);
    }

    #[test]
    fn rules_read_and_write_as_json() {
        let rule: FaultRule = serde_json::from_value(
            json!({"call": "post_message", "fault": {"kind": "commit_then_status", "status": 500}}),
        )
        .unwrap();
        assert_eq!(
            rule,
            FaultRule::once(Call::PostMessage, Fault::CommitThenStatus { status: 500 })
        );
        assert_eq!(
            serde_json::to_value(FaultRule {
                call: Call::Any,
                skip: 2,
                times: 3,
                fault: Fault::RateLimited {
                    retry_after_secs: 7
                },
            })
            .unwrap(),
            json!({"call": "any", "skip": 2, "times": 3, "fault": {"kind": "rate_limited", "retry_after_secs": 7}})
        );
        assert_eq!(
            serde_json::to_value(Fault::Garbage).unwrap(),
            json!({"kind": "garbage"})
        );
    }

    #[test]
    fn only_api_paths_are_calls() {
        assert_eq!(Call::classify(&Method::GET, "/_sandbox/calls"), None);
        assert_eq!(Call::classify(&Method::GET, "/"), None);
        assert_eq!(Call::classify(&Method::GET, "/scoreboard"), None);
        assert_eq!(
            Call::classify(&Method::GET, "/api/v2/tickets/12.json"),
            Some(Call::ShowTicket)
        );
        assert_eq!(
            Call::classify(&Method::POST, "/api/v2/tickets.json"),
            Some(Call::CreateTicket)
        );
        assert_eq!(
            Call::classify(&Method::GET, "/api/v2/tickets/count.json"),
            Some(Call::OtherSupport)
        );
        let app = "/sc/v2/apps/5f0c0a0b0c0d0e0f10111213";
        for (method, path, call) in [
            (Method::POST, format!("{app}/users"), Call::CreateUser),
            (Method::GET, format!("{app}/users/crm-42"), Call::GetUser),
            (
                Method::POST,
                format!("{app}/conversations"),
                Call::CreateConversation,
            ),
            (
                Method::GET,
                format!("{app}/conversations"),
                Call::ListConversations,
            ),
            (
                Method::GET,
                "/sc/attachments/abc/a.pdf".to_owned(),
                Call::DownloadAttachment,
            ),
            (
                Method::GET,
                "/sc/attachments/abc".to_owned(),
                Call::OtherConversations,
            ),
        ] {
            assert_eq!(
                Call::classify(&method, &path),
                Some(call),
                "{method} {path}"
            );
        }
    }
}
