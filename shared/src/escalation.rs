//! Hand-offs to humans, one implementation for every caller: the reply worker (the agent asked,
//! or failed), the escalate tool endpoint (an AI agent's tool call) and the dead-letter
//! consumer (a job that kept failing).
//!
//! Email: an internal note with the summary and the escalation tag, then the customer notice and
//! the unassignment (see [`escalate_ticket`]). Web Widget: the customer notice, then the
//! switchboard passed to the Agent Workspace with `first_message_id` and two tags for the
//! messaging ticket Zendesk opens: `deskmate_escalated` and one naming the conversation. The
//! summary cannot ride along (Conversations metadata is small and not a ticket note), so a
//! [`Job::HandoffNote`] finds that ticket by its conversation tag through the queue, retrying
//! with growing delays for a bounded time, and adds the summary as an internal note.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::agent::{CustomerProfile, TranscriptLine};
use crate::conversation_flow::{REPLY_TO_KEY, transcript as conversation_transcript};
use crate::domain::{BotState, ConversationsAccount, Job, StoreConfig, StoreId, Thread};
use crate::handoff::Handoff;
use crate::jobs::{JobError, Outcome};
use crate::queue::{JobQueue, QueueError};
use crate::state::{BotStates, ConversationsAccounts, StateError, StoreDirectory, WidgetRoutes};
use crate::ticket_flow::{
    ESCALATED_TAG, escalate_ticket, requester_profile, transcript as ticket_transcript,
};
use crate::zendesk::{
    BusinessMessage, ConversationDesk, ConversationDesks, MAX_MESSAGE_CHARS, Message, NewComment,
    TicketDesk, TicketDesks, TicketUpdate, ZendeskConnector, ZendeskError, split_for_messaging,
};

/// How many times the worker looks for a messaging ticket before giving up on its note.
pub const MAX_NOTE_ATTEMPTS: u32 = 8;

/// The tag that lets Deskmate find the messaging ticket Zendesk opens for a conversation.
pub fn conversation_tag(conversation_id: &str) -> String {
    let id: String = conversation_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("deskmate_conversation_{id}")
}

/// Why a human is needed, a summary for them, and what to tell the customer.
#[derive(Clone, Debug)]
pub struct HandoffRequest {
    pub reason: String,
    pub summary: String,
    /// The store's hand-off message when `None`.
    pub customer_message: Option<String>,
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
            HandoffError::Queue(err) => JobError::Transient(err.to_string()),
            other => JobError::Poison(other.to_string()),
        }
    }
}

/// Posts `markdown` as the store's bot, split to fit, every part marked with `reply_to`.
pub async fn post_as_bot(
    desk: &dyn ConversationDesk,
    store: &StoreConfig,
    conversation_id: &str,
    markdown: &str,
    reply_to: &str,
) -> Result<(), ZendeskError> {
    let mut metadata = Map::new();
    metadata.insert(REPLY_TO_KEY.into(), json!(reply_to));
    for part in split_for_messaging(markdown, MAX_MESSAGE_CHARS) {
        let message = BusinessMessage {
            display_name: store.display_name.clone(),
            avatar_url: store.avatar_url.clone(),
            markdown: part,
            metadata: metadata.clone(),
        };
        desk.post_message(conversation_id, &message).await?;
    }
    Ok(())
}

/// Where the hand-off happens and for whom.
pub struct ConversationHandoff<'a> {
    pub desk: &'a dyn ConversationDesk,
    pub queue: &'a dyn JobQueue,
    pub store: &'a StoreConfig,
    pub account: &'a str,
    pub conversation_id: &'a str,
}

impl ConversationHandoff<'_> {
    /// Tells the customer, passes control to the Agent Workspace and queues the note job.
    pub async fn hand_over(
        &self,
        messages: &[Message],
        note: String,
        notice: &str,
        reply_to: &str,
    ) -> Result<(), HandoffError> {
        post_as_bot(
            self.desk,
            self.store,
            self.conversation_id,
            notice,
            reply_to,
        )
        .await?;
        let mut metadata = Map::new();
        if let Some(first) = messages.first() {
            metadata.insert("first_message_id".into(), Value::String(first.id.clone()));
        }
        metadata.insert(
            "dataCapture.systemField.tags".into(),
            json!(format!(
                "{ESCALATED_TAG} {}",
                conversation_tag(self.conversation_id)
            )),
        );
        self.desk
            .pass_control(self.conversation_id, "next", metadata)
            .await?;
        let job = Job::HandoffNote {
            store_id: self.store.id.clone(),
            conversation_id: self.conversation_id.to_owned(),
            note,
            attempt: 1,
        };
        self.queue.enqueue(&job, note_retry_delay(1)).await?;
        Ok(())
    }
}

/// The first look is immediate; later ones wait 10 s more each time, up to a minute (about
/// four and a half minutes over all attempts).
fn note_retry_delay(attempt: u32) -> Duration {
    Duration::from_secs(u64::from(attempt.saturating_sub(1).min(6)) * 10)
}

/// The ports a hand-off needs when the caller has nothing fetched yet.
#[derive(Clone)]
pub struct Escalations {
    pub stores: Arc<dyn StoreDirectory>,
    pub accounts: Arc<dyn ConversationsAccounts>,
    pub widgets: Arc<dyn WidgetRoutes>,
    pub bot_states: Arc<dyn BotStates>,
    pub tickets: Arc<dyn TicketDesks>,
    pub conversations: Arc<dyn ConversationDesks>,
    pub queue: Arc<dyn JobQueue>,
}

fn note_for(
    request: &HandoffRequest,
    customer: &CustomerProfile,
    transcript: &[TranscriptLine],
) -> String {
    Handoff {
        reason: &request.reason,
        summary: &request.summary,
        customer,
        transcript,
    }
    .note()
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
        }
    }

    /// Hands `thread` of `store` to a human; refuses a thread that is not the store's.
    pub async fn escalate(
        &self,
        store: &StoreConfig,
        thread: &Thread,
        request: &HandoffRequest,
    ) -> Result<HandoffOutcome, HandoffError> {
        let outcome = match thread {
            Thread::Ticket(id) => self.escalate_ticket(store, *id, request).await?,
            Thread::Conversation(id) => self.escalate_conversation(store, id, request).await?,
        };
        if outcome == HandoffOutcome::Escalated {
            self.bot_states
                .set_bot_state(&store.id, thread, BotState::Escalated)
                .await?;
        }
        Ok(outcome)
    }

    async fn escalate_ticket(
        &self,
        store: &StoreConfig,
        ticket_id: u64,
        request: &HandoffRequest,
    ) -> Result<HandoffOutcome, HandoffError> {
        let desk = self.tickets.desk_for(store).await?;
        let ticket = match desk.ticket(ticket_id).await {
            Err(ZendeskError::NotFound) => return Err(HandoffError::NotFound("ticket")),
            other => other?,
        };
        if let Some(brand) = store.brand_id
            && ticket.brand_id != Some(brand)
        {
            return Err(HandoffError::Forbidden(format!(
                "ticket {ticket_id} does not belong to store {} (brand {brand})",
                store.id
            )));
        }
        let escalated = ticket.tags.iter().any(|t| t == ESCALATED_TAG);
        if escalated && ticket.assignee_id != Some(store.bot_user_id) {
            return Ok(HandoffOutcome::AlreadyEscalated);
        }
        let thread = desk.comments(ticket_id).await?;
        let note = note_for(
            request,
            &requester_profile(&ticket, &thread),
            &ticket_transcript(&thread, store.bot_user_id),
        );
        let notice = request
            .customer_message
            .as_deref()
            .unwrap_or(&store.handoff_message);
        escalate_ticket(desk.as_ref(), store, &ticket, Some(note), notice).await?;
        Ok(HandoffOutcome::Escalated)
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

    async fn escalate_conversation(
        &self,
        store: &StoreConfig,
        conversation_id: &str,
        request: &HandoffRequest,
    ) -> Result<HandoffOutcome, HandoffError> {
        let account = self.conversations_account(store).await?;
        let desk = self.conversations.desk_for(&account).await?;
        let conversation = match desk.conversation(conversation_id).await {
            Err(ZendeskError::NotFound) => return Err(HandoffError::NotFound("conversation")),
            other => other?,
        };
        let messages = desk.recent_messages(conversation_id).await?;
        let widget = messages
            .iter()
            .filter(|m| m.from_user())
            .find_map(|m| m.source.as_ref().and_then(|s| s.integration_id.clone()));
        let owner = match &widget {
            Some(widget) => {
                self.widgets
                    .route_widget(&account.subdomain, widget)
                    .await?
            }
            None => None,
        };
        if owner.as_ref() != Some(&store.id) {
            return Err(HandoffError::Forbidden(format!(
                "conversation {conversation_id} is not answered by store {}",
                store.id
            )));
        }
        let in_control = conversation
            .active_switchboard_integration
            .is_some_and(|active| active.integration_id == account.integration_id);
        if !in_control {
            return Ok(HandoffOutcome::AlreadyEscalated);
        }
        let customer = CustomerProfile {
            name: messages
                .iter()
                .rev()
                .filter(|m| m.from_user())
                .find_map(|m| m.author.display_name.clone()),
            email: None,
        };
        let note = note_for(request, &customer, &conversation_transcript(&messages));
        let notice = request
            .customer_message
            .as_deref()
            .unwrap_or(&store.handoff_message);
        let handoff = ConversationHandoff {
            desk: desk.as_ref(),
            queue: self.queue.as_ref(),
            store,
            account: &account.subdomain,
            conversation_id,
        };
        let reply_to = messages.last().map_or("handoff", |m| m.id.as_str());
        handoff.hand_over(&messages, note, notice, reply_to).await?;
        Ok(HandoffOutcome::Escalated)
    }

    /// Adds the hand-off summary to the messaging ticket once Zendesk has opened it.
    pub async fn attach_messaging_note(
        &self,
        store_id: &StoreId,
        conversation_id: &str,
        note: &str,
        attempt: u32,
    ) -> Result<Outcome, JobError> {
        let Some(store) = self.stores.store(store_id).await? else {
            return Err(JobError::Poison(format!(
                "store {store_id} is not connected"
            )));
        };
        let desk = self.tickets.desk_for(&store).await?;
        let found = desk
            .tickets_tagged(&conversation_tag(conversation_id))
            .await?;
        let Some(&ticket_id) = found.iter().max() else {
            if attempt >= MAX_NOTE_ATTEMPTS {
                return Err(JobError::Poison(format!(
                    "no messaging ticket for conversation {conversation_id} after {attempt} attempts; the summary note was not added"
                )));
            }
            let retry = Job::HandoffNote {
                store_id: store_id.clone(),
                conversation_id: conversation_id.to_owned(),
                note: note.to_owned(),
                attempt: attempt + 1,
            };
            self.queue
                .enqueue(&retry, note_retry_delay(attempt + 1))
                .await
                .map_err(|err| JobError::Transient(err.to_string()))?;
            return Ok(Outcome::Skipped(format!(
                "messaging ticket not found yet (attempt {attempt})"
            )));
        };
        if note_already_added(desk.as_ref(), ticket_id, store.bot_user_id).await? {
            return Ok(Outcome::Skipped(
                "the summary note is already on the ticket".into(),
            ));
        }
        let update = TicketUpdate {
            comment: Some(NewComment {
                html_body: crate::render::markdown_to_safe_html(
                    &crate::ticket_flow::escape_markdown(note),
                ),
                public: false,
                author_id: store.bot_user_id,
            }),
            ..TicketUpdate::default()
        };
        desk.update_ticket(ticket_id, &update).await?;
        Ok(Outcome::NoteAdded { ticket_id })
    }
}

async fn note_already_added(
    desk: &dyn TicketDesk,
    ticket_id: u64,
    bot_user_id: u64,
) -> Result<bool, ZendeskError> {
    let thread = desk.comments(ticket_id).await?;
    Ok(thread.comments.iter().any(|c| {
        !c.public && c.author_id == bot_user_id && c.body.starts_with(crate::handoff::NOTE_HEADLINE)
    }))
}
