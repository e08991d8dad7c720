//! Deskmate's state, behind narrow ports: the store directory, webhook de-duplication,
//! bot state per thread, and reply claims. One DynamoDB table holds it all in production.

mod dynamo;
mod memory;

use std::time::Duration;

use async_trait::async_trait;

pub use dynamo::DynamoState;
pub use memory::MemoryState;

use crate::auth::TokenHash;
use crate::domain::{
    BotState, BridgeEvent, BridgeSession, ConversationsAccount, HandoffIntent, StoreConfig,
    StoreId, Thread,
};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store could not be reached or refused the call; a retry may succeed.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// An item exists but cannot be read back; a retry will not help.
    #[error("state item {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
}

#[async_trait]
pub trait StoreDirectory: Send + Sync {
    async fn store(&self, id: &StoreId) -> Result<Option<StoreConfig>, StateError>;
    async fn save_store(&self, store: &StoreConfig) -> Result<(), StateError>;
    /// The store whose escalate-tool token has this hash.
    async fn store_for_tool_token(&self, hash: &TokenHash) -> Result<Option<StoreId>, StateError>;
    /// Every connected store (operator tooling; not for the request path).
    async fn list_stores(&self) -> Result<Vec<StoreConfig>, StateError>;
    /// The stores of one Zendesk account (a query on the account's index, fit for requests).
    async fn stores_of_account(&self, subdomain: &str) -> Result<Vec<StoreConfig>, StateError>;
    /// Removes the store and everything kept for it: its indexes, widget route, bot states,
    /// reply claims and delivery records.
    async fn delete_store(&self, store: &StoreConfig) -> Result<(), StateError>;
}

/// A store's knowledge index as saved by a sync, with the version that save gave it.
#[derive(Clone, Debug)]
pub struct StoredIndex {
    /// Grows with every save; a worker caches the index per store and version.
    pub version: u64,
    pub index: crate::knowledge_index::KnowledgeIndex,
}

/// Each store's synced knowledge index (its Help Center and markdown file), saved whole.
#[async_trait]
pub trait KnowledgeIndexes: Send + Sync {
    /// Replaces the store's index; returns the new version.
    async fn save_index(
        &self,
        store: &StoreId,
        index: &crate::knowledge_index::KnowledgeIndex,
    ) -> Result<u64, StateError>;
    /// The version of the store's index, if one was saved (a cheap read, fit for every turn).
    async fn index_version(&self, store: &StoreId) -> Result<Option<u64>, StateError>;
    /// The store's index, if one was saved.
    async fn load_index(&self, store: &StoreId) -> Result<Option<StoredIndex>, StateError>;
}

/// Conversations API settings, one per Zendesk account.
#[async_trait]
pub trait ConversationsAccounts: Send + Sync {
    async fn account(&self, subdomain: &str) -> Result<Option<ConversationsAccount>, StateError>;
    async fn save_account(&self, account: &ConversationsAccount) -> Result<(), StateError>;
}

#[derive(Debug, thiserror::Error)]
pub enum WidgetError {
    #[error("widget {widget} is already taken by store {store}")]
    Taken { widget: String, store: String },
    #[error(transparent)]
    State(#[from] StateError),
}

/// Which store answers a brand's Web Widget.
#[async_trait]
pub trait WidgetRoutes: Send + Sync {
    /// Maps `widget` to `store` (idempotent); a widget maps to at most one store.
    async fn map_widget(&self, store: &StoreConfig, widget: &str) -> Result<(), WidgetError>;
    /// Frees the store's widget; the store then answers as the account's fallback.
    async fn unmap_widget(&self, store: &StoreConfig) -> Result<(), StateError>;
    /// The store explicitly mapped to `widget`, without any fallback.
    async fn widget_owner(
        &self,
        account: &str,
        widget: &str,
    ) -> Result<Option<StoreId>, StateError>;
    /// The store mapped to `widget`, else the account's store without a widget (the first by
    /// id, should there be several), else none: Deskmate stays silent rather than answer as
    /// the wrong brand.
    async fn route_widget(
        &self,
        account: &str,
        widget: &str,
    ) -> Result<Option<StoreId>, StateError>;
}

/// Remembers webhook deliveries for a while so a redelivery is recognised.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// Records `key`; true when it was not seen within its time to live.
    async fn record_first(&self, key: &str, ttl: Duration) -> Result<bool, StateError>;
    /// [`DeliveryLog::record_first`] for many keys at once (a webhook payload's events), in
    /// order; a key given twice is first only once.
    async fn record_first_many(
        &self,
        keys: &[String],
        ttl: Duration,
    ) -> Result<Vec<bool>, StateError> {
        let mut firsts = Vec::with_capacity(keys.len());
        for key in keys {
            firsts.push(self.record_first(key, ttl).await?);
        }
        Ok(firsts)
    }
    /// Forgets `key`, so a delivery that could not be accepted is taken when Zendesk retries it.
    async fn forget(&self, key: &str) -> Result<(), StateError>;
}

/// What recording a hand-off found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandoffStart {
    /// This caller recorded it and holds its lease: it runs the steps.
    Started,
    /// Another hand-off of the thread is recorded and not finished.
    UnderWay,
    /// The thread is already with a human.
    AlreadyDone,
}

/// What asking to resume a thread's hand-off found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandoffLease {
    /// Unfinished, and now this caller's to finish.
    Resume(HandoffIntent),
    /// Finished (the thread is with a human); the intent is kept for the follow-up note.
    Finished(HandoffIntent),
    /// Unfinished, and another caller's lease on it is live.
    HeldByAnother,
    /// No hand-off is recorded for the thread.
    None,
}

/// Who answers each thread, and the hand-off under way on it. One hand-off per thread at a
/// time: recording it is a conditional write, so concurrent hand-offs have one winner.
#[async_trait]
pub trait BotStates: Send + Sync {
    async fn bot_state(&self, store: &StoreId, thread: &Thread) -> Result<BotState, StateError>;
    /// Sets the state outright, forgetting any hand-off (a thread handed back, or resumed).
    async fn set_bot_state(
        &self,
        store: &StoreId,
        thread: &Thread,
        state: BotState,
    ) -> Result<(), StateError>;
    /// Records `intent` and a lease for `owner`, unless a hand-off is under way or done.
    async fn begin_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        intent: &HandoffIntent,
        owner: &str,
        lease: Duration,
    ) -> Result<HandoffStart, StateError>;
    /// Takes the lease on an unfinished hand-off whose lease ran out (or is `owner`'s).
    async fn take_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        owner: &str,
        lease: Duration,
    ) -> Result<HandoffLease, StateError>;
    /// Marks the hand-off finished: the thread is with a human.
    async fn finish_handoff(&self, store: &StoreId, thread: &Thread) -> Result<(), StateError>;
    /// Ends `owner`'s lease so the next attempt can resume at once.
    async fn release_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        owner: &str,
    ) -> Result<(), StateError>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This worker may answer the message; `recorded` is the answer an earlier attempt
    /// recorded before it stopped (post exactly that, never a new one).
    Acquired { recorded: Option<String> },
    /// Another worker holds a live lease on it; its own message is redelivered if it dies.
    HeldByAnother,
    /// The message has been answered.
    AlreadyAnswered,
}

/// One reply per customer message: a worker claims the message before answering it.
#[async_trait]
pub trait ReplyClaims: Send + Sync {
    /// Claims `message_id` for `owner`; a claim whose lease has run out can be taken over.
    async fn claim_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<ClaimOutcome, StateError>;
    /// Records the answer before it is posted, so an attempt that takes over posts the same one.
    async fn record_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
        answer: &str,
    ) -> Result<(), StateError>;
    /// Marks the message answered.
    async fn finish_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
    ) -> Result<(), StateError>;
    /// Ends the lease so a retry can take the claim at once; a recorded answer stays.
    async fn release_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
    ) -> Result<(), StateError>;
}

/// What claiming a ticket-creation idempotency key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreationClaim {
    /// This caller creates the ticket: the key is new, or an earlier attempt stopped before
    /// recording its ticket (Zendesk's own `Idempotency-Key` then returns that ticket).
    Mine,
    /// A ticket was created under this key.
    Created(u64),
    /// Another call with this key is creating the ticket right now.
    InProgress,
}

/// Tickets the create-ticket tool made, by the caller's idempotency key, per store: remembered
/// far longer than Zendesk remembers its `Idempotency-Key`s.
#[async_trait]
pub trait TicketCreations: Send + Sync {
    /// Claims `key` for a creation (a conditional write) with a lease of `lease`.
    async fn claim_creation(
        &self,
        store: &StoreId,
        key: &str,
        lease: Duration,
    ) -> Result<CreationClaim, StateError>;
    /// Records the ticket created under `key`.
    async fn record_creation(
        &self,
        store: &StoreId,
        key: &str,
        ticket_id: u64,
    ) -> Result<(), StateError>;
    /// Ends the lease of a creation that failed, so a retry may create at once.
    async fn release_creation(&self, store: &StoreId, key: &str) -> Result<(), StateError>;
}

/// What claiming a bridge session found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionClaim {
    /// This caller holds the session's lease: it runs the steps still missing (all of them
    /// for a new session).
    Mine(BridgeSession),
    /// Every step is done: the session is open (or has ended).
    Open(BridgeSession),
    /// Another request is opening the session right now.
    Busy,
    /// The caller used this session id for a different session (another fingerprint).
    Conflict,
    /// Another store's session has this id (session ids are one namespace per deployment).
    Foreign,
}

/// Bridge sessions (chats outside Zendesk carried in to a human) and each one's event log.
#[async_trait]
pub trait BridgeSessions: Send + Sync {
    /// Claims the session `id` of `store` for `owner`, recording it when new. A lease that ran
    /// out can be taken over; the session as recorded says which steps are done.
    async fn claim_session(
        &self,
        new: &BridgeSession,
        owner: &str,
        lease: Duration,
    ) -> Result<SessionClaim, StateError>;
    /// Records the steps done so far; `owner` must hold the lease. A session handed over is
    /// open: its lease ends.
    async fn save_session(&self, session: &BridgeSession, owner: &str) -> Result<(), StateError>;
    /// Links the session's conversation to it, so the conversation's events find it.
    async fn link_conversation(&self, session: &BridgeSession) -> Result<(), StateError>;
    /// Ends `owner`'s lease so a retry can resume at once.
    async fn release_session(
        &self,
        store: &StoreId,
        id: &str,
        owner: &str,
    ) -> Result<(), StateError>;
    async fn session(&self, store: &StoreId, id: &str)
    -> Result<Option<BridgeSession>, StateError>;
    /// The store whose session has this id.
    async fn session_owner(&self, id: &str) -> Result<Option<StoreId>, StateError>;
    /// The session a Zendesk conversation carries.
    async fn session_of_conversation(
        &self,
        conversation_id: &str,
    ) -> Result<Option<BridgeSession>, StateError>;
    /// Marks the session ended; the first reason recorded stays. Returns the session as ended.
    async fn end_session(
        &self,
        store: &StoreId,
        id: &str,
        reason: &str,
    ) -> Result<BridgeSession, StateError>;
    /// Appends an event once per `key` (what caused it, e.g. a Zendesk message id): recording
    /// the same key again returns the event recorded first. Events are numbered without gaps,
    /// and one becomes visible only with its number.
    async fn record_event(
        &self,
        store: &StoreId,
        session: &str,
        key: &str,
        kind: &str,
        data: &serde_json::Value,
    ) -> Result<BridgeEvent, StateError>;
    /// The session's events numbered above `after`, oldest first, at most `limit`.
    async fn events_after(
        &self,
        store: &StoreId,
        session: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<BridgeEvent>, StateError>;
}

/// A bridge event's id: the same for the same session and cause, whoever records it.
pub(crate) fn bridge_event_id(store: &StoreId, session: &str, key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{store}\n{session}\n{key}").as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("evt_{hex}")
}

/// Now, as RFC 3339 (a bridge event's `created_at`).
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Seconds since the Unix epoch: the unit of DynamoDB's TTL attribute.
pub(crate) fn epoch_seconds_now() -> u64 {
    epoch_millis_now() / 1000
}

/// Milliseconds since the Unix epoch: the unit of leases, which tests scale down.
pub(crate) fn epoch_millis_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}
