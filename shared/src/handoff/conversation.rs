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
use crate::domain::{HandoffIntent, StoreConfig};
use crate::ticket_thread::ESCALATED_TAG;
use crate::zendesk::ZendeskError;

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
    /// The intent of a tool's or the dead-letter consumer's hand-off of a conversation, or
    /// `None` when Deskmate no longer holds it (a human has it).
    pub(super) async fn conversation_intent(
        &self,
        store: &StoreConfig,
        conversation_id: &str,
        request: &HandoffRequest,
    ) -> Result<Option<HandoffIntent>, HandoffError> {
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
