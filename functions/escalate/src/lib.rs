//! The "Zendesk: escalate to human" tool that AI agents call.
//!
//! - `POST /tools/escalate`: hand a ticket or a widget conversation of the caller's store to a
//!   human (the same hand-off the worker performs). Auth: the store's tool token as a bearer
//!   token, stored as a hash; the agent never holds Zendesk credentials.
//! - `GET /tools/openapi.json`: the endpoint's OpenAPI 3.0 description (its server is `/`, the
//!   host that served it: nothing in it comes from the request).
//! - `GET /tools/escalate/schema`: the same tool as an LLM function-calling schema.
//! - `POST /tools/create-ticket`: a new ticket for a customer of the caller's store, made by the
//!   store's bot, tied to the ticket or conversation it came from; idempotent by the caller's
//!   `idempotency_key` (claimed in DynamoDB, and sent to Zendesk as `Idempotency-Key`).
//! - `GET /tools/create-ticket/schema`: that tool as an LLM function-calling schema.
//!
//! The descriptions are generated from the request and response types the handlers themselves
//! read and write.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use deskmate_shared::ingress::GATEWAY_BODY_LIMIT;
use std::sync::Arc;

pub mod bridge;

use deskmate_shared::auth::{TokenHash, bearer_token};
use deskmate_shared::bridge::Bridge;
use deskmate_shared::domain::{ConversationsId, StoreConfig, Thread};
use deskmate_shared::handoff::{Escalations, HandoffError, HandoffOutcome, HandoffRequest};
use deskmate_shared::ingress::{
    MAX_ERROR_CHARS, bounded, echo, header_text, json_response, untrusted,
};
use deskmate_shared::state::{CreationClaim, StateError, StoreDirectory, TicketCreations};
use deskmate_shared::ticket_thread::CREATED_TAG;
use deskmate_shared::zendesk::{NewRequester, NewTicket, NewTicketComment, ZendeskError};
use http::{HeaderMap, Response, StatusCode, header};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const MAX_SUMMARY_CHARS: usize = 4_000;
pub const MAX_REASON_CHARS: usize = 500;
pub const MAX_CUSTOMER_MESSAGE_CHARS: usize = 1_000;
pub const TOOL_NAME: &str = "escalate_to_human";
const TOOL_DESCRIPTION: &str = "Hand the customer to a human support agent in Zendesk, with a summary for them. \
Use it when the customer asks for a person, is upset, or you cannot help. Give exactly one of ticket_id \
(email tickets) or conversation_id (Web Widget conversations).";

/// What a Conversations id looks like (see [`ConversationsId`]).
const CONVERSATION_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// Text with something in it besides white space.
const NOT_BLANK_PATTERN: &str = "\\S";

/// Hand one ticket or widget conversation to a human.
// The targets are optional but never `null` in the published schemas (the handler reads a
// `null` as absent): a schema that allowed `null` would accept `{"conversation_id": null}`,
// which names no target.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EscalateRequest {
    /// The Zendesk ticket to hand over (email path). Give this or `conversation_id`, not both.
    #[serde(default)]
    #[schemars(with = "u64", range(min = 1))]
    pub ticket_id: Option<u64>,
    /// The Web Widget conversation to hand over (its Conversations API id). Give this or
    /// `ticket_id`, not both.
    #[serde(default)]
    #[schemars(
        with = "String",
        length(min = 1, max = 64),
        pattern(CONVERSATION_ID_PATTERN)
    )]
    pub conversation_id: Option<String>,
    /// What the human needs to know: who the customer is, what they want, what was tried.
    #[schemars(length(min = 1, max = 4000), pattern(NOT_BLANK_PATTERN))]
    pub summary: String,
    /// Why a human is needed.
    #[schemars(length(max = 500))]
    pub reason: Option<String>,
    /// What to tell the customer; the store's hand-off message when absent.
    #[schemars(length(max = 1000))]
    pub customer_message: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EscalationStatus {
    /// The hand-off was made now.
    Escalated,
    /// A human already has it; nothing was changed.
    AlreadyEscalated,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EscalateResponse {
    pub status: EscalationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorResponse {
    /// What is wrong, in words an operator can act on.
    pub error: String,
}

/// Why a tool call failed. `status` is the one place these become HTTP codes.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("missing or invalid tool token")]
    Unauthorized,
    #[error("body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Zendesk kept failing after retries: {0}")]
    ZendeskFailing(String),
    #[error("temporarily unavailable, retry later")]
    Unavailable,
}

impl ToolError {
    pub fn status(&self) -> StatusCode {
        match self {
            ToolError::Unauthorized => StatusCode::UNAUTHORIZED,
            ToolError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ToolError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ToolError::Forbidden(_) => StatusCode::FORBIDDEN,
            ToolError::NotFound(_) => StatusCode::NOT_FOUND,
            ToolError::Conflict(_) => StatusCode::CONFLICT,
            ToolError::ZendeskFailing(_) => StatusCode::BAD_GATEWAY,
            ToolError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Deskmate's own storage failed: logged, and the caller is told to retry.
impl From<StateError> for ToolError {
    fn from(err: StateError) -> Self {
        tracing::error!(error = %err, "state unavailable");
        ToolError::Unavailable
    }
}

impl From<HandoffError> for ToolError {
    fn from(err: HandoffError) -> Self {
        match err {
            HandoffError::NotFound(what) => {
                ToolError::NotFound(format!("Zendesk has no such {what}"))
            }
            HandoffError::Forbidden(why) => ToolError::Forbidden(why),
            HandoffError::NoMessaging(account) => ToolError::BadRequest(format!(
                "field `conversation_id`: the Web Widget is not set up for the Zendesk account {account}"
            )),
            HandoffError::Zendesk(ZendeskError::Credentials(err)) if !err.is_transient() => {
                ToolError::ZendeskFailing(format!(
                    "the store's Zendesk credentials are missing: {err}"
                ))
            }
            HandoffError::Zendesk(err) => ToolError::ZendeskFailing(err.to_string()),
            HandoffError::State(err) => err.into(),
            HandoffError::Queue(err) => {
                tracing::error!(error = %err, "queue unavailable");
                ToolError::Unavailable
            }
        }
    }
}

/// The one ticket or conversation a tool request names (both tools take the same pair).
fn named_thread(
    ticket_id: Option<u64>,
    conversation_id: Option<String>,
) -> Result<Thread, ToolError> {
    let bad = |message: &str| Err(ToolError::BadRequest(message.to_owned()));
    match (ticket_id, conversation_id) {
        (Some(_), Some(_)) => bad("give exactly one of `ticket_id` or `conversation_id`, not both"),
        (None, None) => bad("give exactly one of `ticket_id` or `conversation_id`"),
        (Some(0), None) => bad("field `ticket_id` must be a positive integer"),
        (Some(id), None) => Ok(Thread::Ticket(id)),
        (None, Some(id)) => match ConversationsId::parse(&id) {
            Ok(id) => Ok(Thread::Conversation(id.into_string())),
            Err(_) => bad("field `conversation_id` must be 1-64 letters, digits, '-' or '_'"),
        },
    }
}

/// A request that passed validation: exactly one target, bounded texts.
fn validate(request: EscalateRequest) -> Result<(Thread, HandoffRequest), ToolError> {
    let bad = |message: String| Err(ToolError::BadRequest(message));
    let thread = named_thread(request.ticket_id, request.conversation_id)?;
    let summary = request.summary.trim();
    if summary.is_empty() {
        return bad("field `summary` must not be empty".into());
    }
    for (field, value, max) in [
        ("summary", Some(summary), MAX_SUMMARY_CHARS),
        ("reason", request.reason.as_deref(), MAX_REASON_CHARS),
        (
            "customer_message",
            request.customer_message.as_deref(),
            MAX_CUSTOMER_MESSAGE_CHARS,
        ),
    ] {
        if value.is_some_and(|v| v.chars().count() > max) {
            return bad(format!("field `{field}` is longer than {max} characters"));
        }
    }
    Ok((
        thread,
        HandoffRequest {
            reason: request
                .reason
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "The AI agent asked for a human.".into()),
            summary: summary.to_owned(),
            customer_message: request.customer_message.filter(|m| !m.trim().is_empty()),
        },
    ))
}

/// The one place a tool call's result becomes an HTTP answer.
fn render<T: Serialize>(result: Result<(StatusCode, T), ToolError>) -> Response<String> {
    match result {
        Ok((status, body)) => json_response(
            status,
            &serde_json::to_value(body).expect("responses serialise"),
        ),
        Err(err) => {
            let message = bounded(&err.to_string(), MAX_ERROR_CHARS);
            tracing::info!(status = err.status().as_u16(), error = ?untrusted(&message), "tool call refused");
            json_response(err.status(), &json!({"error": message}))
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ToolError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| ToolError::BadRequest(format!("body is not valid JSON: {err}")))?;
    if !value.is_object() {
        return Err(ToolError::BadRequest("body must be a JSON object".into()));
    }
    // The parser's complaint may quote the body (`invalid type: string "…"`): echo it bounded.
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = echo(&err.into_inner().to_string());
        if path == "." {
            ToolError::BadRequest(format!("body: {inner}"))
        } else {
            ToolError::BadRequest(format!("field `{}`: {inner}", echo(&path)))
        }
    })
}

pub struct EscalateTool {
    pub stores: Arc<dyn StoreDirectory>,
    pub escalations: Escalations,
    /// The create-ticket tool's idempotency keys.
    pub creations: Arc<dyn TicketCreations>,
    /// Chats outside Zendesk carried in to a human (the bridge API).
    pub bridge: Bridge,
}

impl EscalateTool {
    pub async fn escalate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<EscalateResponse, ToolError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ToolError::TooLarge(MAX_BODY_BYTES));
        }
        let store = self.authenticate(headers).await?;
        let (thread, request) = validate(parse(body)?)?;
        if let Thread::Ticket(ticket_id) = thread {
            self.check_brand(&store, ticket_id).await?;
        }
        let outcome = self.escalations.escalate(&store, &thread, &request).await?;
        tracing::info!(store_id = %store.id, %thread, ?outcome, "escalated by tool call");
        let status = match outcome {
            HandoffOutcome::Escalated => EscalationStatus::Escalated,
            HandoffOutcome::AlreadyEscalated => EscalationStatus::AlreadyEscalated,
        };
        Ok(match thread {
            Thread::Ticket(id) => EscalateResponse {
                status,
                ticket_id: Some(id),
                conversation_id: None,
            },
            Thread::Conversation(id) => EscalateResponse {
                status,
                ticket_id: None,
                conversation_id: Some(id),
            },
        })
    }

    pub(crate) async fn authenticate(&self, headers: &HeaderMap) -> Result<StoreConfig, ToolError> {
        let token = header_text(headers, header::AUTHORIZATION.as_str())
            .and_then(bearer_token)
            .ok_or(ToolError::Unauthorized)?;
        let hash = TokenHash::of(token);
        let store_id = self
            .stores
            .store_for_tool_token(&hash)
            .await?
            .ok_or(ToolError::Unauthorized)?;
        let store = self
            .stores
            .store(&store_id)
            .await?
            .ok_or(ToolError::Unauthorized)?;
        // The lookup went by hash; the constant-time check guards against a stale index entry.
        match &store.tool_token_hash {
            Some(expected) if expected.matches(token) => Ok(store),
            _ => Err(ToolError::Unauthorized),
        }
    }

    /// A store without a brand answers the tickets of every brand no other store of its
    /// account claims (as it answers the widgets no store claims); it may not escalate a
    /// ticket of a brand another store answers. A store with a brand is held to its brand by
    /// the hand-off itself.
    async fn check_brand(&self, store: &StoreConfig, ticket_id: u64) -> Result<(), ToolError> {
        if store.brand_id.is_some() {
            return Ok(());
        }
        let claimed: Vec<u64> = self
            .stores
            .stores_of_account(&store.subdomain)
            .await?
            .into_iter()
            .filter(|other| other.id != store.id)
            .filter_map(|other| other.brand_id)
            .collect();
        if claimed.is_empty() {
            return Ok(());
        }
        let desk = self
            .escalations
            .tickets
            .desk_for(store)
            .await
            .map_err(HandoffError::from)?;
        let ticket = match desk.ticket(ticket_id).await {
            Err(ZendeskError::NotFound) => return Err(HandoffError::NotFound("ticket").into()),
            other => other.map_err(HandoffError::from)?,
        };
        match ticket.brand_id {
            Some(brand) if claimed.contains(&brand) => Err(ToolError::Forbidden(format!(
                "ticket {ticket_id} is of brand {brand}, which another store answers; store {} answers only brands no other store claims",
                store.id
            ))),
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `POST /tools/create-ticket`: a new Zendesk ticket for a customer, made by the store's bot.

pub const CREATE_TICKET_TOOL_NAME: &str = "create_zendesk_ticket";
const CREATE_TICKET_DESCRIPTION: &str = "Open a new Zendesk ticket for the customer, for the support team to follow up \
(e.g. a request the chat cannot settle). Give the ticket_id or conversation_id you are answering, and an \
idempotency_key that stays the same when you retry the same request: a retry never makes a second ticket.";
pub const MAX_SUBJECT_CHARS: usize = 250;
pub const MAX_DESCRIPTION_CHARS: usize = 30_000;
pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_TAGS: usize = 20;
/// A tag as Zendesk keeps one: no spaces; Deskmate's own `deskmate_` tags are reserved.
const TAG_PATTERN: &str = "^[A-Za-z0-9_:./-]{1,80}$";
/// Printable ASCII without spaces, so the key can travel in an HTTP header.
const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,64}$";
/// How long a creation may take before another call with its key may try again.
const CREATION_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// The customer the ticket is for: Zendesk finds them by email, or adds them.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct Requester {
    /// The customer's email address.
    #[schemars(length(min = 3, max = 254), pattern("^[^@\\s]+@[^@\\s]+$"))]
    pub email: String,
    /// The customer's name.
    #[schemars(length(min = 1, max = 255), pattern(NOT_BLANK_PATTERN))]
    pub name: String,
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// Open one new ticket, tied to the ticket or widget conversation it came from.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateTicketRequest {
    /// The ticket's subject.
    #[schemars(length(min = 1, max = 250), pattern(NOT_BLANK_PATTERN))]
    pub subject: String,
    /// What the team needs to know; it becomes the ticket's first (internal) comment.
    #[schemars(length(min = 1, max = 30000), pattern(NOT_BLANK_PATTERN))]
    pub description: String,
    pub requester: Requester,
    /// The ticket's priority; Zendesk's default when absent.
    #[serde(default)]
    #[schemars(with = "Priority")]
    pub priority: Option<Priority>,
    /// Extra tags for the ticket (`deskmate_created` is always added).
    #[serde(default)]
    #[schemars(length(max = 20), inner(pattern(TAG_PATTERN)))]
    pub tags: Vec<String>,
    /// The email ticket this request came from. Give this or `conversation_id`, not both.
    #[serde(default)]
    #[schemars(with = "u64", range(min = 1))]
    pub ticket_id: Option<u64>,
    /// The Web Widget conversation this request came from. Give this or `ticket_id`, not both.
    #[serde(default)]
    #[schemars(
        with = "String",
        length(min = 1, max = 64),
        pattern(CONVERSATION_ID_PATTERN)
    )]
    pub conversation_id: Option<String>,
    /// The same for every retry of this request (e.g. a UUID): a second call with it answers
    /// the ticket the first call made, and creates nothing.
    #[schemars(length(min = 1, max = 64), pattern(IDEMPOTENCY_KEY_PATTERN))]
    pub idempotency_key: String,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CreationStatus {
    /// The ticket was created now.
    Created,
    /// A ticket was already created with this idempotency key; nothing was created.
    AlreadyCreated,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CreateTicketResponse {
    pub ticket_id: u64,
    /// The ticket in the Zendesk agent interface.
    pub url: String,
    pub status: CreationStatus,
}

/// A create-ticket request that passed validation.
struct NewTicketCall {
    source: Thread,
    ticket: NewTicket,
    key: String,
}

fn validate_create(request: CreateTicketRequest) -> Result<NewTicketCall, ToolError> {
    let bad = |message: String| Err(ToolError::BadRequest(message));
    let source = named_thread(request.ticket_id, request.conversation_id)?;
    let key = request.idempotency_key;
    if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return bad(
            "field `idempotency_key` must be 1-64 printable ASCII characters without spaces".into(),
        );
    }
    let subject = request.subject.trim();
    let description = request.description.trim();
    let email = request.requester.email.trim();
    let name = request.requester.name.trim();
    for (field, value, max) in [
        ("subject", subject, MAX_SUBJECT_CHARS),
        ("description", description, MAX_DESCRIPTION_CHARS),
        ("requester.name", name, MAX_NAME_CHARS),
        ("requester.email", email, MAX_EMAIL_CHARS),
    ] {
        if value.is_empty() {
            return bad(format!("field `{field}` must not be empty"));
        }
        if value.chars().count() > max {
            return bad(format!("field `{field}` is longer than {max} characters"));
        }
    }
    if !valid_email(email) {
        return bad("field `requester.email` is not an email address".into());
    }
    let mut tags = vec![CREATED_TAG.to_owned()];
    tags.extend(validate_tags(&request.tags)?);
    let origin = match &source {
        Thread::Ticket(id) => {
            tags.push(format!("deskmate_from_ticket_{id}"));
            format!("ticket #{id}")
        }
        Thread::Conversation(id) => format!("Web Widget conversation {id}"),
    };
    Ok(NewTicketCall {
        ticket: NewTicket {
            subject: subject.to_owned(),
            requester: NewRequester {
                email: email.to_owned(),
                name: name.to_owned(),
            },
            comment: NewTicketComment {
                body: format!("{description}\n\n(Created by Deskmate's AI agent from {origin}.)"),
                public: false,
            },
            priority: request.priority.map(|p| p.as_str().to_owned()),
            tags,
            brand_id: None,
            group_id: None,
        },
        source,
        key,
    })
}

/// Whether `email` looks like an address (Zendesk checks the rest).
pub(crate) fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The caller's extra tags (field `tags`), lower-cased and de-duplicated; Deskmate's own
/// `deskmate_` tags are reserved.
pub(crate) fn validate_tags(requested: &[String]) -> Result<Vec<String>, ToolError> {
    let bad = |message: String| Err(ToolError::BadRequest(message));
    if requested.len() > MAX_TAGS {
        return bad(format!("field `tags` holds more than {MAX_TAGS} tags"));
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in requested {
        let valid = !tag.is_empty()
            && tag.len() <= 80
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_:./-".contains(&b));
        if !valid {
            return bad(format!(
                "field `tags`: {:?} is not a tag (1-80 letters, digits or _ : . / -)",
                echo(tag)
            ));
        }
        let tag = tag.to_ascii_lowercase();
        if tag.starts_with("deskmate_") {
            return bad(format!(
                "field `tags`: {tag:?} is reserved (tags starting with `deskmate_` are Deskmate's)"
            ));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

impl EscalateTool {
    pub async fn create_ticket(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<CreateTicketResponse, ToolError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ToolError::TooLarge(MAX_BODY_BYTES));
        }
        let store = self.authenticate(headers).await?;
        let mut call = validate_create(parse(body)?)?;
        self.check_source(&store, &call.source).await?;
        let url = |id: u64| format!("https://{}.zendesk.com/agent/tickets/{id}", store.subdomain);
        match self
            .creations
            .claim_creation(&store.id, &call.key, CREATION_LEASE)
            .await?
        {
            CreationClaim::Created(id) => {
                return Ok(CreateTicketResponse {
                    ticket_id: id,
                    url: url(id),
                    status: CreationStatus::AlreadyCreated,
                });
            }
            CreationClaim::InProgress => {
                return Err(ToolError::Conflict(
                    "a ticket with this `idempotency_key` is being created; retry in a moment"
                        .into(),
                ));
            }
            CreationClaim::Mine => {}
        }
        call.ticket.brand_id = store.brand_id;
        call.ticket.group_id = store.escalation_group_id;
        // Zendesk's own key covers a retry after this attempt stopped before recording.
        let zendesk_key = format!("deskmate:{}:{}", store.id, call.key);
        let created = async {
            let desk = self.escalations.tickets.desk_for(&store).await?;
            desk.create_ticket(&call.ticket, &zendesk_key).await
        }
        .await;
        let ticket_id = match created {
            Ok(id) => id,
            Err(err) => {
                if let Err(state) = self.creations.release_creation(&store.id, &call.key).await {
                    tracing::warn!(error = %state, "could not release a creation claim");
                }
                return Err(HandoffError::from(err).into());
            }
        };
        self.creations
            .record_creation(&store.id, &call.key, ticket_id)
            .await?;
        tracing::info!(store_id = %store.id, ticket_id, source = %call.source, "ticket created by tool call");
        Ok(CreateTicketResponse {
            ticket_id,
            url: url(ticket_id),
            status: CreationStatus::Created,
        })
    }

    /// The ticket or conversation a new ticket comes from must be the caller's store's, by the
    /// same rules the escalate tool applies: a ticket of the store's brand (or of no brand
    /// another store claims), a conversation of a widget the store answers.
    async fn check_source(&self, store: &StoreConfig, source: &Thread) -> Result<(), ToolError> {
        match source {
            Thread::Ticket(ticket_id) => {
                self.check_brand(store, *ticket_id).await?;
                self.escalations.owned_ticket(store, *ticket_id).await?;
            }
            Thread::Conversation(conversation_id) => {
                self.escalations
                    .owned_conversation(store, conversation_id)
                    .await?;
            }
        }
        Ok(())
    }
}

/// The create-ticket request's JSON Schema: its own fields, exactly one source.
fn create_request_schema(generator: &mut schemars::SchemaGenerator) -> Value {
    one_thread_schema::<CreateTicketRequest>(generator)
}

/// The create-ticket tool as LLM function calling expects it.
pub fn create_ticket_tool_schema() -> Value {
    function_tool(
        CREATE_TICKET_TOOL_NAME,
        CREATE_TICKET_DESCRIPTION,
        create_request_schema,
    )
}

/// A schema as the description embeds it: without `$schema`, and without the definitions
/// schemars puts beside a root schema (they are gathered in `components/schemas` once).
fn embedded(schema: schemars::Schema) -> Value {
    let mut value = serde_json::to_value(schema).expect("schemas serialise");
    if let Some(object) = value.as_object_mut() {
        for key in ["$schema", "components", "definitions", "$defs"] {
            object.remove(key);
        }
    }
    without_null_defaults(&mut value);
    value
}

/// Drops the `"default": null` schemars gives `#[serde(default)]` optional fields: OpenAPI 3.0
/// has no null, and `{"ticket_id": null}` names no target.
fn without_null_defaults(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if object.get("default") == Some(&Value::Null) {
                object.remove("default");
            }
            object.values_mut().for_each(without_null_defaults);
        }
        Value::Array(items) => items.iter_mut().for_each(without_null_defaults),
        _ => {}
    }
}

/// The escalate request's JSON Schema: its own fields, exactly one target.
fn request_schema(generator: &mut schemars::SchemaGenerator) -> Value {
    one_thread_schema::<EscalateRequest>(generator)
}

/// The schema of a request naming exactly one of `ticket_id` / `conversation_id` — the rule
/// serde cannot say.
fn one_thread_schema<T: schemars::JsonSchema>(generator: &mut schemars::SchemaGenerator) -> Value {
    let mut schema = embedded(generator.root_schema_for::<T>());
    schema.as_object_mut().expect("an object schema").insert(
        "oneOf".into(),
        json!([{"required": ["ticket_id"]}, {"required": ["conversation_id"]}]),
    );
    schema
}

/// A tool as LLM function calling expects it (an OpenAI-style `tools` entry).
fn function_tool(
    name: &str,
    description: &str,
    parameters: fn(&mut schemars::SchemaGenerator) -> Value,
) -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft07().into_generator();
    json!({
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": parameters(&mut generator),
        }
    })
}

/// The escalate tool as LLM function calling expects it.
pub fn tool_schema() -> Value {
    function_tool(TOOL_NAME, TOOL_DESCRIPTION, request_schema)
}

/// OpenAPI 3.0 description of the tool endpoint. Its server is `/`: the tool lives on the
/// host that served the description, whatever a request's `Host` header claims.
pub fn openapi_document() -> Value {
    let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
    let request = request_schema(&mut generator);
    let response = embedded(generator.root_schema_for::<EscalateResponse>());
    let error = embedded(generator.root_schema_for::<ErrorResponse>());
    let create_request = create_request_schema(&mut generator);
    let create_response = embedded(generator.root_schema_for::<CreateTicketResponse>());
    // Types the schemas refer to (e.g. EscalationStatus) live beside them.
    let mut schemas: serde_json::Map<String, Value> =
        generator.take_definitions(true).into_iter().collect();
    schemas.insert("EscalateRequest".into(), request);
    schemas.insert("EscalateResponse".into(), response);
    schemas.insert("ErrorResponse".into(), error);
    schemas.insert("CreateTicketRequest".into(), create_request);
    schemas.insert("CreateTicketResponse".into(), create_response);
    for (name, schema) in [
        (
            "OpenSessionRequest",
            generator.root_schema_for::<bridge::OpenSessionRequest>(),
        ),
        (
            "SessionResponse",
            generator.root_schema_for::<bridge::SessionResponse>(),
        ),
        (
            "SendMessageRequest",
            generator.root_schema_for::<bridge::SendMessageRequest>(),
        ),
        (
            "SendMessageResponse",
            generator.root_schema_for::<bridge::SendMessageResponse>(),
        ),
        (
            "EventsResponse",
            generator.root_schema_for::<bridge::EventsResponse>(),
        ),
    ] {
        schemas.insert(name.into(), embedded(schema));
    }
    // Types the bridge schemas refer to (e.g. SessionStatus).
    schemas.extend(generator.take_definitions(true));
    let error_response = |description: &str| json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}});
    let session_answer = |description: &str| json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SessionResponse"}}}});
    let session_parameter = json!({"name": "id", "in": "path", "required": true, "style": "simple", "description": "Your session id.", "schema": {"type": "string", "pattern": bridge::CALLER_ID_PATTERN}});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Deskmate tools",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Tools that AI agents call to act in Zendesk through Deskmate, and the bridge that hands a chat outside Zendesk to a Zendesk agent.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/tools/escalate": {
                "post": {
                    "operationId": "escalateToHuman",
                    "summary": "Hand a ticket or Web Widget conversation to a human",
                    "description": TOOL_DESCRIPTION,
                    "security": [{"toolToken": []}],
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EscalateRequest"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "Escalated now, or already with a human (nothing changed).",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EscalateResponse"}}},
                        },
                        "400": error_response("The body is not valid; the message names the field."),
                        "401": error_response("Missing or invalid tool token."),
                        "403": error_response("The ticket or conversation does not belong to the token's store."),
                        "404": error_response("Zendesk has no such ticket or conversation."),
                        "413": error_response("The body is larger than 64 KiB."),
                        "502": error_response("Zendesk kept failing after retries."),
                        "503": error_response("Deskmate's storage is unavailable; retry later."),
                    },
                }
            },
            "/tools/create-ticket": {
                "post": {
                    "operationId": "createTicket",
                    "summary": "Open a new Zendesk ticket for a customer of the store",
                    "description": CREATE_TICKET_DESCRIPTION,
                    "security": [{"toolToken": []}],
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateTicketRequest"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "Created now, or already created with this idempotency key (nothing created).",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateTicketResponse"}}},
                        },
                        "400": error_response("The body is not valid; the message names the field."),
                        "401": error_response("Missing or invalid tool token."),
                        "403": error_response("The ticket or conversation it came from does not belong to the token's store."),
                        "404": error_response("Zendesk has no such ticket or conversation."),
                        "409": error_response("Another call with this idempotency key is creating the ticket; retry."),
                        "413": error_response("The body is larger than 64 KiB."),
                        "502": error_response("Zendesk kept failing after retries."),
                        "503": error_response("Deskmate's storage is unavailable; retry later."),
                    },
                }
            },
            "/bridge/sessions": {
                "post": {
                    "operationId": "openBridgeSession",
                    "summary": "Hand a chat's customer to a Zendesk agent, with a summary and the transcript",
                    "description": bridge::OPEN_DESCRIPTION,
                    "security": [{"toolToken": []}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenSessionRequest"}}}},
                    "responses": {
                        "201": session_answer("Opened now: the conversation is with the Agent Workspace."),
                        "200": session_answer("Opened before with this request; nothing was changed."),
                        "400": error_response("The body is not valid (the message names the field), or the store has no bridge set up."),
                        "401": error_response("Missing or invalid tool token."),
                        "409": error_response("The session id was used for a different session, or another request is opening it; retry."),
                        "413": error_response("The body is larger than 1 MiB."),
                        "502": error_response("Zendesk kept failing; repeat the request to resume where it stopped."),
                        "503": error_response("Deskmate's storage is unavailable; retry later."),
                    },
                }
            },
            "/bridge/sessions/{id}": {
                "parameters": [session_parameter.clone()],
                "get": {
                    "operationId": "getBridgeSession",
                    "summary": "A session's state",
                    "security": [{"toolToken": []}],
                    "responses": {
                        "200": session_answer("The session."),
                        "401": error_response("Missing or invalid tool token."),
                        "404": error_response("The token's store has no such session."),
                    },
                },
                "delete": {
                    "operationId": "endBridgeSession",
                    "summary": "The customer left: end the session (the agent is told)",
                    "security": [{"toolToken": []}],
                    "responses": {
                        "200": session_answer("Ended (now or before)."),
                        "401": error_response("Missing or invalid tool token."),
                        "404": error_response("The token's store has no such session."),
                        "502": error_response("Zendesk kept failing; retry."),
                    },
                }
            },
            "/bridge/sessions/{id}/messages": {
                "parameters": [session_parameter.clone()],
                "post": {
                    "operationId": "sendBridgeMessage",
                    "summary": "The customer's next message for the agent (text, a file, or both)",
                    "security": [{"toolToken": []}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SendMessageRequest"}}}},
                    "responses": {
                        "200": {"description": "Sent now, or before with this message id.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SendMessageResponse"}}}},
                        "400": error_response("The body is not valid; the message names the field."),
                        "401": error_response("Missing or invalid tool token."),
                        "404": error_response("The token's store has no such session."),
                        "409": error_response("The session has ended, or is not open yet."),
                        "502": error_response("Zendesk kept failing; retry with the same message id."),
                    },
                }
            },
            "/bridge/sessions/{id}/events": {
                "parameters": [
                    session_parameter,
                    {"name": "after", "in": "query", "style": "form", "description": "The last `seq` you handled (0 for all).", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "limit", "in": "query", "style": "form", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                ],
                "get": {
                    "operationId": "pollBridgeEvents",
                    "summary": "The session's events, as the bridge webhook receives them (the polling fallback)",
                    "security": [{"toolToken": []}],
                    "responses": {
                        "200": {"description": "Events after `after`, oldest first.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventsResponse"}}}},
                        "400": error_response("`after` or `limit` is not a whole number."),
                        "401": error_response("Missing or invalid tool token."),
                        "404": error_response("The token's store has no such session."),
                    },
                }
            },
            "/bridge/attachments/{token}": {
                "get": {
                    "operationId": "getBridgeAttachment",
                    "summary": "An agent's file, by the signed link an `agent.message` event carries",
                    "parameters": [{"name": "token", "in": "path", "required": true, "style": "simple", "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The file.", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                        "403": error_response("Not a valid link, or it has expired (poll the events for a fresh one)."),
                        "502": error_response("Zendesk kept failing; retry."),
                    },
                }
            }
        },
        "components": {
            "securitySchemes": {"toolToken": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
    })
}

/// The function's routes, as the template declares them and the local server serves them.
pub const ROUTES: [(&str, &str); 11] = [
    ("POST", "/tools/escalate"),
    ("GET", "/tools/escalate/schema"),
    ("GET", "/tools/openapi.json"),
    ("POST", "/tools/create-ticket"),
    ("GET", "/tools/create-ticket/schema"),
    ("POST", "/bridge/sessions"),
    ("GET", "/bridge/sessions/{id}"),
    ("DELETE", "/bridge/sessions/{id}"),
    ("POST", "/bridge/sessions/{id}/messages"),
    ("GET", "/bridge/sessions/{id}/events"),
    ("GET", "/bridge/attachments/{token}"),
];

/// The function's one HTTP router: served by `lambda_http` in Lambda, merged into the local
/// server by `deskmate dev` and the tests.
pub fn router(tool: Arc<EscalateTool>) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(ROUTES[0].1, post(escalate))
        .route(ROUTES[1].1, get(|| async { ok(Ok(tool_schema())) }))
        .route(ROUTES[2].1, get(|| async { ok(Ok(openapi_document())) }))
        .route(ROUTES[3].1, post(create_ticket))
        .route(
            ROUTES[4].1,
            get(|| async { ok(Ok(create_ticket_tool_schema())) }),
        )
        .route(ROUTES[5].1, post(open_session))
        .route(ROUTES[6].1, get(session_state).delete(end_session))
        .route(ROUTES[8].1, post(send_message))
        .route(ROUTES[9].1, get(session_events))
        .route(ROUTES[10].1, get(attachment))
        .with_state(tool)
        .layer(axum::extract::DefaultBodyLimit::max(GATEWAY_BODY_LIMIT))
}

type Tool = State<Arc<EscalateTool>>;

/// A `200` answer, or the error's.
fn ok<T: Serialize>(result: Result<T, ToolError>) -> Response<String> {
    render(result.map(|answer| (StatusCode::OK, answer)))
}

async fn escalate(State(tool): Tool, headers: HeaderMap, body: Bytes) -> Response<String> {
    ok(tool.escalate(&headers, &body).await)
}

async fn create_ticket(State(tool): Tool, headers: HeaderMap, body: Bytes) -> Response<String> {
    ok(tool.create_ticket(&headers, &body).await)
}

async fn open_session(State(tool): Tool, headers: HeaderMap, body: Bytes) -> Response<String> {
    render(tool.open_session(&headers, &body).await)
}

async fn session_state(
    State(tool): Tool,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response<String> {
    ok(tool.session_state(&headers, &id).await)
}

async fn end_session(
    State(tool): Tool,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response<String> {
    ok(tool.end_session(&headers, &id).await)
}

async fn send_message(
    State(tool): Tool,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<String> {
    ok(tool.send_message(&headers, &id, &body).await)
}

async fn session_events(
    State(tool): Tool,
    Path(id): Path<String>,
    Query(query): Query<std::collections::BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response<String> {
    ok(tool.session_events(&headers, &id, &query).await)
}

/// An agent's file, streamed from Zendesk to whoever holds a valid signed link.
async fn attachment(State(tool): Tool, Path(token): Path<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tool.bridge.attachment(&token).await {
        Ok((media_type, bytes)) => (
            [
                (header::CONTENT_TYPE, media_type),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Err(err) => render::<Value>(Err(ToolError::from(err))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let request = |json: Value| validate(parse(json.to_string().as_bytes())?);
        let message = |json: Value| request(json).unwrap_err().to_string();
        assert!(matches!(
            request(json!({"ticket_id": 5, "summary": "x"})).unwrap().0,
            Thread::Ticket(5)
        ));
        assert!(
            message(json!({"summary": "x"}))
                .contains("exactly one of `ticket_id` or `conversation_id`")
        );
        assert!(message(json!({"ticket_id": "5", "summary": "x"})).contains("field `ticket_id`"));
        assert!(message(json!({"ticket_id": 5})).contains("missing field `summary`"));
        assert!(
            message(json!({"ticket_id": 5, "summary": " "}))
                .contains("field `summary` must not be empty")
        );
        assert!(
            message(json!({"conversation_id": "x/../y", "summary": "x"}))
                .contains("field `conversation_id` must be 1-64")
        );
        let long = message(json!({"ticket_id": "7".repeat(10_000), "summary": "x"}));
        assert!(long.len() < 200 && long.ends_with("expected u64"), "{long}");
    }

    #[test]
    fn create_ticket_validation_names_the_field() {
        let good = json!({"subject": "Refund", "description": "Order 1234", "requester": {"email": "m@example.test", "name": "Maria"}, "ticket_id": 5, "idempotency_key": "k-1"});
        let request = |json: Value| validate_create(parse(json.to_string().as_bytes())?);
        let message = |json: Value| request(json).err().expect("refused").to_string();
        let call = request(good.clone()).unwrap();
        assert_eq!(
            call.ticket.tags,
            ["deskmate_created", "deskmate_from_ticket_5"]
        );
        let with = |field: &str, value: Value| {
            let mut body = good.clone();
            body[field] = value;
            body
        };
        let without = |field: &str| {
            let mut body = good.clone();
            body.as_object_mut().unwrap().remove(field);
            body
        };
        assert!(message(without("subject")).contains("`subject`"));
        assert!(message(without("idempotency_key")).contains("`idempotency_key`"));
        assert!(message(with("idempotency_key", json!(""))).contains("field `idempotency_key`"));
        assert!(
            message(with("idempotency_key", json!("k".repeat(65))))
                .contains("field `idempotency_key`")
        );
        assert!(message(with("priority", json!("asap"))).contains("field `priority`"));
        assert!(
            message(with("requester", json!({"email": "nope", "name": "M"})))
                .contains("field `requester.email`")
        );
        assert!(message(with("tags", json!(["deskmate_escalated"]))).contains("field `tags`"));
        assert!(message(with("conversation_id", json!("c1"))).contains("exactly one"));
    }

    #[test]
    fn the_description_embeds_plain_schemas_and_a_relative_server() {
        let document = openapi_document();
        assert_eq!(document["servers"], json!([{"url": "/"}]));
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for (name, schema) in schemas {
            for key in ["components", "definitions", "$defs", "$schema"] {
                assert!(schema.get(key).is_none(), "{name} holds `{key}`");
            }
        }
        let targets = &schemas["EscalateRequest"]["properties"];
        for target in ["ticket_id", "conversation_id"] {
            for key in ["nullable", "default"] {
                assert!(targets[target].get(key).is_none(), "{target}.{key}");
            }
        }
        assert_eq!(
            targets["conversation_id"]["pattern"],
            CONVERSATION_ID_PATTERN
        );
    }
}
