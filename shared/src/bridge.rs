//! The bridge: a chat that lives outside Zendesk (a store's own widget and AI agent) carried
//! into a Zendesk conversation for a human agent, and the agent's side carried back.
//!
//! Opening a session is a chain of steps, each recorded as it is done and each checked in
//! Zendesk before it is redone, so a retry after a crash resumes and never doubles anything:
//! the messaging user (found by external id), the conversation (found by the session mark in
//! its metadata), the context and transcript messages (found by their part marks), and the
//! hand-over to the Agent Workspace (found in the switchboard). What the agent side does comes
//! back through the Conversations webhook as [`BridgeInbound`] jobs: each becomes an event,
//! numbered once in the session's log (the polling fallback) and then delivered to the store's
//! bridge webhook, signed the Standard Webhooks way. A delivery that keeps failing goes the
//! dead-letter way; the event stays in the log.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::auth::{standard_webhook_headers, whsec_key};
use crate::domain::{
    BridgeContent, BridgeEvent, BridgeInbound, BridgeSession, BridgeSettings, ConversationsAccount,
    StoreConfig,
};
use crate::failure::{JobError, Outcome};
use crate::handoff::AGENT_WORKSPACE;
use crate::reply_once::attempt_owner;
use crate::secrets::SecretStore;
use crate::state::{
    BridgeSessions, ConversationsAccounts, SessionClaim, StateError, StoreDirectory,
};
use crate::zendesk::{
    BridgeDesk, BridgeDesks, BridgeMessage, MAX_MESSAGE_CHARS, Payload, Sender, ZendeskError,
    split_for_messaging,
};

/// In a bridge conversation's metadata: `{store}/{session}`. Deskmate's widget bot never
/// answers a conversation that carries it.
pub const SESSION_KEY: &str = "deskmate_bridge_session";
/// In the metadata of the messages Deskmate posts on a session, so a retry can see them.
pub const PART_KEY: &str = "deskmate_bridge_part";
/// Tag of the messaging tickets bridge sessions open.
pub const BRIDGE_TAG: &str = "deskmate_bridge";
/// The Agent Workspace's switchboard integration type.
const AGENT_WORKSPACE_TYPE: &str = "zd:agentWorkspace";
/// Why a session ended when the caller ended it.
pub const ENDED_BY_CALLER: &str = "ended_by_caller";
/// Why a session ended when Zendesk released it without saying why.
const RELEASED: &str = "released";

/// The customer of a bridge session.
#[derive(Clone, Debug, Serialize)]
pub struct Customer {
    /// The caller's own id for the customer (the messaging user's external id).
    pub external_id: String,
    pub name: String,
    pub email: Option<String>,
}

/// Who said a line of the transcript.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Speaker {
    Customer,
    Assistant,
}

#[derive(Clone, Debug, Serialize)]
pub struct TranscriptLine {
    pub speaker: Speaker,
    pub text: String,
}

/// A validated request to open a session.
#[derive(Clone, Debug, Serialize)]
pub struct OpenRequest {
    pub session_id: String,
    pub customer: Customer,
    pub summary: String,
    pub transcript: Vec<TranscriptLine>,
    pub tags: Vec<String>,
    /// Ticket field id → value, set on the messaging ticket.
    pub ticket_fields: Vec<(u64, Value)>,
}

impl OpenRequest {
    /// Identifies the request's content: the same session id may only be opened with it.
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("requests serialise");
        let digest = Sha256::digest(&canonical);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A customer's message for the agent.
#[derive(Clone, Debug)]
pub struct CustomerMessage {
    /// The caller's id for the message: sending it twice posts it once.
    pub message_id: String,
    pub payload: Payload,
}

/// What opening or forwarding found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    /// Done now.
    Now,
    /// Done before (a retry): nothing was changed.
    Already,
}

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("no bridge session {0}")]
    NotFound(String),
    /// The request contradicts the session's state (reused id, ended, still opening).
    #[error("{0}")]
    Conflict(String),
    /// The store or account is not set up for bridge sessions.
    #[error("{0}")]
    NotConfigured(String),
    /// The session is another store's.
    #[error("session {0} belongs to another store")]
    Forbidden(String),
    /// An attachment link that is not one of ours, or has expired.
    #[error("{0}")]
    BadLink(String),
    #[error(transparent)]
    Zendesk(#[from] ZendeskError),
    #[error(transparent)]
    State(#[from] StateError),
    /// The store's signing secret could not be read.
    #[error("the bridge signing secret is unavailable: {0}")]
    Secret(String),
}

pub struct Bridge {
    pub stores: Arc<dyn StoreDirectory>,
    pub accounts: Arc<dyn ConversationsAccounts>,
    pub sessions: Arc<dyn BridgeSessions>,
    pub desks: Arc<dyn BridgeDesks>,
    pub secrets: Arc<dyn SecretStore>,
    pub http: reqwest::Client,
    /// The API's public base URL, for attachment links; when unknown, links are paths.
    pub public_url: Option<String>,
}

/// How long one attempt at opening a session holds it.
const OPEN_LEASE: Duration = Duration::from_secs(60);
/// How long an attachment link works.
const LINK_TTL: Duration = Duration::from_secs(15 * 60);

fn session_mark(session: &BridgeSession) -> String {
    format!("{}/{}", session.store_id, session.id)
}

fn marked(part: &str) -> Map<String, Value> {
    let mut metadata = Map::new();
    metadata.insert(PART_KEY.into(), json!(part));
    metadata
}

/// The context message (part 0 on) and the transcript, cut to Zendesk's message size.
fn session_parts(store: &StoreConfig, request: &OpenRequest) -> Vec<String> {
    let customer = &request.customer;
    let contact = match &customer.email {
        Some(email) => format!("{} <{email}>", customer.name),
        None => customer.name.clone(),
    };
    let context = format!(
        "Chat carried over from {}'s assistant.\nCustomer: {contact}\n\nSummary:\n{}",
        store.name, request.summary
    );
    let mut parts = split_for_messaging(&context, MAX_MESSAGE_CHARS);
    if !request.transcript.is_empty() {
        let lines: Vec<String> = request
            .transcript
            .iter()
            .map(|line| {
                let who = match line.speaker {
                    Speaker::Customer => customer.name.as_str(),
                    Speaker::Assistant => "Assistant",
                };
                format!("{who}: {}", line.text)
            })
            .collect();
        let transcript = format!("Transcript so far:\n\n{}", lines.join("\n\n"));
        parts.extend(split_for_messaging(&transcript, MAX_MESSAGE_CHARS));
    }
    parts
}

fn in_agent_workspace(conversation: &crate::zendesk::Conversation) -> bool {
    conversation
        .active_switchboard_integration
        .as_ref()
        .is_some_and(|a| a.integration_type == AGENT_WORKSPACE_TYPE || a.name == AGENT_WORKSPACE)
}

impl Bridge {
    /// The bridge over the state table and Zendesk, delivering with Zendesk's HTTP client
    /// (its timeouts and connection pool).
    pub fn new<S>(
        state: Arc<S>,
        zendesk: Arc<crate::zendesk::ZendeskConnector>,
        public_url: Option<String>,
    ) -> Self
    where
        S: StoreDirectory + ConversationsAccounts + BridgeSessions + 'static,
    {
        Self {
            stores: state.clone(),
            accounts: state.clone(),
            sessions: state,
            http: zendesk.http().clone(),
            secrets: zendesk.secrets(),
            desks: zendesk,
            public_url,
        }
    }

    async fn account_of(&self, store: &StoreConfig) -> Result<ConversationsAccount, BridgeError> {
        self.accounts.account(&store.subdomain).await?.ok_or_else(|| {
            BridgeError::NotConfigured(format!(
                "messaging is not connected for the Zendesk account {}; run `deskmate conversations connect`",
                store.subdomain
            ))
        })
    }

    async fn desk(
        &self,
        account: &ConversationsAccount,
    ) -> Result<Arc<dyn BridgeDesk>, BridgeError> {
        Ok(self.desks.bridge_desk(account).await?)
    }

    /// Opens the session, or finishes opening it: each missing step is done once.
    pub async fn open(
        &self,
        store: &StoreConfig,
        request: &OpenRequest,
    ) -> Result<(BridgeSession, Done), BridgeError> {
        if let Some(owner) = self.sessions.session_owner(&request.session_id).await?
            && owner != store.id
        {
            return Err(BridgeError::Forbidden(request.session_id.clone()));
        }
        if store.bridge.is_none() {
            return Err(BridgeError::NotConfigured(format!(
                "store {} has no bridge webhook; run `deskmate store update --store {} --bridge-webhook-url <url>`",
                store.id, store.id
            )));
        }
        let account = self.account_of(store).await?;
        let new = BridgeSession {
            store_id: store.id.clone(),
            id: request.session_id.clone(),
            fingerprint: request.fingerprint(),
            account: account.subdomain.clone(),
            user_id: None,
            conversation_id: None,
            context_message_id: None,
            handed_over: false,
            ended: None,
        };
        let owner = attempt_owner();
        let session = match self
            .sessions
            .claim_session(&new, &owner, OPEN_LEASE)
            .await?
        {
            SessionClaim::Mine(session) => session,
            SessionClaim::Open(session) => return Ok((session, Done::Already)),
            SessionClaim::Busy => {
                return Err(BridgeError::Conflict(format!(
                    "session {} is being opened by another request; retry shortly",
                    request.session_id
                )));
            }
            SessionClaim::Foreign => {
                return Err(BridgeError::Forbidden(request.session_id.clone()));
            }
            SessionClaim::Conflict => {
                return Err(BridgeError::Conflict(format!(
                    "session id {} was already used for a different session",
                    request.session_id
                )));
            }
        };
        match self
            .open_steps(store, &account, request, session, &owner)
            .await
        {
            Ok(session) => {
                tracing::info!(store = %store.id, session = %session.id, conversation = ?session.conversation_id, "bridge session opened");
                Ok((session, Done::Now))
            }
            Err(err) => {
                if let Err(release) = self
                    .sessions
                    .release_session(&store.id, &request.session_id, &owner)
                    .await
                {
                    tracing::warn!(error = %release, "could not release a bridge session");
                }
                Err(err)
            }
        }
    }

    async fn open_steps(
        &self,
        store: &StoreConfig,
        account: &ConversationsAccount,
        request: &OpenRequest,
        mut session: BridgeSession,
        owner: &str,
    ) -> Result<BridgeSession, BridgeError> {
        let desk = self.desk(account).await?;
        let customer = &request.customer;
        let user_id = match session.user_id.clone() {
            Some(id) => id,
            None => {
                let id = self.user_for(desk.as_ref(), customer).await?;
                session.user_id = Some(id.clone());
                self.sessions.save_session(&session, owner).await?;
                id
            }
        };
        let conversation_id = match session.conversation_id.clone() {
            Some(id) => id,
            None => {
                let mark = session_mark(&session);
                let existing = desk
                    .conversations_of(&user_id)
                    .await?
                    .into_iter()
                    .find(|c| {
                        c.metadata
                            .as_ref()
                            .and_then(|m| m.get(SESSION_KEY))
                            .and_then(Value::as_str)
                            == Some(mark.as_str())
                    });
                let id = match existing {
                    Some(conversation) => conversation.id,
                    None => {
                        let mut metadata = Map::new();
                        metadata.insert(SESSION_KEY.into(), json!(mark));
                        let title = format!("{} (carried over from chat)", customer.name);
                        desk.create_conversation(&user_id, &title, metadata).await?
                    }
                };
                session.conversation_id = Some(id.clone());
                // The link before the record: a retry that finds the conversation recorded
                // does not come back here.
                self.sessions.link_conversation(&session).await?;
                self.sessions.save_session(&session, owner).await?;
                id
            }
        };
        if session.context_message_id.is_none() {
            let posted = desk.recent_messages(&conversation_id).await?;
            let sender = Sender::Business {
                display_name: store.display_name.clone(),
            };
            let mut context = None;
            for (i, text) in session_parts(store, request).into_iter().enumerate() {
                let part = format!("part-{i}");
                let id = match posted
                    .iter()
                    .find(|m| m.metadata_text(PART_KEY) == Some(&part))
                {
                    Some(message) => message.id.clone(),
                    None => {
                        let message = BridgeMessage {
                            sender: sender.clone(),
                            payload: Payload::Text(text),
                            metadata: marked(&part),
                        };
                        desk.send(&conversation_id, &message).await?
                    }
                };
                context.get_or_insert(id);
            }
            session.context_message_id = context;
            self.sessions.save_session(&session, owner).await?;
        }
        let conversation = desk.conversation(&conversation_id).await?;
        if !in_agent_workspace(&conversation) {
            desk.pass_control(
                &conversation_id,
                AGENT_WORKSPACE,
                handover_metadata(&session, request),
            )
            .await?;
        }
        session.handed_over = true;
        self.sessions.save_session(&session, owner).await?;
        Ok(session)
    }

    /// The messaging user with the customer's external id, created if there is none.
    async fn user_for(
        &self,
        desk: &dyn BridgeDesk,
        customer: &Customer,
    ) -> Result<String, BridgeError> {
        if let Some(id) = desk.user_by_external_id(&customer.external_id).await? {
            return Ok(id);
        }
        match desk
            .create_user(
                &customer.external_id,
                &customer.name,
                customer.email.as_deref(),
            )
            .await
        {
            Ok(id) => Ok(id),
            // Created meanwhile (or by a write whose answer was lost): read it back.
            Err(ZendeskError::Conflict | ZendeskError::OutcomeUnknown(_)) => desk
                .user_by_external_id(&customer.external_id)
                .await?
                .ok_or_else(|| {
                    BridgeError::Zendesk(ZendeskError::OutcomeUnknown(
                        "the messaging user could not be created".into(),
                    ))
                }),
            Err(err) => Err(err.into()),
        }
    }

    /// The session, for a call that needs it open.
    async fn open_session(
        &self,
        store: &StoreConfig,
        id: &str,
    ) -> Result<BridgeSession, BridgeError> {
        let session = self.session(store, id).await?;
        if session.ended.is_some() {
            return Err(BridgeError::Conflict(format!("session {id} has ended")));
        }
        if !session.handed_over {
            return Err(BridgeError::Conflict(format!(
                "session {id} is not open yet; repeat POST /bridge/sessions to finish opening it"
            )));
        }
        Ok(session)
    }

    /// The store's session `id`; another store's is forbidden.
    pub async fn session(
        &self,
        store: &StoreConfig,
        id: &str,
    ) -> Result<BridgeSession, BridgeError> {
        if let Some(session) = self.sessions.session(&store.id, id).await? {
            return Ok(session);
        }
        match self.sessions.session_owner(id).await? {
            Some(owner) if owner != store.id => Err(BridgeError::Forbidden(id.to_owned())),
            _ => Err(BridgeError::NotFound(id.to_owned())),
        }
    }

    /// Posts the customer's message in the session's conversation, once per message id.
    pub async fn forward(
        &self,
        store: &StoreConfig,
        session_id: &str,
        message: &CustomerMessage,
    ) -> Result<Done, BridgeError> {
        let session = self.open_session(store, session_id).await?;
        let (Some(conversation), Some(user_id)) = (&session.conversation_id, &session.user_id)
        else {
            return Err(BridgeError::State(StateError::Corrupt {
                key: session_id.to_owned(),
                reason: "an open session without its conversation".into(),
            }));
        };
        let desk = self.desk(&self.account_of(store).await?).await?;
        let part = format!("customer-{}", message.message_id);
        if desk
            .recent_messages(conversation)
            .await?
            .iter()
            .any(|m| m.metadata_text(PART_KEY) == Some(&part))
        {
            return Ok(Done::Already);
        }
        let outgoing = BridgeMessage {
            sender: Sender::User {
                user_id: user_id.clone(),
            },
            payload: message.payload.clone(),
            metadata: marked(&part),
        };
        desk.send(conversation, &outgoing).await?;
        Ok(Done::Now)
    }

    /// Ends the session from the chat's side: the agent is told in the conversation, and the
    /// end is recorded (once; a later release by Zendesk adds nothing).
    pub async fn end(
        &self,
        store: &StoreConfig,
        session_id: &str,
    ) -> Result<BridgeSession, BridgeError> {
        let session = self.session(store, session_id).await?;
        if session.ended.is_some() {
            return Ok(session);
        }
        if let Some(conversation) = &session.conversation_id {
            let desk = self.desk(&self.account_of(store).await?).await?;
            let part = "ended";
            if !desk
                .recent_messages(conversation)
                .await?
                .iter()
                .any(|m| m.metadata_text(PART_KEY) == Some(part))
            {
                let notice = BridgeMessage {
                    sender: Sender::Business {
                        display_name: store.display_name.clone(),
                    },
                    payload: Payload::Text("The customer left the chat.".into()),
                    metadata: marked(part),
                };
                desk.send(conversation, &notice).await?;
            }
        }
        let ended = self
            .sessions
            .end_session(&store.id, session_id, ENDED_BY_CALLER)
            .await?;
        self.record_end(&ended).await?;
        Ok(ended)
    }

    async fn record_end(&self, session: &BridgeSession) -> Result<BridgeEvent, StateError> {
        let reason = session.ended.as_deref().unwrap_or(RELEASED);
        self.sessions
            .record_event(
                &session.store_id,
                &session.id,
                "ended",
                "session.ended",
                &json!({"session_id": session.id, "reason": reason}),
            )
            .await
    }

    /// The session's events after `after`, as the webhook delivers them (with fresh links).
    pub async fn events(
        &self,
        store: &StoreConfig,
        session_id: &str,
        after: u64,
        limit: usize,
        base_url: &str,
    ) -> Result<Vec<BridgeEvent>, BridgeError> {
        self.session(store, session_id).await?;
        let key = match &store.bridge {
            Some(bridge) => Some(self.signing_key(bridge).await?),
            None => None,
        };
        let events = self
            .sessions
            .events_after(&store.id, session_id, after, limit)
            .await?;
        Ok(events
            .iter()
            .map(|event| self.present(store, session_id, event, key.as_deref(), base_url))
            .collect())
    }

    /// One thing the agent side did, from the Conversations webhook: recorded in the session's
    /// log, then delivered to the store's bridge webhook.
    pub async fn relay(
        &self,
        account: &str,
        conversation_id: &str,
        inbound: &BridgeInbound,
    ) -> Result<Outcome, JobError> {
        let not_ours = |what: String| JobError::NotActionable(what);
        let session = self
            .sessions
            .session_of_conversation(conversation_id)
            .await?
            .ok_or_else(|| {
                not_ours(format!(
                    "no bridge session carries conversation {conversation_id}"
                ))
            })?;
        if session.account != account {
            return Err(not_ours(format!(
                "conversation {conversation_id} is not a bridge session of account {account}"
            )));
        }
        let store = self
            .stores
            .store(&session.store_id)
            .await?
            .ok_or_else(|| not_ours(format!("store {} is not connected", session.store_id)))?;
        let event = match inbound {
            BridgeInbound::BusinessMessage {
                message_id,
                from_agent,
                author_name,
                content,
            } => {
                let data = message_data(&session, message_id, *from_agent, author_name, content);
                self.sessions
                    .record_event(
                        &store.id,
                        &session.id,
                        &format!("message:{message_id}"),
                        "agent.message",
                        &data,
                    )
                    .await?
            }
            BridgeInbound::Released { reason } => {
                let ended = self
                    .sessions
                    .end_session(
                        &store.id,
                        &session.id,
                        reason.as_deref().unwrap_or(RELEASED),
                    )
                    .await?;
                self.record_end(&ended).await?
            }
        };
        self.deliver(&store, &session.id, &event).await?;
        Ok(Outcome::Relayed {
            event: event.kind.clone(),
        })
    }

    /// The HMAC key of a bridge's deliveries and attachment links.
    async fn signing_key(&self, bridge: &BridgeSettings) -> Result<Vec<u8>, BridgeError> {
        let secret = self
            .secrets
            .secret(&bridge.signing_secret)
            .await
            .map_err(|err| BridgeError::Secret(err.to_string()))?;
        whsec_key(&secret).ok_or_else(|| {
            BridgeError::Secret("the bridge signing secret is not whsec_<base64>".into())
        })
    }

    /// The event as the caller sees it: an attachment gets a fresh signed link in place of
    /// Zendesk's own URL (which needs Deskmate's credentials).
    fn present(
        &self,
        store: &StoreConfig,
        session_id: &str,
        event: &BridgeEvent,
        key: Option<&[u8]>,
        base_url: &str,
    ) -> BridgeEvent {
        let mut event = event.clone();
        if let Some(attachment) = event
            .data
            .get_mut("attachment")
            .and_then(Value::as_object_mut)
            && let Some(Value::String(media_url)) = attachment.remove("media_url")
        {
            let link = key.map(|key| {
                let token = AttachmentLink {
                    store: store.id.to_string(),
                    session: session_id.to_owned(),
                    media_url,
                    expires: crate::state::epoch_seconds_now() + LINK_TTL.as_secs(),
                }
                .sign(key);
                format!(
                    "{}/bridge/attachments/{token}",
                    base_url.trim_end_matches('/')
                )
            });
            attachment.insert("url".into(), json!(link));
        }
        event
    }

    /// Delivers `event` to the store's bridge webhook, signed the Standard Webhooks way.
    async fn deliver(
        &self,
        store: &StoreConfig,
        session_id: &str,
        event: &BridgeEvent,
    ) -> Result<(), JobError> {
        let Some(settings) = &store.bridge else {
            tracing::info!(store = %store.id, "no bridge webhook; the event waits in the session's log");
            return Ok(());
        };
        let key = self
            .signing_key(settings)
            .await
            .map_err(|err| JobError::Delivery {
                transient: true,
                detail: err.to_string(),
            })?;
        let base = self.public_url.as_deref().unwrap_or("");
        let presented = self.present(store, session_id, event, Some(&key), base);
        let body = serde_json::to_string(&presented).expect("events serialise");
        let headers = standard_webhook_headers(&key, &event.id, &body);
        let answer = headers
            .into_iter()
            .fold(
                self.http.post(&settings.webhook_url),
                |request, (name, value)| request.header(name, value),
            )
            .body(body)
            .send()
            .await;
        let failed = |transient: bool, detail: String| {
            tracing::warn!(store = %store.id, session = session_id, event = %event.id, detail, "bridge delivery failed");
            Err(JobError::Delivery { transient, detail })
        };
        match answer {
            Ok(response) if response.status().is_success() => {
                tracing::info!(store = %store.id, session = session_id, event = %event.id, kind = %event.kind, "bridge event delivered");
                Ok(())
            }
            Ok(response) => {
                let status = response.status();
                // The receiver may be down or overloaded (5xx, 429, 408); any other answer
                // says the delivery itself is refused, and retrying will not change that.
                let transient =
                    status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
                failed(transient, format!("the bridge webhook answered {status}"))
            }
            Err(err) => failed(
                true,
                format!(
                    "the bridge webhook could not be reached: {}",
                    err.without_url()
                ),
            ),
        }
    }

    /// The media an attachment link points at, if the link is ours and still valid.
    pub async fn attachment(&self, token: &str) -> Result<(String, Vec<u8>), BridgeError> {
        let link = AttachmentLink::read(token)?;
        let store_id = crate::domain::StoreId::parse(&link.store)
            .map_err(|_| BridgeError::BadLink("not an attachment link".into()))?;
        let store = self
            .stores
            .store(&store_id)
            .await?
            .ok_or_else(|| BridgeError::BadLink("not an attachment link".into()))?;
        let bridge = store
            .bridge
            .as_ref()
            .ok_or_else(|| BridgeError::BadLink("not an attachment link".into()))?;
        let key = self.signing_key(bridge).await?;
        link.verify(token, &key)?;
        if link.expires < crate::state::epoch_seconds_now() {
            return Err(BridgeError::BadLink(
                "the attachment link has expired; poll the session's events for a fresh one".into(),
            ));
        }
        let desk = self.desk(&self.account_of(&store).await?).await?;
        Ok(desk.download(&link.media_url).await?)
    }
}

/// What passing the conversation to the Agent Workspace tells it: where the ticket's
/// conversation starts, its tags and its fields.
fn handover_metadata(session: &BridgeSession, request: &OpenRequest) -> Map<String, Value> {
    let mut metadata = Map::new();
    if let Some(first) = &session.context_message_id {
        metadata.insert("first_message_id".into(), json!(first));
    }
    let mut tags = vec![BRIDGE_TAG.to_owned()];
    tags.extend(request.tags.iter().cloned());
    metadata.insert("dataCapture.systemField.tags".into(), json!(tags.join(" ")));
    for (field, value) in &request.ticket_fields {
        metadata.insert(format!("dataCapture.ticketField.{field}"), value.clone());
    }
    metadata
}

fn message_data(
    session: &BridgeSession,
    message_id: &str,
    from_agent: bool,
    author_name: &Option<String>,
    content: &BridgeContent,
) -> Value {
    let mut data = json!({
        "session_id": session.id,
        "message_id": message_id,
        "author": {
            "role": if from_agent { "agent" } else { "automated" },
            "name": author_name,
        },
        "text": content.text,
    });
    if let Some(media_url) = &content.media_url {
        data["attachment"] = json!({
            "kind": content.kind,
            "name": content.alt_text,
            "media_type": content.media_type,
            "media_url": media_url,
        });
    }
    data
}

/// A signed, expiring link to one attachment: `base64url(json).base64url(hmac)`.
#[derive(Serialize, Deserialize)]
struct AttachmentLink {
    store: String,
    session: String,
    media_url: String,
    /// Epoch seconds.
    expires: u64,
}

const LINK_CONTEXT: &[u8] = b"deskmate-bridge-attachment.";

impl AttachmentLink {
    fn mac(key: &[u8], payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(LINK_CONTEXT);
        mac.update(payload.as_bytes());
        mac
    }

    fn sign(&self, key: &[u8]) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("links serialise"));
        let signature = URL_SAFE_NO_PAD.encode(Self::mac(key, &payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The link's claims, unverified: they name the store whose key verifies them.
    fn read(token: &str) -> Result<Self, BridgeError> {
        let bad = || BridgeError::BadLink("not an attachment link".into());
        let (payload, _) = token.split_once('.').ok_or_else(bad)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        serde_json::from_slice(&json).map_err(|_| bad())
    }

    /// Checks the signature in constant time.
    fn verify(&self, token: &str, key: &[u8]) -> Result<(), BridgeError> {
        let bad = || BridgeError::BadLink("not an attachment link".into());
        let (payload, signature) = token.split_once('.').ok_or_else(bad)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| bad())?;
        Self::mac(key, payload)
            .verify_slice(&signature)
            .map_err(|_| bad())
    }
}

/// Keeps secrets out of the logs: a link's token is never printed whole.
impl std::fmt::Debug for AttachmentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentLink")
            .field("store", &self.store)
            .field("session", &self.session)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_with_their_key_and_content() {
        let link = AttachmentLink {
            store: "acme".into(),
            session: "s1".into(),
            media_url: "https://acme.zendesk.com/sc/attachments/a/b.pdf".into(),
            expires: 10,
        };
        let token = link.sign(b"key");
        let read = AttachmentLink::read(&token).unwrap();
        assert!(read.verify(&token, b"key").is_ok());
        assert!(read.verify(&token, b"other").is_err());
        // Another payload under the same signature is refused.
        let (_, signature) = token.split_once('.').unwrap();
        let forged = AttachmentLink {
            media_url: "https://evil.example/x".into(),
            ..read
        };
        let forged_token = format!(
            "{}.{signature}",
            forged.sign(b"x").split_once('.').unwrap().0
        );
        let forged_read = AttachmentLink::read(&forged_token).unwrap();
        assert!(forged_read.verify(&forged_token, b"key").is_err());
        assert!(AttachmentLink::read("garbage").is_err());
    }

    #[test]
    fn fingerprints_change_with_the_content() {
        let request = OpenRequest {
            session_id: "s1".into(),
            customer: Customer {
                external_id: "c1".into(),
                name: "Ana".into(),
                email: None,
            },
            summary: "Wants a refund".into(),
            transcript: vec![],
            tags: vec![],
            ticket_fields: vec![],
        };
        let mut other = request.clone();
        other.summary = "Wants an exchange".into();
        assert_eq!(request.fingerprint(), request.clone().fingerprint());
        assert_ne!(request.fingerprint(), other.fingerprint());
    }
}
