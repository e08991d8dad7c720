//! The Web Widget path's rules: answer customers only while Deskmate holds the switchboard,
//! welcome new conversations, answer a burst of messages once, and mark every message the bot
//! sends so a retry can see it.

use std::sync::Arc;

use crate::agent::{
    AgentProvider, AgentTurn, Channel, CustomerProfile, Decision, Escalate, Speaker,
    TranscriptLine, ask_agent,
};
use crate::domain::{
    BotState, ConversationEvent, ConversationsAccount, StoreConfig, StoreId, Thread,
};
use crate::escalation::{ConversationHandoff, post_as_bot};
use crate::handoff::Handoff;
use crate::jobs::{JobError, Outcome};
use crate::queue::JobQueue;
use crate::state::{BotStates, ClaimOutcome, ConversationsAccounts, ReplyClaims, StoreDirectory};
use crate::ticket_flow::ReplierSettings;
use crate::zendesk::{ConversationDesk, ConversationDesks, Message};

/// Metadata key on every message Deskmate sends: the customer message it answers (or
/// `welcome`), so a retry can see a reply it already posted.
pub const REPLY_TO_KEY: &str = "deskmate_reply_to";
const WELCOME: &str = "welcome";

/// The customer messages since the business (bot or agent) last wrote, oldest first.
pub fn unanswered(messages: &[Message]) -> &[Message] {
    let start = messages
        .iter()
        .rposition(|message| !message.from_user())
        .map_or(0, |i| i + 1);
    &messages[start..]
}

pub fn transcript(messages: &[Message]) -> Vec<TranscriptLine> {
    messages
        .iter()
        .filter_map(|message| {
            let text = message.content.text.clone()?;
            let speaker = if message.from_user() {
                Speaker::Customer
            } else if message.metadata_text(REPLY_TO_KEY).is_some() {
                Speaker::Bot
            } else {
                Speaker::HumanAgent
            };
            Some(TranscriptLine { speaker, text })
        })
        .collect()
}

#[derive(Clone)]
pub struct ConversationReplier {
    pub stores: Arc<dyn StoreDirectory>,
    pub accounts: Arc<dyn ConversationsAccounts>,
    pub bot_states: Arc<dyn BotStates>,
    pub claims: Arc<dyn ReplyClaims>,
    pub desks: Arc<dyn ConversationDesks>,
    pub agents: Arc<dyn AgentProvider>,
    /// Where hand-offs queue the job that adds their summary to the messaging ticket.
    pub queue: Arc<dyn JobQueue>,
    pub settings: ReplierSettings,
}

/// One conversation job's context.
struct Turn<'a> {
    store: &'a StoreConfig,
    desk: &'a dyn ConversationDesk,
    account: &'a str,
    conversation_id: &'a str,
}

impl Turn<'_> {
    async fn say(&self, markdown: &str, reply_to: &str) -> Result<(), JobError> {
        Ok(post_as_bot(
            self.desk,
            self.store,
            self.conversation_id,
            markdown,
            reply_to,
        )
        .await?)
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
            return Err(JobError::Poison(format!(
                "store {store_id} is not connected"
            )));
        };
        let Some(settings) = self.accounts.account(account).await? else {
            return Err(JobError::Poison(format!(
                "account {account} has no Conversations settings"
            )));
        };
        let desk = self.desks.desk_for(&settings).await?;
        if !self
            .bot_in_control(desk.as_ref(), &settings, conversation_id)
            .await?
        {
            return Ok(Outcome::Skipped(
                "another switchboard integration is in control".into(),
            ));
        }
        let thread = Thread::Conversation(conversation_id.to_owned());
        if self.bot_states.bot_state(store_id, &thread).await? == BotState::Escalated {
            // Control came back to Deskmate: a human closed the ticket.
            self.bot_states
                .set_bot_state(store_id, &thread, BotState::Resumed)
                .await?;
        }
        let turn = Turn {
            store: &store,
            desk: desk.as_ref(),
            account,
            conversation_id,
        };
        let messages = desk.recent_messages(conversation_id).await?;
        let (claim_key, pending) = match event {
            ConversationEvent::Created => {
                if messages
                    .iter()
                    .any(|m| m.metadata_text(REPLY_TO_KEY) == Some(WELCOME))
                {
                    return Ok(Outcome::Skipped(
                        "the welcome message was already sent".into(),
                    ));
                }
                if messages.iter().any(Message::from_user) {
                    return Ok(Outcome::Skipped(
                        "the customer already wrote; the answer greets them".into(),
                    ));
                }
                (WELCOME.to_owned(), None)
            }
            ConversationEvent::UserMessage { .. } => {
                let pending = unanswered(&messages);
                let Some(newest) = pending.last() else {
                    return Ok(Outcome::Skipped(
                        "no customer message is waiting for an answer".into(),
                    ));
                };
                (newest.id.clone(), Some(pending))
            }
        };
        let claim = self
            .claims
            .claim_reply(
                store_id,
                &thread,
                &claim_key,
                owner,
                self.settings.claim_lease,
            )
            .await?;
        if claim != ClaimOutcome::Acquired {
            return Ok(Outcome::Skipped(format!(
                "message {claim_key} is answered or being answered"
            )));
        }
        let result = match pending {
            None => turn
                .say(&store.welcome_message, WELCOME)
                .await
                .map(|()| Outcome::Welcomed),
            Some(_) => self.answer(&turn, &messages, &claim_key).await,
        };
        match &result {
            Ok(_) => {
                self.claims
                    .finish_reply(store_id, &thread, &claim_key, owner)
                    .await?
            }
            Err(_) => {
                self.claims
                    .release_reply(store_id, &thread, &claim_key, owner)
                    .await?
            }
        }
        result
    }

    /// Deskmate answers only while its own integration holds the switchboard.
    async fn bot_in_control(
        &self,
        desk: &dyn ConversationDesk,
        settings: &ConversationsAccount,
        conversation_id: &str,
    ) -> Result<bool, JobError> {
        let conversation = desk.conversation(conversation_id).await?;
        Ok(conversation
            .active_switchboard_integration
            .is_some_and(|active| active.integration_id == settings.integration_id))
    }

    async fn answer(
        &self,
        turn: &Turn<'_>,
        messages: &[Message],
        reply_to: &str,
    ) -> Result<Outcome, JobError> {
        if let Err(err) = turn.desk.typing_started(turn.conversation_id).await {
            tracing::debug!(error = %err, "typing indicator not shown");
        }
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
        let answer = ask_agent(
            self.agents.as_ref(),
            turn.store,
            &agent_turn,
            self.settings.agent_timeout,
        )
        .await;
        let escalate = match Decision::from_answer(answer) {
            Decision::Reply(reply) => {
                turn.say(&reply, reply_to).await?;
                return Ok(Outcome::Replied {
                    to_message: reply_to.to_owned(),
                });
            }
            Decision::Escalate(escalate) => escalate,
        };
        self.hand_to_agent_workspace(turn, messages, &agent_turn, reply_to, escalate)
            .await
    }

    /// Tells the customer, then passes the switchboard to the next integration (the Agent
    /// Workspace) with the whole conversation and the escalation tag for the messaging ticket.
    async fn hand_to_agent_workspace(
        &self,
        turn: &Turn<'_>,
        messages: &[Message],
        agent_turn: &AgentTurn,
        reply_to: &str,
        escalate: Escalate,
    ) -> Result<Outcome, JobError> {
        let notice = escalate
            .notice
            .clone()
            .unwrap_or_else(|| turn.store.handoff_message.clone());
        let note = Handoff {
            reason: &escalate.reason,
            summary: &escalate.summary,
            customer: &agent_turn.customer,
            transcript: &agent_turn.transcript,
        }
        .note();
        let handoff = ConversationHandoff {
            desk: turn.desk,
            queue: self.queue.as_ref(),
            store: turn.store,
            account: turn.account,
            conversation_id: turn.conversation_id,
        };
        handoff.hand_over(messages, note, &notice, reply_to).await?;
        self.bot_states
            .set_bot_state(
                &turn.store.id,
                &Thread::Conversation(turn.conversation_id.into()),
                BotState::Escalated,
            )
            .await?;
        Ok(Outcome::Escalated {
            reason: escalate.reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::zendesk::{MessageAuthor, MessageContent};

    fn message(id: &str, author: &str, reply_to: Option<&str>) -> Message {
        Message {
            id: id.into(),
            author: MessageAuthor {
                kind: author.into(),
                user_id: None,
                display_name: None,
            },
            content: MessageContent {
                kind: "text".into(),
                text: Some(format!("text {id}")),
            },
            source: None,
            metadata: reply_to.map(|r| {
                let mut map = Map::new();
                map.insert(REPLY_TO_KEY.into(), json!(r));
                map
            }),
        }
    }

    #[test]
    fn only_messages_after_the_last_business_message_are_waiting() {
        let messages = vec![
            message("1", "user", None),
            message("2", "business", Some("1")),
            message("3", "user", None),
            message("4", "user", None),
        ];
        let waiting: Vec<&str> = unanswered(&messages)
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(waiting, ["3", "4"]);
        assert!(unanswered(&messages[..2]).is_empty());
        let speakers: Vec<Speaker> = transcript(&[
            message("a", "business", None),
            message("b", "business", Some("x")),
        ])
        .into_iter()
        .map(|line| line.speaker)
        .collect();
        assert_eq!(speakers, [Speaker::HumanAgent, Speaker::Bot]);
    }
}
