//! The Web Widget path's rules: answer customers only while Deskmate holds the switchboard,
//! welcome new conversations, answer a burst of messages once, finish a long answer that was
//! cut short, and stay silent when a human took the conversation while the agent thought.

use std::sync::Arc;

use crate::agent::{AgentProvider, AgentTurn, Channel, CustomerProfile, Decision, ask_agent};
use crate::conversation_thread::{
    WELCOME, human_wrote_after, interrupted_reply, post_missing_parts, posted, transcript,
    unanswered,
};
use crate::domain::{
    BotState, ConversationEvent, ConversationsAccount, StoreConfig, StoreId, Thread,
};
use crate::failure::{JobError, Outcome};
use crate::handoff::{Escalations, HandoffRequest, intent_for};
use crate::reply_once::{self, Claim, Claimed, ReplierSettings};
use crate::state::{BotStates, ConversationsAccounts, ReplyClaims, StoreDirectory};
use crate::zendesk::{ConversationDesk, ConversationDesks, Message};

#[derive(Clone)]
pub struct ConversationReplier {
    pub stores: Arc<dyn StoreDirectory>,
    pub accounts: Arc<dyn ConversationsAccounts>,
    pub bot_states: Arc<dyn BotStates>,
    pub claims: Arc<dyn ReplyClaims>,
    pub desks: Arc<dyn ConversationDesks>,
    pub agents: Arc<dyn AgentProvider>,
    pub escalations: Escalations,
    pub settings: ReplierSettings,
}

/// One conversation job's context.
struct Turn<'a> {
    store: &'a StoreConfig,
    account: &'a ConversationsAccount,
    desk: &'a dyn ConversationDesk,
    thread: Thread,
    conversation_id: &'a str,
    owner: &'a str,
}

impl Turn<'_> {
    /// Whether Deskmate may still speak for the customer message `answering`: it holds the
    /// switchboard and no human wrote since. Read fresh, just before posting.
    async fn still_ours(&self, answering: &str) -> Result<Option<Vec<Message>>, JobError> {
        let conversation = self.desk.conversation(self.conversation_id).await?;
        if !conversation.controlled_by(&self.account.integration_id) {
            return Ok(None);
        }
        let messages = self.desk.recent_messages(self.conversation_id).await?;
        Ok((!human_wrote_after(&messages, answering)).then_some(messages))
    }
}

impl ConversationReplier {
    pub async fn handle(
        &self,
        store_id: &StoreId,
        account: &str,
        conversation_id: &str,
        event: &ConversationEvent,
        owner: &str,
    ) -> Result<Outcome, JobError> {
        let Some(store) = self.stores.store(store_id).await? else {
            return Err(JobError::NotActionable(format!(
                "store {store_id} is not connected"
            )));
        };
        let Some(settings) = self.accounts.account(account).await? else {
            return Err(JobError::NotActionable(format!(
                "account {account} has no Conversations settings"
            )));
        };
        // The job's routing came from a webhook event: check in Zendesk that the conversation's
        // widget is this store's before a word is said. A new conversation's welcome is the one
        // thing done before the customer wrote, when there is nothing to check yet.
        let desk = self.desks.desk_for(&settings).await?;
        let messages = desk.recent_messages(conversation_id).await?;
        let welcome_only =
            *event == ConversationEvent::Created && !messages.iter().any(Message::from_user);
        if !welcome_only
            && self
                .escalations
                .conversation_owner(account, &messages)
                .await?
                .as_ref()
                != Some(store_id)
        {
            tracing::warn!(store_id = %store_id, conversation_id = ?conversation_id, "the conversation's widget is not this store's; staying silent");
            return Ok(Outcome::Skipped(
                "the conversation's widget is not answered by this store".into(),
            ));
        }
        let thread = Thread::Conversation(conversation_id.to_owned());
        let state = self.bot_states.bot_state(store_id, &thread).await?;
        if state == BotState::HandingOff {
            return self.escalations.resume(&store, &thread).await;
        }
        let conversation = desk.conversation(conversation_id).await?;
        if !conversation.controlled_by(&settings.integration_id) {
            return Ok(Outcome::Skipped(
                "another switchboard integration is in control".into(),
            ));
        }
        if state == BotState::Escalated {
            // Control came back to Deskmate: a human closed the ticket.
            self.bot_states
                .set_bot_state(store_id, &thread, BotState::Resumed)
                .await?;
        }
        let turn = Turn {
            store: &store,
            account: &settings,
            desk: desk.as_ref(),
            thread,
            conversation_id,
            owner,
        };
        match event {
            ConversationEvent::Created => self.welcome(&turn, &messages).await,
            ConversationEvent::UserMessage { .. } => {
                if let Some(cut_short) = interrupted_reply(&messages) {
                    return self.finish_cut_short(&turn, cut_short, &messages).await;
                }
                let Some(newest) = unanswered(&messages).last() else {
                    return Ok(Outcome::Skipped(
                        "no customer message is waiting for an answer".into(),
                    ));
                };
                let Claimed::Mine(claim) = self.claim(&turn, &newest.id).await? else {
                    return Ok(Outcome::Skipped(format!(
                        "message {} is answered",
                        newest.id
                    )));
                };
                let answered = self.answer(&turn, &messages, &newest.id, &claim).await;
                claim.settle(answered).await
            }
        }
    }

    async fn claim<'a>(
        &'a self,
        turn: &'a Turn<'_>,
        message_id: &'a str,
    ) -> Result<Claimed<'a>, JobError> {
        reply_once::claim(
            self.claims.as_ref(),
            &turn.store.id,
            &turn.thread,
            message_id,
            turn.owner,
            self.settings.claim_lease,
        )
        .await
    }

    async fn welcome(&self, turn: &Turn<'_>, messages: &[Message]) -> Result<Outcome, JobError> {
        if posted(messages, WELCOME) {
            return Ok(Outcome::Skipped(
                "the welcome message was already sent".into(),
            ));
        }
        if messages.iter().any(Message::from_user) {
            return Ok(Outcome::Skipped(
                "the customer already wrote; the answer greets them".into(),
            ));
        }
        let Claimed::Mine(claim) = self.claim(turn, WELCOME).await? else {
            return Ok(Outcome::Skipped("the welcome message was sent".into()));
        };
        let welcomed = post_missing_parts(
            turn.desk,
            turn.store,
            turn.conversation_id,
            &turn.store.welcome_message,
            WELCOME,
            messages,
        )
        .await
        .map(|()| Outcome::Welcomed)
        .map_err(JobError::from);
        claim.settle(welcomed).await
    }

    /// The newest message is part of an answer whose other parts are missing (an attempt
    /// stopped between parts): post the rest of the answer that attempt recorded.
    async fn finish_cut_short(
        &self,
        turn: &Turn<'_>,
        reply_to: &str,
        messages: &[Message],
    ) -> Result<Outcome, JobError> {
        let Claimed::Mine(claim) = self.claim(turn, reply_to).await? else {
            return Ok(Outcome::Skipped(format!("message {reply_to} is answered")));
        };
        let finished = match claim.recorded.as_deref() {
            Some(answer) => post_missing_parts(
                turn.desk,
                turn.store,
                turn.conversation_id,
                answer,
                reply_to,
                messages,
            )
            .await
            .map(|()| Outcome::Replied {
                to_message: reply_to.to_owned(),
            })
            .map_err(JobError::from),
            None => Ok(Outcome::Skipped(
                "the rest of a cut-short answer was not recorded".into(),
            )),
        };
        claim.settle(finished).await
    }

    async fn answer(
        &self,
        turn: &Turn<'_>,
        messages: &[Message],
        reply_to: &str,
        claim: &Claim<'_>,
    ) -> Result<Outcome, JobError> {
        let customer = CustomerProfile {
            name: unanswered(messages)
                .iter()
                .rev()
                .find_map(|m| m.author.display_name.clone()),
            email: None,
        };
        let agent_turn = AgentTurn {
            channel: Channel::Messaging,
            instructions: turn.store.instructions.clone(),
            customer,
            transcript: transcript(messages),
        };
        let decision = match &claim.recorded {
            Some(recorded) => Decision::Reply(recorded.clone()),
            None => {
                if let Err(err) = turn.desk.typing_started(turn.conversation_id).await {
                    tracing::debug!(error = %err, "typing indicator not shown");
                }
                Decision::from_answer(
                    ask_agent(
                        self.agents.as_ref(),
                        turn.store,
                        &agent_turn,
                        self.settings.agent_timeout,
                    )
                    .await,
                )
            }
        };
        if let Decision::Reply(reply) = &decision {
            claim.record(reply).await?;
        }
        let Some(fresh) = turn.still_ours(reply_to).await? else {
            return Ok(Outcome::Skipped(
                "a human took the conversation while the agent was thinking".into(),
            ));
        };
        match decision {
            Decision::Reply(reply) => {
                post_missing_parts(
                    turn.desk,
                    turn.store,
                    turn.conversation_id,
                    &reply,
                    reply_to,
                    &fresh,
                )
                .await?;
                Ok(Outcome::Replied {
                    to_message: reply_to.to_owned(),
                })
            }
            Decision::Escalate(escalate) => {
                let request = HandoffRequest::from(escalate);
                let intent = intent_for(
                    turn.store,
                    &request,
                    &agent_turn.customer,
                    &agent_turn.transcript,
                    messages.first().map(|m| m.id.clone()),
                );
                self.escalations
                    .hand_off(turn.store, &turn.thread, intent)
                    .await?;
                Ok(Outcome::Escalated {
                    reason: request.reason,
                })
            }
        }
    }
}
