//! `POST /webhooks/conversations/{account}`: the Conversations integration's webhook for the
//! Web Widget path (one integration per Zendesk account, serving every brand's widget).
//!
//! Verifies `X-API-Key` against the account's shared secret (stored as a hash), then handles
//! every event of the payload on its own: de-duplicated by event id, routed to a store by the
//! brand widget it came from, queued. It reads the table and writes to the queue, nothing else.

use axum::body::Bytes;
use axum::extract::{Path, State};
use deskmate_shared::ingress::GATEWAY_BODY_LIMIT;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use deskmate_shared::bridge;
use deskmate_shared::config::IngressConfig;
use deskmate_shared::conversation_thread::REPLY_TO_KEY;
use deskmate_shared::domain::{
    BridgeContent, BridgeInbound, ConversationEvent, ConversationsAccount, ConversationsId, Job,
    StoreId,
};
use deskmate_shared::ingress::{
    MAX_ERROR_CHARS, Rejection, bounded, echo, header_text, json_response, unavailable, untrusted,
};
use deskmate_shared::queue::JobQueue;
use deskmate_shared::state::{ConversationsAccounts, DeliveryLog, WidgetRoutes};
use http::{HeaderMap, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

/// Conversations payloads can carry many events; anything larger is not one.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const API_KEY_HEADER: &str = "x-api-key";
/// Zendesk's event ids are 24 hex digits; anything much longer is not one (and would not fit
/// a delivery record's key).
const MAX_EVENT_ID_BYTES: usize = 128;

/// The parts of the events Deskmate acts on; every other field and event type is tolerated.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum Event {
    #[serde(rename = "conversation:message")]
    Message { payload: Box<MessagePayload> },
    #[serde(rename = "conversation:create")]
    Create { payload: CreatePayload },
    #[serde(rename = "switchboard:releaseControl")]
    Release { payload: ReleasePayload },
    #[serde(other)]
    Other,
}

impl Event {
    /// The conversation the event is about; none for event types Deskmate does not read.
    fn conversation(&self) -> Option<&ConversationRef> {
        match self {
            Event::Message { payload } => Some(&payload.conversation),
            Event::Create { payload } => Some(&payload.conversation),
            Event::Release { payload } => Some(&payload.conversation),
            Event::Other => None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ReleasePayload {
    conversation: ConversationRef,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConversationRef {
    #[serde(deserialize_with = "conversations_id")]
    id: String,
    /// Who holds the conversation as the event was sent (omitted when nobody does).
    #[serde(default)]
    active_switchboard_integration: Option<SwitchboardRef>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
}

impl ConversationRef {
    /// A bridge session's conversation (a chat carried in from outside Zendesk).
    fn bridged(&self) -> bool {
        self.metadata
            .as_ref()
            .is_some_and(|m| m.contains_key(bridge::SESSION_KEY))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SwitchboardRef {
    #[serde(default)]
    integration_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    integration_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Author {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    subtypes: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    media_url: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    alt_text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MessagePayload {
    conversation: ConversationRef,
    message: MessageRef,
}

#[derive(Debug, Deserialize)]
struct MessageRef {
    #[serde(deserialize_with = "conversations_id")]
    id: String,
    author: Author,
    #[serde(default)]
    content: Content,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct CreatePayload {
    conversation: ConversationRef,
    #[serde(default)]
    source: Option<Source>,
}

/// A conversation's or message's id: it goes into Conversations API paths and state keys, so
/// an event whose ids are not Conversations ids is malformed.
fn conversations_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let raw = String::deserialize(deserializer)?;
    ConversationsId::parse(&raw)
        .map(ConversationsId::into_string)
        .map_err(serde::de::Error::custom)
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

/// Widget routes looked up at once for one payload.
const ROUTE_LOOKUPS_AT_ONCE: usize = 16;
/// Delivery records forgotten at once when a payload's jobs could not be queued.
const WRITES_AT_ONCE: usize = 16;

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
                    .map(|(id, outcome)| {
                        // The event's own id, echoed bounded (a payload is up to 256 KiB).
                        let id = echo(id);
                        match outcome {
                            EventOutcome::Queued => json!({"id": id, "status": "queued"}),
                            EventOutcome::Duplicate => json!({"id": id, "status": "duplicate"}),
                            EventOutcome::Ignored(reason) => {
                                let reason = bounded(reason, MAX_ERROR_CHARS);
                                json!({"id": id, "status": "ignored", "reason": reason})
                            }
                        }
                    })
                    .collect();
                json_response(StatusCode::OK, &json!({"status": "ok", "events": events}))
            }
            Err(rejection) => {
                tracing::info!(account = ?untrusted(account), status = rejection.status().as_u16(), %rejection, "webhook rejected");
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
        let plans: Vec<(String, String, Plan)> = events
            .into_iter()
            .map(|(id, kind, event)| {
                // One odd event is ignored on its own; the payload's others are still taken.
                let plan = if id.len() > MAX_EVENT_ID_BYTES {
                    Plan::Ignore(format!(
                        "malformed event: its id is longer than {MAX_EVENT_ID_BYTES} bytes"
                    ))
                } else {
                    plan(&settings, &kind, event)
                };
                (id, kind, plan)
            })
            .collect();
        let routes = self.route_widgets(&settings, &plans).await?;
        // One pass decides every event; then the payload's delivery records and jobs are
        // written in batches (a payload may carry a thousand events).
        let mut outcomes = Vec::with_capacity(plans.len());
        let mut queued = Vec::new();
        for (id, kind, plan) in plans {
            match self.job_for(&settings, plan, &routes) {
                Ok((job, delay)) => {
                    let key = format!("conversations:{}:{id}", settings.subdomain);
                    queued.push((outcomes.len(), key, job, delay));
                    outcomes.push((id, kind, EventOutcome::Queued));
                }
                Err(reason) => outcomes.push((id, kind, EventOutcome::Ignored(reason))),
            }
        }
        let keys: Vec<String> = queued.iter().map(|(_, key, _, _)| key.clone()).collect();
        let firsts = self
            .deliveries
            .record_first_many(&keys, self.dedup_ttl)
            .await
            .map_err(|err| unavailable("could not record deliveries", &err))?;
        let mut new = Vec::with_capacity(queued.len());
        for (entry, first) in queued.into_iter().zip(firsts) {
            if first {
                new.push(entry);
            } else {
                outcomes[entry.0].2 = EventOutcome::Duplicate;
            }
        }
        let messages = pack(&new);
        let bodies: Vec<(Job, Duration)> = messages
            .iter()
            .map(|(_, job, delay)| (job.clone(), *delay))
            .collect();
        let sent = self.queue.enqueue_many(&bodies).await;
        let mut failure = None;
        let mut unsent = Vec::new();
        for ((members, _, _), result) in messages.iter().zip(sent) {
            if let Err(err) = result {
                unsent.extend(members.iter().map(|&member| new[member].1.as_str()));
                failure.get_or_insert(err);
            }
        }
        // Not accepted: Zendesk's retry must find these events new.
        futures::stream::iter(unsent)
            .for_each_concurrent(WRITES_AT_ONCE, |key| async move {
                if let Err(forget) = self.deliveries.forget(key).await {
                    tracing::error!(error = %forget, "could not forget delivery");
                }
            })
            .await;
        if let Some(err) = failure {
            return Err(unavailable("could not enqueue job", &err));
        }
        for (id, kind, outcome) in &outcomes {
            tracing::info!(account, event_id = ?untrusted(id), event_type = ?untrusted(kind), ?outcome, "event handled");
        }
        Ok(outcomes
            .into_iter()
            .map(|(id, _, outcome)| (id, outcome))
            .collect())
    }

    /// The store each widget named in the payload routes to, looked up once per widget.
    async fn route_widgets(
        &self,
        settings: &ConversationsAccount,
        plans: &[(String, String, Plan)],
    ) -> Result<HashMap<String, Option<StoreId>>, Rejection> {
        let widgets: HashSet<String> = plans
            .iter()
            .filter_map(|(_, _, plan)| match plan {
                Plan::Answer { widget, .. } => Some(widget.clone()),
                _ => None,
            })
            .collect();
        let account = settings.subdomain.as_str();
        futures::stream::iter(widgets.into_iter().map(|widget: String| async move {
            let store = self
                .routes
                .route_widget(account, &widget)
                .await
                .map_err(|err| unavailable("could not route widget", &err))?;
            Ok((widget, store))
        }))
        .buffer_unordered(ROUTE_LOOKUPS_AT_ONCE)
        .collect::<Vec<Result<_, Rejection>>>()
        .await
        .into_iter()
        .collect()
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

    /// The job an event calls for, or why it calls for none.
    fn job_for(
        &self,
        settings: &ConversationsAccount,
        plan: Plan,
        routes: &HashMap<String, Option<StoreId>>,
    ) -> Result<(Job, Duration), String> {
        match plan {
            Plan::Ignore(reason) => Err(reason),
            Plan::Answer {
                widget,
                conversation_id,
                event,
                held,
            } => match routes.get(&widget).cloned().flatten() {
                Some(store_id) => {
                    let delay = match event {
                        ConversationEvent::UserMessage { .. } => self.burst_window,
                        ConversationEvent::Created => Duration::ZERO,
                    };
                    let job = Job::Conversation {
                        store_id,
                        account: settings.subdomain.clone(),
                        conversation_id,
                        event,
                    };
                    Ok((job, delay))
                }
                None if held => {
                    let reason = format!("no store answers widget {}", echo(&widget));
                    Ok((pass_on(settings, conversation_id, reason), Duration::ZERO))
                }
                None => {
                    tracing::warn!(account = %settings.subdomain, widget = ?untrusted(&widget), "no store answers this widget; staying silent");
                    Err(format!("no store answers widget {}", echo(&widget)))
                }
            },
            Plan::PassOn {
                conversation_id,
                reason,
            } => Ok((pass_on(settings, conversation_id, reason), Duration::ZERO)),
            Plan::Bridge {
                conversation_id,
                event,
            } => Ok((
                Job::Bridge {
                    account: settings.subdomain.clone(),
                    conversation_id,
                    event,
                },
                Duration::ZERO,
            )),
        }
    }
}

/// A payload with more jobs than this packs them into batch messages.
const PACK_ABOVE: usize = 10;
/// Jobs in one batch message (a few kilobytes, far under SQS's 256 KiB).
const BATCH_JOBS: usize = 50;

/// The messages to send for a payload's new jobs `(outcome index, key, job, delay)`: one a job
/// for a few; for many, batches of jobs that share a delay. Each message lists the jobs
/// (indexes into `new`) it carries.
fn pack(new: &[(usize, String, Job, Duration)]) -> Vec<(Vec<usize>, Job, Duration)> {
    if new.len() <= PACK_ABOVE {
        return new
            .iter()
            .enumerate()
            .map(|(i, (_, _, job, delay))| (vec![i], job.clone(), *delay))
            .collect();
    }
    let mut delays: Vec<Duration> = new.iter().map(|(_, _, _, delay)| *delay).collect();
    delays.sort();
    delays.dedup();
    let mut messages = Vec::new();
    for delay in delays {
        let members: Vec<usize> = (0..new.len()).filter(|&i| new[i].3 == delay).collect();
        for chunk in members.chunks(BATCH_JOBS) {
            let jobs = chunk.iter().map(|&i| new[i].2.clone()).collect();
            messages.push((chunk.to_vec(), Job::Batch { jobs }, delay));
        }
    }
    messages
}

fn pass_on(settings: &ConversationsAccount, conversation_id: String, reason: String) -> Job {
    Job::PassOn {
        account: settings.subdomain.clone(),
        conversation_id,
        reason,
    }
}

/// What one event asks of Deskmate, read from the event alone.
#[derive(Debug)]
enum Plan {
    /// Answer it, if a store answers `widget`; `held` says Deskmate holds the conversation
    /// (it must pass it on if no store does).
    Answer {
        widget: String,
        conversation_id: String,
        event: ConversationEvent,
        held: bool,
    },
    /// Deskmate holds a conversation it will not answer: pass it on, silently.
    PassOn {
        conversation_id: String,
        reason: String,
    },
    /// Tell a bridge session's caller what the agent side did.
    Bridge {
        conversation_id: String,
        event: BridgeInbound,
    },
    Ignore(String),
}

/// What an event on a bridge session's conversation asks: the agent side's messages and the
/// release go to the caller; Deskmate never answers there, nor passes it on.
fn bridge_plan(event: Event) -> Plan {
    match event {
        Event::Message { payload } => {
            let message = payload.message;
            let ours = message
                .metadata
                .as_ref()
                .is_some_and(|m| m.contains_key(bridge::PART_KEY));
            if message.author.kind == "user" || ours {
                return Plan::Ignore("a bridge session's own message".into());
            }
            let from_agent = message.source.as_ref().and_then(|s| s.kind.as_deref())
                == Some(AGENT_WORKSPACE_SOURCE)
                || message.author.subtypes.iter().any(|s| s == "agent");
            Plan::Bridge {
                conversation_id: payload.conversation.id,
                event: BridgeInbound::BusinessMessage {
                    message_id: message.id,
                    from_agent,
                    author_name: message.author.display_name,
                    content: BridgeContent {
                        kind: message.content.kind,
                        text: message.content.text,
                        media_url: message.content.media_url,
                        media_type: message.content.media_type,
                        alt_text: message.content.alt_text,
                    },
                },
            }
        }
        Event::Release { payload } => Plan::Bridge {
            conversation_id: payload.conversation.id,
            event: BridgeInbound::Released {
                reason: payload.reason,
            },
        },
        Event::Create { .. } | Event::Other => {
            Plan::Ignore("a bridge session's conversation is not Deskmate's to answer".into())
        }
    }
}

/// The source of messages a person writes in the Agent Workspace.
const AGENT_WORKSPACE_SOURCE: &str = "zd:agentWorkspace";

fn plan(settings: &ConversationsAccount, kind: &str, event: Value) -> Plan {
    let event = match serde_json::from_value::<Event>(event) {
        Ok(event) => event,
        Err(err) => {
            return Plan::Ignore(format!(
                "malformed {} event: {}",
                echo(kind),
                echo(&err.to_string())
            ));
        }
    };
    let Some(conversation) = event.conversation() else {
        return Plan::Ignore(format!("event type {} needs no action", echo(kind)));
    };
    if conversation.bridged() {
        return bridge_plan(event);
    }
    let ours = |active: &Option<SwitchboardRef>| {
        active
            .as_ref()
            .and_then(|a| a.integration_id.as_deref())
            .is_some_and(|id| id == settings.integration_id)
    };
    // Deskmate receives a conversation's events while it holds the conversation (and, for
    // bridge sessions, as standby events); when the event does not say who holds it, assume
    // Deskmate (the worker checks before acting).
    let active = &conversation.active_switchboard_integration;
    let held = active.is_none() || ours(active);
    let (conversation, source, job_event) = match event {
        Event::Message { payload } if payload.message.author.kind != "user" => {
            let by_deskmate = payload
                .message
                .metadata
                .as_ref()
                .is_some_and(|m| m.contains_key(REPLY_TO_KEY));
            return if by_deskmate || !ours(&payload.conversation.active_switchboard_integration) {
                Plan::Ignore("messages from the business are never answered".into())
            } else {
                Plan::PassOn {
                    conversation_id: payload.conversation.id,
                    reason: "a person wrote in the conversation; Deskmate steps back".into(),
                }
            };
        }
        Event::Message { .. } if !held => {
            // A customer writing to whoever else holds the conversation is theirs to answer.
            return Plan::Ignore("another switchboard integration holds the conversation".into());
        }
        Event::Message { payload } => (
            payload.conversation,
            payload.message.source,
            ConversationEvent::UserMessage {
                message_id: payload.message.id,
            },
        ),
        Event::Create { payload } => (
            payload.conversation,
            payload.source,
            ConversationEvent::Created,
        ),
        Event::Release { .. } | Event::Other => {
            return Plan::Ignore(format!("event type {} needs no action", echo(kind)));
        }
    };
    let channel = source.as_ref().and_then(|s| s.kind.clone());
    let widget = match (channel.as_deref(), source.and_then(|s| s.integration_id)) {
        (Some(channel), _) if channel != "web" => Err(format!(
            "a {} conversation: Deskmate answers Web Widgets only",
            echo(channel)
        )),
        (_, None) => Err("the event names no widget integration".to_owned()),
        (_, Some(widget)) => Ok(widget),
    };
    match widget {
        Ok(widget) => Plan::Answer {
            widget,
            conversation_id: conversation.id,
            event: job_event,
            held,
        },
        Err(reason) if held => Plan::PassOn {
            conversation_id: conversation.id,
            reason,
        },
        Err(reason) => Plan::Ignore(reason),
    }
}

/// The function's routes, as the template declares them and the local server serves them.
pub const ROUTES: [(&str, &str); 1] = [("POST", "/webhooks/conversations/{account}")];

/// The function's one HTTP router: served by `lambda_http` in Lambda, merged into the local
/// server by `deskmate dev` and the tests.
pub fn router(webhook: Arc<ConversationsWebhook>) -> axum::Router {
    axum::Router::new()
        .route(ROUTES[0].1, axum::routing::post(receive))
        .with_state(webhook)
        .layer(axum::extract::DefaultBodyLimit::max(GATEWAY_BODY_LIMIT))
}

async fn receive(
    State(webhook): State<Arc<ConversationsWebhook>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<String> {
    webhook.respond(&account, &headers, &body).await
}
