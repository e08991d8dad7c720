//! The bridge API: a chat that lives outside Zendesk hands its customer to a Zendesk agent.
//!
//! - `POST /bridge/sessions`: open a session (idempotent on the caller's `session_id`).
//! - `GET /bridge/sessions/{id}`: the session's state.
//! - `POST /bridge/sessions/{id}/messages`: the customer's next message (text or a file).
//! - `DELETE /bridge/sessions/{id}`: the customer left; the agent is told.
//! - `GET /bridge/sessions/{id}/events?after=N`: the events also sent to the bridge webhook.
//! - `GET /bridge/attachments/{token}`: an agent's file, by the signed link an event carries.
//!
//! Auth: the store's tool token, as for the tools; attachment links carry their own signature.

use std::collections::BTreeMap;

use deskmate_shared::bridge::{
    BridgeError, Customer, CustomerMessage, Done, OpenRequest, Speaker, TranscriptLine,
};
use deskmate_shared::domain::BridgeSession;
use deskmate_shared::ingress::{echo, header_text};
use deskmate_shared::zendesk::{Payload, ZendeskError};
use http::HeaderMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    EscalateTool, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_SUMMARY_CHARS, NOT_BLANK_PATTERN, ToolError,
    parse, valid_email, validate_tags,
};

pub const OPEN_DESCRIPTION: &str = "Carries a chat that lives outside Zendesk into a Zendesk conversation: \
finds or creates the customer's messaging user, creates a conversation, posts the summary and the transcript, \
and passes the conversation to the Agent Workspace so the messaging ticket starts at the summary. The agent's \
messages and the end of the session come back as events (the store's bridge webhook, signed the Standard \
Webhooks way, and GET /bridge/sessions/{id}/events). Idempotent on session_id: repeat the request after any \
failure to resume where it stopped.";

/// A session id or message id: letters, digits and `-_.:`, so it fits URLs and keys as it is.
pub(crate) const CALLER_ID_PATTERN: &str = "^[A-Za-z0-9_.:-]{1,128}$";
pub const MAX_TRANSCRIPT_LINES: usize = 200;
pub const MAX_LINE_CHARS: usize = 4_000;
pub const MAX_TICKET_FIELDS: usize = 30;
/// A session's opening carries its transcript (up to 200 entries of 4000 characters).
pub const MAX_SESSION_BODY_BYTES: usize = 1024 * 1024;
/// Events a poll returns at most.
pub const MAX_EVENTS_PER_POLL: usize = 100;

fn valid_caller_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct SessionCustomer {
    /// Your id for the customer: the same customer gets the same Zendesk messaging user.
    #[schemars(length(min = 1, max = 128), pattern(NOT_BLANK_PATTERN))]
    pub external_id: String,
    #[schemars(length(min = 1, max = 255), pattern(NOT_BLANK_PATTERN))]
    pub name: String,
    #[serde(default)]
    #[schemars(with = "String", length(min = 3, max = 254))]
    pub email: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum TranscriptRole {
    Customer,
    Assistant,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct TranscriptEntry {
    pub role: TranscriptRole,
    #[schemars(length(min = 1, max = 4000))]
    pub text: String,
}

/// Hand a chat's customer to a Zendesk agent, with what was said so far.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct OpenSessionRequest {
    /// Your id for the chat session. Sending the same request again resumes an interrupted
    /// opening or answers the open session; the same id with other content is refused (409).
    #[schemars(length(min = 1, max = 128), pattern(CALLER_ID_PATTERN))]
    pub session_id: String,
    pub customer: SessionCustomer,
    /// What the agent needs to know first; it opens the messaging ticket's conversation.
    #[schemars(length(min = 1, max = 4000), pattern(NOT_BLANK_PATTERN))]
    pub summary: String,
    /// The chat so far, oldest first.
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub transcript: Vec<TranscriptEntry>,
    /// Tags for the messaging ticket (`deskmate_bridge` is always added).
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub tags: Vec<String>,
    /// Ticket field values for the messaging ticket, by ticket field id (strings, numbers or
    /// booleans).
    #[serde(default)]
    pub ticket_fields: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Opened now: the conversation is with the Agent Workspace.
    Opened,
    /// Opened before; nothing was changed.
    AlreadyOpen,
    /// Being opened (an earlier attempt stopped): repeat the POST to finish it.
    Opening,
    Ended,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionResponse {
    pub session_id: String,
    pub status: SessionStatus,
    /// The Zendesk conversation carrying the session.
    pub conversation_id: Option<String>,
    /// Why it ended, once it has (`ticketClosed`, `ended_by_caller`, …).
    pub ended_reason: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum AttachmentKind {
    Image,
    File,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct AttachmentRef {
    /// Where Zendesk can fetch the file (https).
    #[schemars(length(min = 8, max = 2048))]
    pub url: String,
    /// `image` shows inline in the Agent Workspace; `file` by default.
    #[serde(default)]
    #[schemars(with = "AttachmentKind")]
    pub kind: Option<AttachmentKind>,
    /// The file's name or a description.
    #[serde(default)]
    #[schemars(with = "String", length(max = 128))]
    pub alt_text: Option<String>,
}

/// The customer's next message for the agent: text, a file, or a file with a caption.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SendMessageRequest {
    /// Your id for the message: sending it again posts nothing new.
    #[schemars(length(min = 1, max = 128), pattern(CALLER_ID_PATTERN))]
    pub message_id: String,
    #[serde(default)]
    #[schemars(with = "String", length(min = 1, max = 4096))]
    pub text: Option<String>,
    #[serde(default)]
    #[schemars(with = "AttachmentRef")]
    pub attachment: Option<AttachmentRef>,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    Sent,
    /// Sent before with this message id; nothing was posted.
    AlreadySent,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SendMessageResponse {
    pub status: SendStatus,
}

/// An event, as the bridge webhook receives it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BridgeEventView {
    /// Stable across redeliveries (the `webhook-id` header): de-duplicate by it.
    pub id: String,
    /// 1, 2, 3… per session: poll with `after` set to the last one you handled.
    pub seq: u64,
    /// `agent.message` or `session.ended`.
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: String,
    /// `agent.message`: `session_id`, `message_id`, `author` (`role`: `agent` for a person in
    /// the Agent Workspace, `automated` otherwise; `name`), `text`, and `attachment` (`kind`,
    /// `name`, `media_type`, `url`: a signed link that works for 15 minutes; poll for a fresh
    /// one). `session.ended`: `session_id`, `reason`.
    pub data: Value,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EventsResponse {
    pub events: Vec<BridgeEventView>,
    /// Pass as `after` on the next poll.
    pub next_after: u64,
}

impl From<BridgeError> for ToolError {
    fn from(err: BridgeError) -> Self {
        match err {
            BridgeError::NotFound(_) => ToolError::NotFound(err.to_string()),
            BridgeError::Forbidden(_) => ToolError::Forbidden(err.to_string()),
            BridgeError::Conflict(message) => ToolError::Conflict(message),
            BridgeError::NotConfigured(message) => ToolError::BadRequest(message),
            BridgeError::BadLink(message) => ToolError::Forbidden(message),
            BridgeError::Zendesk(ZendeskError::Rejected { status, message })
                if (400..500).contains(&status) =>
            {
                ToolError::BadRequest(format!("Zendesk refused it ({status}): {}", echo(&message)))
            }
            BridgeError::Zendesk(ZendeskError::NotFound) => {
                ToolError::NotFound("Zendesk has no such conversation, user or file".into())
            }
            BridgeError::Zendesk(err) => ToolError::ZendeskFailing(err.to_string()),
            BridgeError::Secret(message) => {
                tracing::error!(error = message, "bridge secret unavailable");
                ToolError::Unavailable
            }
            BridgeError::State(err) => err.into(),
        }
    }
}

fn validate_open(request: OpenSessionRequest) -> Result<OpenRequest, ToolError> {
    let bad = |message: String| Err(ToolError::BadRequest(message));
    if !valid_caller_id(&request.session_id) {
        return bad(
            "field `session_id` must be 1-128 letters, digits, '-', '_', '.' or ':'".into(),
        );
    }
    let external_id = request.customer.external_id.trim();
    let name = request.customer.name.trim();
    let summary = request.summary.trim();
    for (field, value, max) in [
        ("customer.external_id", external_id, 128),
        ("customer.name", name, MAX_NAME_CHARS),
        ("summary", summary, MAX_SUMMARY_CHARS),
    ] {
        if value.is_empty() {
            return bad(format!("field `{field}` must not be empty"));
        }
        if value.chars().count() > max {
            return bad(format!("field `{field}` is longer than {max} characters"));
        }
    }
    let email = request.customer.email.as_deref().map(str::trim);
    if email.is_some_and(|email| email.len() > MAX_EMAIL_CHARS || !valid_email(email)) {
        return bad("field `customer.email` is not an email address".into());
    }
    if request.transcript.len() > MAX_TRANSCRIPT_LINES {
        return bad(format!(
            "field `transcript` holds more than {MAX_TRANSCRIPT_LINES} entries"
        ));
    }
    let mut transcript = Vec::with_capacity(request.transcript.len());
    for (i, entry) in request.transcript.into_iter().enumerate() {
        let text = entry.text.trim();
        if text.is_empty() || text.chars().count() > MAX_LINE_CHARS {
            return bad(format!(
                "field `transcript[{i}].text` must be 1-{MAX_LINE_CHARS} characters"
            ));
        }
        transcript.push(TranscriptLine {
            speaker: match entry.role {
                TranscriptRole::Customer => Speaker::Customer,
                TranscriptRole::Assistant => Speaker::Assistant,
            },
            text: text.to_owned(),
        });
    }
    if request.ticket_fields.len() > MAX_TICKET_FIELDS {
        return bad(format!(
            "field `ticket_fields` holds more than {MAX_TICKET_FIELDS} fields"
        ));
    }
    let mut ticket_fields = Vec::with_capacity(request.ticket_fields.len());
    for (id, value) in request.ticket_fields {
        let Some(field) = id.parse::<u64>().ok().filter(|id| *id > 0) else {
            return bad(format!(
                "field `ticket_fields`: {:?} is not a ticket field id",
                echo(&id)
            ));
        };
        if !(value.is_string() || value.is_number() || value.is_boolean()) {
            return bad(format!(
                "field `ticket_fields.{field}` must be a string, a number or a boolean"
            ));
        }
        ticket_fields.push((field, value));
    }
    Ok(OpenRequest {
        session_id: request.session_id,
        customer: Customer {
            external_id: external_id.to_owned(),
            name: name.to_owned(),
            email: email.map(str::to_owned),
        },
        summary: summary.to_owned(),
        transcript,
        tags: validate_tags(&request.tags)?,
        ticket_fields,
    })
}

fn validate_message(request: SendMessageRequest) -> Result<CustomerMessage, ToolError> {
    let bad = |message: &str| Err(ToolError::BadRequest(message.to_owned()));
    if !valid_caller_id(&request.message_id) {
        return bad("field `message_id` must be 1-128 letters, digits, '-', '_', '.' or ':'");
    }
    let text = request
        .text
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 4096) {
        return bad("field `text` is longer than 4096 characters");
    }
    let payload = match (request.attachment, text) {
        (None, None) => return bad("give `text`, an `attachment`, or both"),
        (None, Some(text)) => Payload::Text(text),
        (Some(attachment), text) => {
            let https = url::Url::parse(&attachment.url)
                .is_ok_and(|url| url.scheme() == "https" || url.scheme() == "http");
            if !https || attachment.url.len() > 2048 {
                return bad(
                    "field `attachment.url` must be an http(s) URL of at most 2048 characters",
                );
            }
            if attachment
                .alt_text
                .as_ref()
                .is_some_and(|a| a.chars().count() > 128)
            {
                return bad("field `attachment.alt_text` is longer than 128 characters");
            }
            Payload::Media {
                kind: match attachment.kind {
                    Some(AttachmentKind::Image) => "image",
                    _ => "file",
                },
                url: attachment.url,
                alt_text: attachment.alt_text,
                text,
            }
        }
    };
    Ok(CustomerMessage {
        message_id: request.message_id,
        payload,
    })
}

fn session_response(session: &BridgeSession, done: Option<Done>) -> SessionResponse {
    let status = match (&session.ended, session.handed_over, done) {
        (Some(_), _, _) => SessionStatus::Ended,
        (None, false, _) => SessionStatus::Opening,
        (None, true, Some(Done::Now)) => SessionStatus::Opened,
        (None, true, _) => SessionStatus::AlreadyOpen,
    };
    SessionResponse {
        session_id: session.id.clone(),
        status,
        conversation_id: session.conversation_id.clone(),
        ended_reason: session.ended.clone(),
    }
}

/// The session id in a path, checked like the one a session is opened with.
fn session_id(raw: &str) -> Result<&str, ToolError> {
    if valid_caller_id(raw) {
        Ok(raw)
    } else {
        Err(ToolError::NotFound(format!(
            "no bridge session {}",
            echo(raw)
        )))
    }
}

/// Where attachment links point: the configured public URL, else the host that was asked
/// (API Gateway sets `X-Forwarded-Proto`).
fn base_url(tool: &EscalateTool, headers: &HeaderMap) -> String {
    if let Some(url) = &tool.bridge.public_url {
        return url.clone();
    }
    let header = |name: &str| header_text(headers, name);
    let host = header("host").filter(|host| {
        host.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    });
    match host {
        Some(host) => {
            let scheme = match header("x-forwarded-proto") {
                Some("http") => "http",
                _ if host.starts_with("127.0.0.1") || host.starts_with("localhost") => "http",
                _ => "https",
            };
            format!("{scheme}://{host}")
        }
        None => String::new(),
    }
}

impl EscalateTool {
    pub async fn open_session(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(http::StatusCode, SessionResponse), ToolError> {
        if body.len() > MAX_SESSION_BODY_BYTES {
            return Err(ToolError::TooLarge(MAX_SESSION_BODY_BYTES));
        }
        let store = self.authenticate(headers).await?;
        let request = validate_open(parse(body)?)?;
        let (session, done) = self.bridge.open(&store, &request).await?;
        let status = match done {
            Done::Now => http::StatusCode::CREATED,
            Done::Already => http::StatusCode::OK,
        };
        Ok((status, session_response(&session, Some(done))))
    }

    pub async fn session_state(
        &self,
        headers: &HeaderMap,
        id: &str,
    ) -> Result<SessionResponse, ToolError> {
        let store = self.authenticate(headers).await?;
        let session = self.bridge.session(&store, session_id(id)?).await?;
        Ok(session_response(&session, None))
    }

    pub async fn send_message(
        &self,
        headers: &HeaderMap,
        id: &str,
        body: &[u8],
    ) -> Result<SendMessageResponse, ToolError> {
        if body.len() > crate::MAX_BODY_BYTES {
            return Err(ToolError::TooLarge(crate::MAX_BODY_BYTES));
        }
        let store = self.authenticate(headers).await?;
        let message = validate_message(parse(body)?)?;
        let status = match self
            .bridge
            .forward(&store, session_id(id)?, &message)
            .await?
        {
            Done::Now => SendStatus::Sent,
            Done::Already => SendStatus::AlreadySent,
        };
        Ok(SendMessageResponse { status })
    }

    pub async fn end_session(
        &self,
        headers: &HeaderMap,
        id: &str,
    ) -> Result<SessionResponse, ToolError> {
        let store = self.authenticate(headers).await?;
        let session = self.bridge.end(&store, session_id(id)?).await?;
        Ok(session_response(&session, None))
    }

    pub async fn session_events(
        &self,
        headers: &HeaderMap,
        id: &str,
        query: &BTreeMap<String, String>,
    ) -> Result<EventsResponse, ToolError> {
        let store = self.authenticate(headers).await?;
        let number = |name: &str, default: u64| match query.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse::<u64>().map_err(|_| {
                ToolError::BadRequest(format!("query `{name}` must be a whole number"))
            }),
        };
        let after = number("after", 0)?;
        let limit =
            number("limit", MAX_EVENTS_PER_POLL as u64)?.clamp(1, MAX_EVENTS_PER_POLL as u64);
        let base = base_url(self, headers);
        let events = self
            .bridge
            .events(&store, session_id(id)?, after, limit as usize, &base)
            .await?;
        let events: Vec<BridgeEventView> = events
            .into_iter()
            .map(|event| BridgeEventView {
                id: event.id,
                seq: event.seq,
                kind: event.kind,
                timestamp: event.timestamp,
                data: event.data,
            })
            .collect();
        let next_after = events.last().map_or(after, |e| e.seq);
        Ok(EventsResponse { events, next_after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn open(body: Value) -> Result<OpenRequest, ToolError> {
        validate_open(parse(body.to_string().as_bytes())?)
    }

    #[test]
    fn open_requests_name_the_bad_field() {
        let good = json!({
            "session_id": "chat-1",
            "customer": {"external_id": "cust-1", "name": "Ana", "email": "ana@example.com"},
            "summary": "Wants a refund",
            "transcript": [{"role": "customer", "text": "hi"}],
            "tags": ["vip"],
            "ticket_fields": {"360001": "A-1"},
        });
        let request = open(good.clone()).unwrap();
        assert_eq!(request.ticket_fields, vec![(360001, json!("A-1"))]);
        for (change, field) in [
            (json!({"session_id": "a/b"}), "session_id"),
            (json!({"summary": "  "}), "summary"),
            (
                json!({"customer": {"external_id": "c", "name": "A", "email": "nope"}}),
                "customer.email",
            ),
            (
                json!({"transcript": [{"role": "robot", "text": "x"}]}),
                "transcript",
            ),
            (json!({"ticket_fields": {"abc": 1}}), "ticket_fields"),
            (json!({"ticket_fields": {"1": {"a": 1}}}), "ticket_fields.1"),
            (json!({"tags": ["deskmate_x"]}), "tags"),
        ] {
            let mut body = good.clone();
            for (key, value) in change.as_object().unwrap() {
                body[key] = value.clone();
            }
            let err = open(body).unwrap_err().to_string();
            assert!(err.contains(field), "{err} should name {field}");
        }
    }

    #[test]
    fn messages_need_text_or_a_file() {
        let message = |body: Value| validate_message(parse(body.to_string().as_bytes())?);
        assert!(message(json!({"message_id": "m1"})).is_err());
        assert!(message(json!({"message_id": "m1", "text": "hi"})).is_ok());
        let err = message(json!({"message_id": "m1", "attachment": {"url": "file:///etc/passwd"}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("attachment.url"), "{err}");
    }
}
