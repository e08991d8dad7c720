//! In-memory state for `deskmate dev`, the demo and unit tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    BotStates, ClaimOutcome, DeliveryLog, ReplyClaims, StateError, StoreDirectory,
    epoch_seconds_now,
};
use crate::domain::{BotState, StoreConfig, StoreId, Thread};

#[derive(Default)]
pub struct MemoryState {
    inner: Mutex<Tables>,
}

#[derive(Default)]
struct Tables {
    stores: HashMap<StoreId, StoreConfig>,
    deliveries: HashMap<String, u64>,
    bot_states: HashMap<(StoreId, Thread), BotState>,
    claims: HashMap<(StoreId, Thread, String), Claim>,
}

struct Claim {
    owner: String,
    lease_until: u64,
    answered: bool,
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
            .copied()
            .unwrap_or(BotState::Bot))
    }

    async fn set_bot_state(
        &self,
        store: &StoreId,
        thread: &Thread,
        state: BotState,
    ) -> Result<(), StateError> {
        self.tables()
            .bot_states
            .insert((store.clone(), thread.clone()), state);
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
        let now = epoch_seconds_now();
        let key = (store.clone(), thread.clone(), message_id.to_owned());
        let mut tables = self.tables();
        match tables.claims.get(&key) {
            Some(claim) if claim.answered => Ok(ClaimOutcome::AlreadyAnswered),
            Some(claim) if claim.lease_until > now => Ok(ClaimOutcome::HeldByAnother),
            _ => {
                tables.claims.insert(
                    key,
                    Claim {
                        owner: owner.to_owned(),
                        lease_until: now + lease.as_secs(),
                        answered: false,
                    },
                );
                Ok(ClaimOutcome::Acquired)
            }
        }
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
        let mut tables = self.tables();
        if tables
            .claims
            .get(&key)
            .is_some_and(|c| c.owner == owner && !c.answered)
        {
            tables.claims.remove(&key);
        }
        Ok(())
    }
}
