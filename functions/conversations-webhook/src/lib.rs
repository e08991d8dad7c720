//! `POST /webhooks/conversations/{account}`: the Conversations integration's webhook for the
//! Web Widget path (one integration per Zendesk account, serving every brand's widget).
//!
//! Verifies `X-API-Key` against the account's shared secret (stored as a hash), then handles
//! every event of the payload on its own: de-duplicated by event id, routed to a store by the
//! brand widget it came from, queued. It reads the table and writes to the queue, nothing else.

use std::sync::Arc;
use std::time::Duration;

use deskmate_shared::config::IngressConfig;
use deskmate_shared::domain::{ConversationEvent, ConversationsAccount, Job};
use deskmate_shared::ingress::{Rejection, header_text, json_response, unavailable};
use deskmate_shared::queue::JobQueue;
use deskmate_shared::state::{ConversationsAccounts, DeliveryLog, WidgetRoutes};
use http::{HeaderMap, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

/// Conversations payloads can carry many events; anything larger is not one.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const API_KEY_HEADER: &str = "x-api-key";

/// The parts of the events Deskmate acts on; every other field and event type is tolerated.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum Event {
    #[serde(rename = "conversation:message")]
    Message { payload: MessagePayload },
    #[serde(rename = "conversation:create")]
    Create { payload: CreatePayload },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct ConversationRef {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(default)]
    integration_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Author {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct MessagePayload {
    conversation: ConversationRef,
    message: MessageRef,
}

#[derive(Debug, Deserialize)]
struct MessageRef {
    id: String,
    author: Author,
    #[serde(default)]
    source: Option<Source>,
}

#[derive(Debug, Deserialize)]
struct CreatePayload {
    conversation: ConversationRef,
    #[serde(default)]
    source: Option<Source>,
}

/// What became of one event.
#[derive(Debug, PartialEq, Eq)]
pub enum EventOutcome {
    Queued,
    Duplicate,
    Ignored(String),
}

pub struct ConversationsWebhook {
    pub accounts: Arc<dyn ConversationsAccounts>,
    pub routes: Arc<dyn WidgetRoutes>,
    pub deliveries: Arc<dyn DeliveryLog>,
    pub queue: Arc<dyn JobQueue>,
    pub burst_window: Duration,
    pub dedup_ttl: Duration,
}

/// The envelope's events, each with its id and type, or why the body is not an envelope.
fn parse_envelope(body: &[u8]) -> Result<Vec<(String, String, Value)>, Rejection> {
    let not_envelope = |detail: String| {
        Rejection::BadRequest(format!(
            "body is not a Conversations webhook payload: {detail}"
        ))
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| not_envelope(format!("invalid JSON ({err})")))?;
    let Value::Object(mut envelope) = value else {
        return Err(not_envelope("expected a JSON object".into()));
    };
    let events = match envelope.remove("events") {
        Some(Value::Array(events)) => events,
        Some(_) => return Err(not_envelope("`events` must be an array".into())),
        None => return Err(not_envelope("`events` is missing".into())),
    };
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| {
            let id = event
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty());
            let kind = event.get("type").and_then(Value::as_str);
            match (id, kind) {
                (Some(id), Some(kind)) => Ok((id.to_owned(), kind.to_owned(), event)),
                (None, _) => Err(not_envelope(format!("events[{i}] has no string `id`"))),
                (_, None) => Err(not_envelope(format!("events[{i}] has no string `type`"))),
            }
        })
        .collect()
}

fn valid_account(account: &str) -> bool {
    !account.is_empty()
        && account.len() <= 63
        && account
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl ConversationsWebhook {
    pub fn new<S>(state: Arc<S>, queue: Arc<dyn JobQueue>, config: &IngressConfig) -> Self
    where
        S: ConversationsAccounts + WidgetRoutes + DeliveryLog + 'static,
    {
        Self {
            accounts: state.clone(),
            routes: state.clone(),
            deliveries: state,
            queue,
            burst_window: config.burst_window,
            dedup_ttl: config.dedup_ttl,
        }
    }

    pub async fn respond(
        &self,
        account: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<String> {
        match self.accept(account, headers, body).await {
            Ok(outcomes) => {
                let events: Vec<Value> = outcomes
                    .iter()
                    .map(|(id, outcome)| match outcome {
                        EventOutcome::Queued => json!({"id": id, "status": "queued"}),
                        EventOutcome::Duplicate => json!({"id": id, "status": "duplicate"}),
                        EventOutcome::Ignored(reason) => {
                            json!({"id": id, "status": "ignored", "reason": reason})
                        }
                    })
                    .collect();
                json_response(StatusCode::OK, &json!({"status": "ok", "events": events}))
            }
            Err(rejection) => {
                tracing::info!(account, status = rejection.status().as_u16(), %rejection, "webhook rejected");
                rejection.into_response()
            }
        }
    }

    pub async fn accept(
        &self,
        account: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<(String, EventOutcome)>, Rejection> {
        if body.len() > MAX_BODY_BYTES {
            return Err(Rejection::TooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let settings = self.authenticate(account, headers).await?;
        let events = parse_envelope(body)?;
        let mut outcomes = Vec::with_capacity(events.len());
        for (id, kind, event) in events {
            let outcome = self.handle_event(&settings, &id, &kind, event).await?;
            tracing::info!(account, event_id = %id, event_type = %kind, ?outcome, "event handled");
            outcomes.push((id, outcome));
        }
        Ok(outcomes)
    }

    async fn authenticate(
        &self,
        account: &str,
        headers: &HeaderMap,
    ) -> Result<ConversationsAccount, Rejection> {
        let presented = header_text(headers, API_KEY_HEADER).ok_or(Rejection::Unauthorized)?;
        if !valid_account(account) {
            return Err(Rejection::Unauthorized);
        }
        let settings = self
            .accounts
            .account(account)
            .await
            .map_err(|err| unavailable("could not read account", &err))?
            .ok_or(Rejection::Unauthorized)?;
        if !settings.shared_secret_hash.matches(presented) {
            return Err(Rejection::Unauthorized);
        }
        Ok(settings)
    }

    async fn handle_event(
        &self,
        settings: &ConversationsAccount,
        id: &str,
        kind: &str,
        event: Value,
    ) -> Result<EventOutcome, Rejection> {
        let event = match serde_json::from_value::<Event>(event) {
            Ok(event) => event,
            Err(err) => {
                return Ok(EventOutcome::Ignored(format!(
                    "malformed {kind} event: {err}"
                )));
            }
        };
        let (conversation_id, widget, job_event) = match event {
            Event::Message { payload } => {
                if payload.message.author.kind != "user" {
                    return Ok(EventOutcome::Ignored(
                        "messages from the business are never answered".into(),
                    ));
                }
                (
                    payload.conversation.id,
                    payload.message.source.and_then(|s| s.integration_id),
                    ConversationEvent::UserMessage {
                        message_id: payload.message.id,
                    },
                )
            }
            Event::Create { payload } => (
                payload.conversation.id,
                payload.source.and_then(|s| s.integration_id),
                ConversationEvent::Created,
            ),
            Event::Other => {
                return Ok(EventOutcome::Ignored(format!(
                    "event type {kind} needs no action"
                )));
            }
        };
        let Some(widget) = widget else {
            return Ok(EventOutcome::Ignored(
                "the event names no widget integration".into(),
            ));
        };
        let Some(store_id) = self
            .routes
            .route_widget(&settings.subdomain, &widget)
            .await
            .map_err(|err| unavailable("could not route widget", &err))?
        else {
            tracing::warn!(account = %settings.subdomain, widget, "no store answers this widget; staying silent");
            return Ok(EventOutcome::Ignored(format!(
                "no store answers widget {widget}"
            )));
        };
        let delivery_key = format!("conversations:{}:{id}", settings.subdomain);
        let first = self
            .deliveries
            .record_first(&delivery_key, self.dedup_ttl)
            .await
            .map_err(|err| unavailable("could not record delivery", &err))?;
        if !first {
            return Ok(EventOutcome::Duplicate);
        }
        let delay = match job_event {
            ConversationEvent::UserMessage { .. } => self.burst_window,
            ConversationEvent::Created => Duration::ZERO,
        };
        let job = Job::Conversation {
            store_id,
            account: settings.subdomain.clone(),
            conversation_id,
            event: job_event,
        };
        if let Err(err) = self.queue.enqueue(&job, delay).await {
            if let Err(forget) = self.deliveries.forget(&delivery_key).await {
                tracing::error!(error = %forget, "could not forget delivery");
            }
            return Err(unavailable("could not enqueue job", &err));
        }
        Ok(EventOutcome::Queued)
    }
}
