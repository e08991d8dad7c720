//! In-memory state for `deskmate dev`, the demo and unit tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    BotStates, BridgeSessions, ClaimOutcome, ConversationsAccounts, CreationClaim, DeliveryLog,
    HandoffLease, HandoffStart, KnowledgeIndexes, ReplyClaims, SessionClaim, StateError,
    StoreDirectory, StoredIndex, TicketCreations, WidgetError, WidgetRoutes, bridge_event_id,
    epoch_millis_now, epoch_seconds_now, now_rfc3339,
};
use crate::auth::TokenHash;
use crate::domain::{
    BotState, BridgeEvent, BridgeSession, ConversationsAccount, HandoffIntent, StoreConfig,
    StoreId, Thread,
};

#[derive(Default)]
pub struct MemoryState {
    inner: Mutex<Tables>,
}

#[derive(Default)]
struct Tables {
    stores: HashMap<StoreId, StoreConfig>,
    deliveries: HashMap<String, u64>,
    bot_states: HashMap<(StoreId, Thread), ThreadState>,
    claims: HashMap<(StoreId, Thread, String), Claim>,
    accounts: HashMap<String, ConversationsAccount>,
    widgets: HashMap<(String, String), StoreId>,
    /// Ticket creations by (store, key): the ticket once made, else the lease's end.
    creations: HashMap<(StoreId, String), Creation>,
    /// Knowledge indexes by store: the version and the serialized index.
    knowledge: HashMap<StoreId, (u64, String)>,
    bridge: HashMap<(StoreId, String), Bridged>,
    /// Conversation id → the session it carries.
    bridged_conversations: HashMap<String, (StoreId, String)>,
}

struct Bridged {
    session: BridgeSession,
    owner: String,
    /// Epoch milliseconds; 0 once every step is done.
    lease_until: u64,
    events: Vec<BridgeEvent>,
    /// Event key → its number.
    keys: HashMap<String, u64>,
}

enum Creation {
    /// Epoch milliseconds.
    Leased(u64),
    Created(u64),
}

struct Claim {
    owner: String,
    /// Epoch milliseconds.
    lease_until: u64,
    answered: bool,
    recorded: Option<String>,
}

struct ThreadState {
    state: BotState,
    handoff: Option<HandoffIntent>,
    owner: String,
    /// Epoch milliseconds.
    lease_until: u64,
}

fn lease_end(lease: Duration) -> u64 {
    epoch_millis_now() + lease.as_millis() as u64
}

impl MemoryState {
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl StoreDirectory for MemoryState {
    async fn store(&self, id: &StoreId) -> Result<Option<StoreConfig>, StateError> {
        Ok(self.tables().stores.get(id).cloned())
    }

    async fn save_store(&self, store: &StoreConfig) -> Result<(), StateError> {
        self.tables().stores.insert(store.id.clone(), store.clone());
        Ok(())
    }

    async fn stores_of_account(&self, subdomain: &str) -> Result<Vec<StoreConfig>, StateError> {
        Ok(self
            .tables()
            .stores
            .values()
            .filter(|store| store.subdomain == subdomain)
            .cloned()
            .collect())
    }

    async fn list_stores(&self) -> Result<Vec<StoreConfig>, StateError> {
        let mut stores: Vec<StoreConfig> = self.tables().stores.values().cloned().collect();
        stores.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(stores)
    }

    async fn delete_store(&self, store: &StoreConfig) -> Result<(), StateError> {
        let mut tables = self.tables();
        tables.stores.remove(&store.id);
        tables.widgets.retain(|_, owner| *owner != store.id);
        tables.bot_states.retain(|(owner, _), _| *owner != store.id);
        tables.claims.retain(|(owner, _, _), _| *owner != store.id);
        tables.creations.retain(|(owner, _), _| *owner != store.id);
        tables.knowledge.remove(&store.id);
        tables.bridge.retain(|(owner, _), _| *owner != store.id);
        tables
            .bridged_conversations
            .retain(|_, (owner, _)| *owner != store.id);
        let prefix = format!("{}:", store.id);
        tables.deliveries.retain(|key, _| !key.starts_with(&prefix));
        Ok(())
    }

    async fn store_for_tool_token(&self, hash: &TokenHash) -> Result<Option<StoreId>, StateError> {
        Ok(self
            .tables()
            .stores
            .values()
            .find(|store| store.tool_token_hash.as_ref() == Some(hash))
            .map(|store| store.id.clone()))
    }
}

#[async_trait]
impl TicketCreations for MemoryState {
    async fn claim_creation(
        &self,
        store: &StoreId,
        key: &str,
        lease: Duration,
    ) -> Result<CreationClaim, StateError> {
        let mut tables = self.tables();
        let slot = (store.clone(), key.to_owned());
        match tables.creations.get(&slot) {
            Some(Creation::Created(id)) => Ok(CreationClaim::Created(*id)),
            Some(Creation::Leased(until)) if *until >= epoch_millis_now() => {
                Ok(CreationClaim::InProgress)
            }
            _ => {
                tables
                    .creations
                    .insert(slot, Creation::Leased(lease_end(lease)));
                Ok(CreationClaim::Mine)
            }
        }
    }

    async fn record_creation(
        &self,
        store: &StoreId,
        key: &str,
        ticket_id: u64,
    ) -> Result<(), StateError> {
        self.tables().creations.insert(
            (store.clone(), key.to_owned()),
            Creation::Created(ticket_id),
        );
        Ok(())
    }

    async fn release_creation(&self, store: &StoreId, key: &str) -> Result<(), StateError> {
        let mut tables = self.tables();
        let slot = (store.clone(), key.to_owned());
        if let Some(Creation::Leased(_)) = tables.creations.get(&slot) {
            tables.creations.remove(&slot);
        }
        Ok(())
    }
}

#[async_trait]
impl DeliveryLog for MemoryState {
    async fn record_first(&self, key: &str, ttl: Duration) -> Result<bool, StateError> {
        let now = epoch_seconds_now();
        let mut tables = self.tables();
        match tables.deliveries.get(key) {
            Some(expires_at) if *expires_at > now => Ok(false),
            _ => {
                tables
                    .deliveries
                    .insert(key.to_owned(), now + ttl.as_secs());
                Ok(true)
            }
        }
    }

    async fn forget(&self, key: &str) -> Result<(), StateError> {
        self.tables().deliveries.remove(key);
        Ok(())
    }
}

#[async_trait]
impl BotStates for MemoryState {
    async fn bot_state(&self, store: &StoreId, thread: &Thread) -> Result<BotState, StateError> {
        let key = (store.clone(), thread.clone());
        Ok(self
            .tables()
            .bot_states
            .get(&key)
            .map_or(BotState::Bot, |t| t.state))
    }

    async fn set_bot_state(
        &self,
        store: &StoreId,
        thread: &Thread,
        state: BotState,
    ) -> Result<(), StateError> {
        let fresh = ThreadState {
            state,
            handoff: None,
            owner: String::new(),
            lease_until: 0,
        };
        self.tables()
            .bot_states
            .insert((store.clone(), thread.clone()), fresh);
        Ok(())
    }

    async fn begin_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        intent: &HandoffIntent,
        owner: &str,
        lease: Duration,
    ) -> Result<HandoffStart, StateError> {
        let mut tables = self.tables();
        let key = (store.clone(), thread.clone());
        match tables.bot_states.get(&key).map(|t| t.state) {
            Some(BotState::HandingOff) => return Ok(HandoffStart::UnderWay),
            Some(BotState::Escalated) => return Ok(HandoffStart::AlreadyDone),
            _ => {}
        }
        let started = ThreadState {
            state: BotState::HandingOff,
            handoff: Some(intent.clone()),
            owner: owner.to_owned(),
            lease_until: lease_end(lease),
        };
        tables.bot_states.insert(key, started);
        Ok(HandoffStart::Started)
    }

    async fn take_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        owner: &str,
        lease: Duration,
    ) -> Result<HandoffLease, StateError> {
        let mut tables = self.tables();
        let Some(entry) = tables.bot_states.get_mut(&(store.clone(), thread.clone())) else {
            return Ok(HandoffLease::None);
        };
        let Some(intent) = entry.handoff.clone() else {
            return Ok(HandoffLease::None);
        };
        Ok(match entry.state {
            BotState::HandingOff
                if entry.lease_until < epoch_millis_now() || entry.owner == owner =>
            {
                entry.owner = owner.to_owned();
                entry.lease_until = lease_end(lease);
                HandoffLease::Resume(intent)
            }
            BotState::HandingOff => HandoffLease::HeldByAnother,
            _ => HandoffLease::Finished(intent),
        })
    }

    async fn finish_handoff(&self, store: &StoreId, thread: &Thread) -> Result<(), StateError> {
        if let Some(entry) = self
            .tables()
            .bot_states
            .get_mut(&(store.clone(), thread.clone()))
            && entry.state == BotState::HandingOff
        {
            entry.state = BotState::Escalated;
            entry.lease_until = 0;
        }
        Ok(())
    }

    async fn release_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        owner: &str,
    ) -> Result<(), StateError> {
        if let Some(entry) = self
            .tables()
            .bot_states
            .get_mut(&(store.clone(), thread.clone()))
            && entry.owner == owner
        {
            entry.lease_until = 0;
        }
        Ok(())
    }
}

#[async_trait]
impl ReplyClaims for MemoryState {
    async fn claim_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<ClaimOutcome, StateError> {
        let key = (store.clone(), thread.clone(), message_id.to_owned());
        let mut tables = self.tables();
        let recorded = match tables.claims.get(&key) {
            Some(claim) if claim.answered => return Ok(ClaimOutcome::AlreadyAnswered),
            Some(claim) if claim.lease_until > epoch_millis_now() => {
                return Ok(ClaimOutcome::HeldByAnother);
            }
            Some(claim) => claim.recorded.clone(),
            None => None,
        };
        let claim = Claim {
            owner: owner.to_owned(),
            lease_until: lease_end(lease),
            answered: false,
            recorded: recorded.clone(),
        };
        tables.claims.insert(key, claim);
        Ok(ClaimOutcome::Acquired { recorded })
    }

    async fn record_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
        answer: &str,
    ) -> Result<(), StateError> {
        let key = (store.clone(), thread.clone(), message_id.to_owned());
        if let Some(claim) = self.tables().claims.get_mut(&key)
            && claim.owner == owner
        {
            claim.recorded = Some(answer.to_owned());
        }
        Ok(())
    }

    async fn finish_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
    ) -> Result<(), StateError> {
        let key = (store.clone(), thread.clone(), message_id.to_owned());
        if let Some(claim) = self.tables().claims.get_mut(&key)
            && claim.owner == owner
        {
            claim.answered = true;
        }
        Ok(())
    }

    async fn release_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
    ) -> Result<(), StateError> {
        let key = (store.clone(), thread.clone(), message_id.to_owned());
        if let Some(claim) = self.tables().claims.get_mut(&key)
            && claim.owner == owner
            && !claim.answered
        {
            claim.lease_until = 0;
        }
        Ok(())
    }
}

#[async_trait]
impl ConversationsAccounts for MemoryState {
    async fn account(&self, subdomain: &str) -> Result<Option<ConversationsAccount>, StateError> {
        Ok(self.tables().accounts.get(subdomain).cloned())
    }

    async fn save_account(&self, account: &ConversationsAccount) -> Result<(), StateError> {
        self.tables()
            .accounts
            .insert(account.subdomain.clone(), account.clone());
        Ok(())
    }
}

#[async_trait]
impl WidgetRoutes for MemoryState {
    async fn map_widget(&self, store: &StoreConfig, widget: &str) -> Result<(), WidgetError> {
        let mut tables = self.tables();
        let key = (store.subdomain.clone(), widget.to_owned());
        match tables.widgets.get(&key) {
            Some(owner) if *owner != store.id => {
                return Err(WidgetError::Taken {
                    widget: widget.to_owned(),
                    store: owner.to_string(),
                });
            }
            _ => {}
        }
        tables.widgets.insert(key, store.id.clone());
        let mut mapped = store.clone();
        mapped.widget_integration_id = Some(widget.to_owned());
        tables.stores.insert(mapped.id.clone(), mapped);
        Ok(())
    }

    async fn unmap_widget(&self, store: &StoreConfig) -> Result<(), StateError> {
        let mut tables = self.tables();
        if let Some(widget) = &store.widget_integration_id {
            let key = (store.subdomain.clone(), widget.clone());
            if tables.widgets.get(&key) == Some(&store.id) {
                tables.widgets.remove(&key);
            }
        }
        let mut unmapped = store.clone();
        unmapped.widget_integration_id = None;
        tables.stores.insert(unmapped.id.clone(), unmapped);
        Ok(())
    }

    async fn widget_owner(
        &self,
        account: &str,
        widget: &str,
    ) -> Result<Option<StoreId>, StateError> {
        Ok(self
            .tables()
            .widgets
            .get(&(account.to_owned(), widget.to_owned()))
            .cloned())
    }

    async fn route_widget(
        &self,
        account: &str,
        widget: &str,
    ) -> Result<Option<StoreId>, StateError> {
        let tables = self.tables();
        if let Some(store) = tables.widgets.get(&(account.to_owned(), widget.to_owned())) {
            return Ok(Some(store.clone()));
        }
        Ok(tables
            .stores
            .values()
            .filter(|store| store.subdomain == account && store.widget_integration_id.is_none())
            .map(|store| store.id.clone())
            .min_by(|a, b| a.as_str().cmp(b.as_str())))
    }
}

#[async_trait]
impl KnowledgeIndexes for MemoryState {
    async fn save_index(
        &self,
        store: &StoreId,
        index: &crate::knowledge_index::KnowledgeIndex,
    ) -> Result<u64, StateError> {
        let json = serde_json::to_string(index).map_err(|err| StateError::Corrupt {
            key: format!("knowledge of {store}"),
            reason: err.to_string(),
        })?;
        let mut tables = self.tables();
        let version = tables.knowledge.get(store).map_or(1, |(v, _)| v + 1);
        tables.knowledge.insert(store.clone(), (version, json));
        Ok(version)
    }

    async fn index_version(&self, store: &StoreId) -> Result<Option<u64>, StateError> {
        Ok(self.tables().knowledge.get(store).map(|(v, _)| *v))
    }

    async fn load_index(&self, store: &StoreId) -> Result<Option<StoredIndex>, StateError> {
        let Some((version, json)) = self.tables().knowledge.get(store).cloned() else {
            return Ok(None);
        };
        let index = serde_json::from_str(&json).map_err(|err| StateError::Corrupt {
            key: format!("knowledge of {store}"),
            reason: err.to_string(),
        })?;
        Ok(Some(StoredIndex { version, index }))
    }
}

#[async_trait]
impl BridgeSessions for MemoryState {
    async fn claim_session(
        &self,
        new: &BridgeSession,
        owner: &str,
        lease: Duration,
    ) -> Result<SessionClaim, StateError> {
        let mut tables = self.tables();
        if tables
            .bridge
            .keys()
            .any(|(store, id)| *id == new.id && *store != new.store_id)
        {
            return Ok(SessionClaim::Foreign);
        }
        let key = (new.store_id.clone(), new.id.clone());
        let Some(bridged) = tables.bridge.get_mut(&key) else {
            tables.bridge.insert(
                key,
                Bridged {
                    session: new.clone(),
                    owner: owner.to_owned(),
                    lease_until: lease_end(lease),
                    events: Vec::new(),
                    keys: HashMap::new(),
                },
            );
            return Ok(SessionClaim::Mine(new.clone()));
        };
        if bridged.session.fingerprint != new.fingerprint {
            return Ok(SessionClaim::Conflict);
        }
        if bridged.session.handed_over || bridged.session.ended.is_some() {
            return Ok(SessionClaim::Open(bridged.session.clone()));
        }
        if bridged.owner != owner && bridged.lease_until > epoch_millis_now() {
            return Ok(SessionClaim::Busy);
        }
        bridged.owner = owner.to_owned();
        bridged.lease_until = lease_end(lease);
        Ok(SessionClaim::Mine(bridged.session.clone()))
    }

    async fn save_session(&self, session: &BridgeSession, owner: &str) -> Result<(), StateError> {
        let mut tables = self.tables();
        let key = (session.store_id.clone(), session.id.clone());
        let bridged = tables
            .bridge
            .get_mut(&key)
            .filter(|b| b.owner == owner)
            .ok_or_else(|| {
                StateError::Unavailable(format!("lease on bridge session {} lost", session.id))
            })?;
        let ended = bridged.session.ended.clone();
        bridged.session = BridgeSession {
            ended,
            ..session.clone()
        };
        if session.handed_over {
            bridged.lease_until = 0;
        }
        Ok(())
    }

    async fn link_conversation(&self, session: &BridgeSession) -> Result<(), StateError> {
        if let Some(conversation) = &session.conversation_id {
            self.tables().bridged_conversations.insert(
                conversation.clone(),
                (session.store_id.clone(), session.id.clone()),
            );
        }
        Ok(())
    }

    async fn release_session(
        &self,
        store: &StoreId,
        id: &str,
        owner: &str,
    ) -> Result<(), StateError> {
        let mut tables = self.tables();
        if let Some(bridged) = tables.bridge.get_mut(&(store.clone(), id.to_owned()))
            && bridged.owner == owner
        {
            bridged.lease_until = 0;
        }
        Ok(())
    }

    async fn session(
        &self,
        store: &StoreId,
        id: &str,
    ) -> Result<Option<BridgeSession>, StateError> {
        let tables = self.tables();
        Ok(tables
            .bridge
            .get(&(store.clone(), id.to_owned()))
            .map(|b| b.session.clone()))
    }

    async fn session_owner(&self, id: &str) -> Result<Option<StoreId>, StateError> {
        Ok(self
            .tables()
            .bridge
            .keys()
            .find(|(_, session)| session == id)
            .map(|(store, _)| store.clone()))
    }

    async fn session_of_conversation(
        &self,
        conversation_id: &str,
    ) -> Result<Option<BridgeSession>, StateError> {
        let tables = self.tables();
        Ok(tables
            .bridged_conversations
            .get(conversation_id)
            .and_then(|key| tables.bridge.get(key))
            .map(|b| b.session.clone()))
    }

    async fn end_session(
        &self,
        store: &StoreId,
        id: &str,
        reason: &str,
    ) -> Result<BridgeSession, StateError> {
        let mut tables = self.tables();
        let bridged = tables
            .bridge
            .get_mut(&(store.clone(), id.to_owned()))
            .ok_or_else(|| StateError::Corrupt {
                key: id.to_owned(),
                reason: "no such bridge session".into(),
            })?;
        bridged
            .session
            .ended
            .get_or_insert_with(|| reason.to_owned());
        Ok(bridged.session.clone())
    }

    async fn record_event(
        &self,
        store: &StoreId,
        session: &str,
        key: &str,
        kind: &str,
        data: &serde_json::Value,
    ) -> Result<BridgeEvent, StateError> {
        let mut tables = self.tables();
        let bridged = tables
            .bridge
            .get_mut(&(store.clone(), session.to_owned()))
            .ok_or_else(|| StateError::Corrupt {
                key: session.to_owned(),
                reason: "no such bridge session".into(),
            })?;
        if let Some(&seq) = bridged.keys.get(key) {
            return Ok(bridged.events[seq as usize - 1].clone());
        }
        let event = BridgeEvent {
            seq: bridged.events.len() as u64 + 1,
            id: bridge_event_id(store, session, key),
            kind: kind.to_owned(),
            timestamp: now_rfc3339(),
            data: data.clone(),
        };
        bridged.keys.insert(key.to_owned(), event.seq);
        bridged.events.push(event.clone());
        Ok(event)
    }

    async fn events_after(
        &self,
        store: &StoreId,
        session: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<BridgeEvent>, StateError> {
        let tables = self.tables();
        Ok(tables
            .bridge
            .get(&(store.clone(), session.to_owned()))
            .map(|b| {
                b.events
                    .iter()
                    .filter(|e| e.seq > after)
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}
