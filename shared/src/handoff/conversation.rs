//! The Web Widget path's hand-off steps: the notice (marked with the hand-off's id, so a
//! resumed hand-off sees it), then the switchboard passed to the next integration (the Agent
//! Workspace) with `first_message_id` and two tags for the messaging ticket Zendesk opens —
//! only while Deskmate holds the switchboard, so a second pass can never send the customer
//! back from the Agent Workspace to the bot. The summary cannot ride along (Conversations
//! metadata is not a ticket note): the follow-up job finds the ticket by its conversation tag.

use serde_json::{Map, Value, json};

use super::{Escalations, HandoffError, HandoffRequest, ticket::add_note_once};
use crate::agent::CustomerProfile;
use crate::conversation_thread::{handoff_mark, post_missing_parts, transcript};
use crate::domain::{ConversationsAccount, HandoffIntent, StoreConfig, StoreId};
use crate::failure::{JobError, Outcome};
use crate::state::StateError;
use crate::ticket_thread::ESCALATED_TAG;
use crate::zendesk::{Conversation, Message, ZendeskError};

/// A conversation a store answers, as [`Escalations::owned_conversation`] read it.
pub struct OwnedConversation {
    pub account: ConversationsAccount,
    pub conversation: Conversation,
    pub messages: Vec<Message>,
}

/// The Agent Workspace's switchboard integration, by the name Zendesk gives it.
pub const AGENT_WORKSPACE: &str = "zd-agentWorkspace";

/// The tag on the messaging ticket of a conversation Deskmate passed on without answering.
pub const PASSED_ON_TAG: &str = "deskmate_passed_on";

/// The tag that lets Deskmate find the messaging ticket Zendesk opens for a conversation.
pub fn conversation_tag(conversation_id: &str) -> String {
    let id: String = conversation_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("deskmate_conversation_{id}")
}

impl Escalations {
    /// The store that answers a conversation of `account`, read from Zendesk rather than from
    /// anything a caller says: the widget its customer writes from (the `source.integrationId`
    /// of their messages, `messages` as Zendesk lists them), routed as the account's widget
    /// routes say. `None` while the customer has not written, or when no store answers.
    pub async fn conversation_owner(
        &self,
        account: &str,
        messages: &[Message],
    ) -> Result<Option<StoreId>, StateError> {
        let widget = messages
            .iter()
            .filter(|m| m.from_user())
            .find_map(|m| m.source.as_ref().and_then(|s| s.integration_id.as_deref()));
        match widget {
            Some(widget) => self.widgets.route_widget(account, widget).await,
            None => Ok(None),
        }
    }

    /// The conversation, read through the account's desk, when a widget the store answers is
    /// where its customer writes; a caller that names a conversation is refused anything else.
    pub async fn owned_conversation(
        &self,
        store: &StoreConfig,
        conversation_id: &str,
    ) -> Result<OwnedConversation, HandoffError> {
        let account = self.conversations_account(store).await?;
        let desk = self.conversations.desk_for(&account).await?;
        let conversation = match desk.conversation(conversation_id).await {
            Err(ZendeskError::NotFound) => return Err(HandoffError::NotFound("conversation")),
            other => other?,
        };
        let messages = desk.recent_messages(conversation_id).await?;
        let owner = self
            .conversation_owner(&account.subdomain, &messages)
            .await?;
        if owner.as_ref() != Some(&store.id) {
            return Err(HandoffError::Forbidden(format!(
                "conversation {conversation_id} is not answered by store {}",
                store.id
            )));
        }
        Ok(OwnedConversation {
            account,
            conversation,
            messages,
        })
    }

    /// The intent of a tool's or the dead-letter consumer's hand-off of a conversation, or
    /// `None` when Deskmate no longer holds it (a human has it).
    pub(super) async fn conversation_intent(
        &self,
        store: &StoreConfig,
        conversation_id: &str,
        request: &HandoffRequest,
    ) -> Result<Option<HandoffIntent>, HandoffError> {
        let owned = self.owned_conversation(store, conversation_id).await?;
        let (account, conversation, messages) = (owned.account, owned.conversation, owned.messages);
        if !conversation.controlled_by(&account.integration_id) {
            return Ok(None);
        }
        let customer = CustomerProfile {
            name: messages
                .iter()
                .rev()
                .filter(|m| m.from_user())
                .find_map(|m| m.author.display_name.clone()),
            email: None,
        };
        Ok(Some(super::intent_for(
            store,
            request,
            &customer,
            &transcript(&messages),
            messages.first().map(|m| m.id.clone()),
        )))
    }

    pub(super) async fn finish_conversation(
        &self,
        store: &StoreConfig,
        conversation_id: &str,
        intent: &HandoffIntent,
    ) -> Result<(), HandoffError> {
        let account = self.conversations_account(store).await?;
        let desk = self.conversations.desk_for(&account).await?;
        if !desk
            .conversation(conversation_id)
            .await?
            .controlled_by(&account.integration_id)
        {
            // Passed already, or a human took it: either way it is with a human.
            return Ok(());
        }
        let messages = desk.recent_messages(conversation_id).await?;
        post_missing_parts(
            desk.as_ref(),
            store,
            conversation_id,
            &intent.notice,
            &handoff_mark(&intent.id),
            &messages,
        )
        .await?;
        let mut metadata = Map::new();
        if let Some(first) = &intent.first_message_id {
            metadata.insert("first_message_id".into(), Value::String(first.clone()));
        }
        metadata.insert(
            "dataCapture.systemField.tags".into(),
            json!(format!(
                "{ESCALATED_TAG} {}",
                conversation_tag(conversation_id)
            )),
        );
        desk.pass_control(conversation_id, "next", metadata).await?;
        Ok(())
    }

    /// Passes a conversation Deskmate holds but will not answer to the next integration (the
    /// Agent Workspace), without a word to the customer: someone else answers, never nobody.
    pub async fn pass_on(
        &self,
        account: &str,
        conversation_id: &str,
        reason: &str,
    ) -> Result<Outcome, JobError> {
        let Some(settings) = self.accounts.account(account).await? else {
            return Err(JobError::NotActionable(format!(
                "account {account} has no Conversations settings"
            )));
        };
        let desk = self.conversations.desk_for(&settings).await?;
        if !desk
            .conversation(conversation_id)
            .await?
            .controlled_by(&settings.integration_id)
        {
            return Ok(Outcome::Skipped(
                "Deskmate does not hold the conversation".into(),
            ));
        }
        let mut metadata = Map::new();
        metadata.insert("dataCapture.systemField.tags".into(), json!(PASSED_ON_TAG));
        // By name, not `next`: two of these at once must not send it back from the Agent
        // Workspace to Deskmate.
        desk.pass_control(conversation_id, AGENT_WORKSPACE, metadata)
            .await?;
        tracing::info!(
            reason,
            "passed a conversation Deskmate does not answer to the next integration"
        );
        Ok(Outcome::Skipped(format!("passed on: {reason}")))
    }

    /// Adds the summary to the conversation's messaging ticket once Zendesk has opened it;
    /// the ticket's id, or `None` while there is none yet.
    pub(super) async fn attach_messaging_note(
        &self,
        store: &StoreConfig,
        conversation_id: &str,
        note: &str,
    ) -> Result<Option<u64>, ZendeskError> {
        let desk = self.tickets.desk_for(store).await?;
        let found = desk
            .tickets_tagged(&conversation_tag(conversation_id))
            .await?;
        let Some(&ticket_id) = found.iter().max() else {
            return Ok(None);
        };
        add_note_once(desk.as_ref(), ticket_id, store.bot_user_id, note).await?;
        Ok(Some(ticket_id))
    }
}
