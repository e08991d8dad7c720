//! Hand-offs to humans: one protocol for both paths and every caller — the reply worker (the
//! agent asked, or failed), the escalate tool endpoint, and the dead-letter consumer.
//!
//! 1. The hand-off is **recorded** (intent: note, notice, reason) with a conditional write
//!    before the customer hears of it. Of concurrent hand-offs of one thread, one records it;
//!    the others answer "already escalated".
//! 2. A follow-up [`Job::Handoff`] is queued at once: whatever this attempt does not finish
//!    (it crashed, Zendesk failed), that job or its redelivery does.
//! 3. The steps run, each checked in Zendesk first so a resumed hand-off does only what is
//!    missing: email — the internal note with the escalation tag, then the notice and the
//!    unassignment ([`ticket`]); Web Widget — the notice (marked with the hand-off's id), then
//!    the switchboard passed to the Agent Workspace, only while Deskmate holds it
//!    ([`conversation`]).
//! 4. The hand-off is marked finished; for a conversation the follow-up job then adds the
//!    summary note to the messaging ticket Zendesk opens (found by its conversation tag), once.

mod conversation;
mod note;
mod ticket;

use std::sync::Arc;
use std::time::Duration;

pub use conversation::{AGENT_WORKSPACE, OwnedConversation};
pub use note::{Handoff, MAX_NOTE_CHARS, NOTE_HEADLINE};

use crate::agent::{CustomerProfile, Escalate, TranscriptLine};
pub use crate::config::HandoffTiming;
use crate::domain::{ConversationsAccount, HandoffIntent, Job, StoreConfig, StoreId, Thread};
use crate::failure::{JobError, Outcome};
use crate::queue::{JobQueue, QueueError};
use crate::reply_once::attempt_owner;
use crate::state::{
    BotStates, ConversationsAccounts, HandoffLease, HandoffStart, StateError, StoreDirectory,
    WidgetRoutes,
};
use crate::zendesk::{ConversationDesks, TicketDesks, ZendeskConnector, ZendeskError};

/// How many times the follow-up job looks for a messaging ticket before giving up on its note.
pub const MAX_NOTE_ATTEMPTS: u32 = 8;

/// Why a human is needed, a summary for them, and what to tell the customer.
#[derive(Clone, Debug)]
pub struct HandoffRequest {
    pub reason: String,
    pub summary: String,
    /// The store's hand-off message when `None`.
    pub customer_message: Option<String>,
}

impl From<Escalate> for HandoffRequest {
    fn from(escalate: Escalate) -> Self {
        Self {
            reason: escalate.reason,
            summary: escalate.summary,
            customer_message: escalate.notice,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum HandoffOutcome {
    Escalated,
    AlreadyEscalated,
}

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("Zendesk has no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("the Web Widget is not set up for the Zendesk account {0}")]
    NoMessaging(String),
    #[error(transparent)]
    Zendesk(#[from] ZendeskError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<HandoffError> for JobError {
    fn from(err: HandoffError) -> Self {
        match err {
            HandoffError::Zendesk(err) => err.into(),
            HandoffError::State(err) => err.into(),
            HandoffError::Queue(err) => err.into(),
            other => JobError::NotActionable(other.to_string()),
        }
    }
}

impl HandoffTiming {
    /// The wait before look number `attempt`: 0, 10, 20, … 60 s by default (about four and a
    /// half minutes over all attempts).
    fn delay(&self, attempt: u32) -> Duration {
        self.recheck * attempt.saturating_sub(1).min(6)
    }
}

/// The ports a hand-off needs.
#[derive(Clone)]
pub struct Escalations {
    pub stores: Arc<dyn StoreDirectory>,
    pub accounts: Arc<dyn ConversationsAccounts>,
    pub widgets: Arc<dyn WidgetRoutes>,
    pub bot_states: Arc<dyn BotStates>,
    pub tickets: Arc<dyn TicketDesks>,
    pub conversations: Arc<dyn ConversationDesks>,
    pub queue: Arc<dyn JobQueue>,
    pub timing: HandoffTiming,
}

impl Escalations {
    pub fn new<S>(state: Arc<S>, zendesk: Arc<ZendeskConnector>, queue: Arc<dyn JobQueue>) -> Self
    where
        S: StoreDirectory + ConversationsAccounts + WidgetRoutes + BotStates + 'static,
    {
        Self {
            stores: state.clone(),
            accounts: state.clone(),
            widgets: state.clone(),
            bot_states: state,
            tickets: zendesk.clone(),
            conversations: zendesk,
            queue,
            timing: HandoffTiming::default(),
        }
    }

    pub fn with_timing(mut self, timing: HandoffTiming) -> Self {
        self.timing = timing;
        self
    }

    /// Hands `thread` of `store` to a human on behalf of a caller that has read nothing yet
    /// (the escalate tool, the dead-letter consumer); refuses a thread that is not the store's.
    pub async fn escalate(
        &self,
        store: &StoreConfig,
        thread: &Thread,
        request: &HandoffRequest,
    ) -> Result<HandoffOutcome, HandoffError> {
        let intent = match thread {
            Thread::Ticket(id) => self.ticket_intent(store, *id, request).await?,
            Thread::Conversation(id) => self.conversation_intent(store, id, request).await?,
        };
        match intent {
            Some(intent) => self.hand_off(store, thread, intent).await,
            None => Ok(HandoffOutcome::AlreadyEscalated),
        }
    }

    /// Records `intent` and runs its steps; a hand-off already under way or done wins.
    pub async fn hand_off(
        &self,
        store: &StoreConfig,
        thread: &Thread,
        intent: HandoffIntent,
    ) -> Result<HandoffOutcome, HandoffError> {
        let owner = attempt_owner();
        let lease = self.timing.lease;
        let intent = match self
            .bot_states
            .begin_handoff(&store.id, thread, &intent, &owner, lease)
            .await?
        {
            HandoffStart::Started => {
                crate::measures::handoff(&store.id, &intent.reason);
                intent
            }
            HandoffStart::AlreadyDone => return Ok(HandoffOutcome::AlreadyEscalated),
            // An earlier hand-off whose attempt stopped is finished here; a live one is left
            // to its owner.
            HandoffStart::UnderWay => {
                match self
                    .bot_states
                    .take_handoff(&store.id, thread, &owner, lease)
                    .await?
                {
                    HandoffLease::Resume(earlier) => earlier,
                    _ => return Ok(HandoffOutcome::AlreadyEscalated),
                }
            }
        };
        let follow_up = Job::Handoff {
            store_id: store.id.clone(),
            thread: thread.clone(),
            attempt: 1,
        };
        if let Err(err) = self.queue.enqueue(&follow_up, self.timing.delay(1)).await {
            self.bot_states
                .release_handoff(&store.id, thread, &owner)
                .await?;
            return Err(err.into());
        }
        self.run_steps(store, thread, &intent, &owner).await?;
        Ok(HandoffOutcome::Escalated)
    }

    /// Finishes the thread's recorded hand-off if it is unfinished and nobody else is on it:
    /// what a redelivered job does when it finds a hand-off under way.
    pub async fn resume(&self, store: &StoreConfig, thread: &Thread) -> Result<Outcome, JobError> {
        let owner = attempt_owner();
        match self
            .bot_states
            .take_handoff(&store.id, thread, &owner, self.timing.lease)
            .await?
        {
            HandoffLease::Resume(intent) => {
                self.run_steps(store, thread, &intent, &owner).await?;
                Ok(Outcome::Escalated {
                    reason: intent.reason,
                })
            }
            HandoffLease::HeldByAnother => Err(JobError::Busy(format!("the hand-off of {thread}"))),
            HandoffLease::Finished(_) | HandoffLease::None => {
                Ok(Outcome::Skipped("the thread is with a human".into()))
            }
        }
    }

    /// The follow-up job: finishes an unfinished hand-off, then adds a conversation's summary
    /// note to its messaging ticket, looking again later while Zendesk has not opened it.
    pub async fn follow_up(
        &self,
        store_id: &StoreId,
        thread: &Thread,
        attempt: u32,
    ) -> Result<Outcome, JobError> {
        let Some(store) = self.stores.store(store_id).await? else {
            return Err(JobError::NotActionable(format!(
                "store {store_id} is not connected"
            )));
        };
        let owner = attempt_owner();
        let intent = match self
            .bot_states
            .take_handoff(store_id, thread, &owner, self.timing.lease)
            .await?
        {
            HandoffLease::None => {
                return Ok(Outcome::Skipped("no hand-off is recorded".into()));
            }
            HandoffLease::HeldByAnother => {
                return Err(JobError::Busy(format!("the hand-off of {thread}")));
            }
            HandoffLease::Resume(intent) => {
                self.run_steps(&store, thread, &intent, &owner).await?;
                intent
            }
            HandoffLease::Finished(intent) => intent,
        };
        let Thread::Conversation(conversation_id) = thread else {
            return Ok(Outcome::Skipped("the ticket is with a human".into()));
        };
        match self
            .attach_messaging_note(&store, conversation_id, &intent.note)
            .await?
        {
            Some(ticket_id) => Ok(Outcome::NoteAdded { ticket_id }),
            None if attempt >= MAX_NOTE_ATTEMPTS => {
                Err(JobError::Zendesk(ZendeskError::Rejected {
                    status: 404,
                    message: format!(
                        "no messaging ticket for conversation {conversation_id} after {attempt} looks; the hand-off summary was not added"
                    ),
                }))
            }
            None => {
                let again = Job::Handoff {
                    store_id: store_id.clone(),
                    thread: thread.clone(),
                    attempt: attempt + 1,
                };
                self.queue
                    .enqueue(&again, self.timing.delay(attempt + 1))
                    .await?;
                Ok(Outcome::Skipped(format!(
                    "messaging ticket not opened yet (look {attempt})"
                )))
            }
        }
    }

    /// Runs the steps that are missing, then marks the hand-off finished; on failure the lease
    /// ends so the follow-up job or a redelivery resumes at once.
    async fn run_steps(
        &self,
        store: &StoreConfig,
        thread: &Thread,
        intent: &HandoffIntent,
        owner: &str,
    ) -> Result<(), HandoffError> {
        let steps = match thread {
            Thread::Ticket(id) => self.finish_ticket(store, *id, intent).await,
            Thread::Conversation(id) => self.finish_conversation(store, id, intent).await,
        };
        if let Err(err) = steps {
            self.bot_states
                .release_handoff(&store.id, thread, owner)
                .await?;
            return Err(err);
        }
        self.bot_states.finish_handoff(&store.id, thread).await?;
        Ok(())
    }

    async fn conversations_account(
        &self,
        store: &StoreConfig,
    ) -> Result<ConversationsAccount, HandoffError> {
        self.accounts
            .account(&store.subdomain)
            .await?
            .ok_or_else(|| HandoffError::NoMessaging(store.subdomain.clone()))
    }
}

/// A fresh id for a hand-off, marking its notice to the customer.
fn handoff_id() -> String {
    attempt_owner()
}

/// The intent of a hand-off requested by `request`, over what the customer and bot said.
pub fn intent_for(
    store: &StoreConfig,
    request: &HandoffRequest,
    customer: &CustomerProfile,
    transcript: &[TranscriptLine],
    first_message_id: Option<String>,
) -> HandoffIntent {
    let note = Handoff {
        reason: &request.reason,
        summary: &request.summary,
        customer,
        transcript,
    };
    HandoffIntent {
        id: handoff_id(),
        reason: request.reason.clone(),
        note: note.note(),
        notice: request
            .customer_message
            .clone()
            .unwrap_or_else(|| store.handoff_message.clone()),
        first_message_id,
    }
}
