//! The email path's hand-off steps. Each is a guarded ticket update (`safe_update` with the
//! `updated_stamp` just read) checked in Zendesk first: the escalation tag says the note is
//! there; an assignee other than the bot says the customer was told and the ticket let go.

use std::sync::Arc;

use super::{Escalations, HandoffError, HandoffRequest};
use crate::domain::{HandoffIntent, StoreConfig};
use crate::render::markdown_to_safe_html;
use crate::ticket_thread::{ESCALATED_TAG, note_html, requester_profile, transcript};
use crate::zendesk::{NewComment, Ticket, TicketDesk, TicketUpdate, ZendeskError};

impl Escalations {
    /// The ticket, read through the store's desk, when it is the store's (its brand); a
    /// caller that names a ticket is refused anything else.
    pub async fn owned_ticket(
        &self,
        store: &StoreConfig,
        ticket_id: u64,
    ) -> Result<(Arc<dyn TicketDesk>, Ticket), HandoffError> {
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
        Ok((desk, ticket))
    }

    /// The intent of a tool's or the dead-letter consumer's hand-off of a ticket, or `None`
    /// when a human already has it.
    pub(super) async fn ticket_intent(
        &self,
        store: &StoreConfig,
        ticket_id: u64,
        request: &HandoffRequest,
    ) -> Result<Option<HandoffIntent>, HandoffError> {
        let (desk, ticket) = self.owned_ticket(store, ticket_id).await?;
        if ticket.assignee_id != Some(store.bot_user_id)
            && ticket.tags.iter().any(|t| t == ESCALATED_TAG)
        {
            return Ok(None);
        }
        let thread = desk.comments(ticket_id).await?;
        Ok(Some(super::intent_for(
            store,
            request,
            &requester_profile(&ticket, &thread),
            &transcript(&thread, store.bot_user_id),
            None,
        )))
    }

    /// (1) The internal note with the summary, plus the escalation tag; (2) the customer notice
    /// and the unassignment (to the store's escalation group when it has one).
    pub(super) async fn finish_ticket(
        &self,
        store: &StoreConfig,
        ticket_id: u64,
        intent: &HandoffIntent,
    ) -> Result<(), HandoffError> {
        let desk = self.tickets.desk_for(store).await?;
        let mut ticket = desk.ticket(ticket_id).await?;
        if !ticket.tags.iter().any(|t| t == ESCALATED_TAG) {
            let update = TicketUpdate {
                comment: Some(NewComment {
                    html_body: note_html(&intent.note),
                    public: false,
                    author_id: store.bot_user_id,
                }),
                additional_tags: vec![ESCALATED_TAG.to_owned()],
                ..TicketUpdate::guarded(&ticket)
            };
            ticket = desk.update_ticket(ticket.id, &update).await?;
        }
        if ticket.assignee_id == Some(store.bot_user_id) {
            let update = TicketUpdate {
                comment: Some(NewComment {
                    html_body: markdown_to_safe_html(&intent.notice),
                    public: true,
                    author_id: store.bot_user_id,
                }),
                assignee_id: Some(None),
                group_id: store.escalation_group_id,
                ..TicketUpdate::guarded(&ticket)
            };
            desk.update_ticket(ticket.id, &update).await?;
        }
        Ok(())
    }
}

/// Adds `note` as the bot's internal note unless the ticket already carries a hand-off note;
/// the update is guarded, so two attempts racing add it once. The messaging ticket is often
/// touched at the same moment (Deskmate unassigns it), so a conflict is read again and retried
/// here rather than left to a redelivery.
pub(super) async fn add_note_once(
    desk: &dyn TicketDesk,
    ticket_id: u64,
    bot_user_id: u64,
    note: &str,
) -> Result<bool, ZendeskError> {
    const ATTEMPTS: usize = 3;
    let mut attempt = 1;
    loop {
        let ticket = desk.ticket(ticket_id).await?;
        let thread = desk.comments(ticket_id).await?;
        let present = thread.comments.iter().any(|c| {
            !c.public && c.author_id == bot_user_id && c.body.starts_with(super::NOTE_HEADLINE)
        });
        if present {
            return Ok(false);
        }
        let update = TicketUpdate {
            comment: Some(NewComment {
                html_body: note_html(note),
                public: false,
                author_id: bot_user_id,
            }),
            ..TicketUpdate::guarded(&ticket)
        };
        match desk.update_ticket(ticket_id, &update).await {
            Err(ZendeskError::Conflict) if attempt < ATTEMPTS => attempt += 1,
            other => return other.map(|_| true),
        }
    }
}
