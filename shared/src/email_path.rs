//! The email & ticket path's rules: which ticket comment the bot answers, and how it
//! answers, hands back or escalates — exactly once per customer comment.

use std::sync::Arc;

use crate::agent::{AgentProvider, AgentTurn, Channel, Decision, ask_agent};
use crate::domain::{BotState, StoreConfig, StoreId, StoreMode, Thread};
use crate::failure::{JobError, Outcome};
use crate::handoff::{Escalations, HandoffRequest, intent_for};
use crate::render::markdown_to_safe_html;
use crate::reply_once::{self, Claim, Claimed, ReplierSettings};
use crate::state::{BotStates, ReplyClaims, StoreDirectory};
use crate::ticket_thread::{
    ESCALATED_TAG, HANDED_BACK_TAG, note_html, requester_profile, transcript,
};
use crate::zendesk::{
    CommentThread, NewComment, Ticket, TicketDesk, TicketDesks, TicketUpdate, ZendeskError,
};

/// The first line of the internal note a store in draft mode gets instead of a reply.
pub const DRAFT_HEADLINE: &str = "Deskmate draft — review and send:";
/// The first line of the draft note when the agent would have handed the ticket to a human.
pub const DRAFT_ESCALATION_HEADLINE: &str =
    "Deskmate draft — the agent would hand this to a human:";
/// Tag on tickets that got a draft note in draft mode.
pub const DRAFTED_TAG: &str = "deskmate_drafted";

/// What the rules say about a ticket as Zendesk shows it now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing for the bot to do.
    Ignore(&'static str),
    /// A human agent started this ticket (a proactive email) or replied to the customer
    /// publicly: give it to them, silently; the bot stays out of it from now on.
    HandBack { agent_id: u64 },
    /// A messaging ticket the new-ticket trigger gave the bot: the Agent Workspace opened it
    /// for a human, so it goes back to the queue unassigned, silently.
    ReleaseMessagingTicket,
    /// The escalation note is posted but the customer was not yet told and the ticket is still
    /// the bot's (a worker stopped half-way): finish it.
    FinishEscalation,
    /// Answer the customer comments after the last staff reply; `message_id` is the newest.
    Answer { message_id: u64 },
}

pub fn assess(ticket: &Ticket, thread: &CommentThread, bot_user_id: u64) -> Verdict {
    let assigned_to_bot = ticket.assignee_id == Some(bot_user_id);
    // Never a word on a messaging ticket: it belongs to the widget conversation.
    if ticket.is_messaging() {
        return if assigned_to_bot {
            Verdict::ReleaseMessagingTicket
        } else {
            Verdict::Ignore("messaging tickets are answered in the widget conversation")
        };
    }
    if ticket.tags.iter().any(|tag| tag == ESCALATED_TAG) {
        return if assigned_to_bot {
            Verdict::FinishEscalation
        } else {
            Verdict::Ignore("the ticket was escalated to a human")
        };
    }
    if !assigned_to_bot {
        return Verdict::Ignore("the ticket is not assigned to the bot");
    }
    if ticket.is_closed() {
        return Verdict::Ignore("the ticket is solved or closed");
    }
    let is_staff = |author_id: u64| {
        author_id == bot_user_id
            || thread
                .users
                .iter()
                .any(|user| user.id == author_id && user.is_staff())
    };
    // A human agent started the ticket, or replied to the customer publicly by any route:
    // the bot steps back for good and the ticket goes to that agent.
    let human = |comment: &&crate::zendesk::Comment| {
        comment.author_id != bot_user_id
            && comment.author_id != ticket.requester_id
            && is_staff(comment.author_id)
    };
    if let Some(first) = thread.comments.first().filter(human) {
        return Verdict::HandBack {
            agent_id: first.author_id,
        };
    }
    if let Some(reply) = thread
        .comments
        .iter()
        .filter(|comment| comment.public)
        .rfind(human)
    {
        return Verdict::HandBack {
            agent_id: reply.author_id,
        };
    }
    match thread.comments.iter().rev().find(|comment| comment.public) {
        None => Verdict::Ignore("the ticket has no public comment"),
        Some(last) if last.author_id == bot_user_id => Verdict::Ignore("the bot already answered"),
        Some(last) => Verdict::Answer {
            message_id: last.id,
        },
    }
}

/// Unassigns a messaging ticket the bot was given. The Agent Workspace and Deskmate's own
/// hand-off note touch the ticket at the same moment, so a conflict is re-read and retried here
/// rather than left to a redelivery minutes later.
async fn release_messaging_ticket(
    desk: &dyn TicketDesk,
    mut ticket: Ticket,
    bot_user_id: u64,
) -> Result<(), ZendeskError> {
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        if ticket.assignee_id != Some(bot_user_id) {
            return Ok(());
        }
        let update = TicketUpdate {
            assignee_id: Some(None),
            ..TicketUpdate::guarded(&ticket)
        };
        match desk.update_ticket(ticket.id, &update).await {
            Err(ZendeskError::Conflict) if attempt < ATTEMPTS => {
                ticket = desk.ticket(ticket.id).await?
            }
            other => return other.map(|_| ()),
        }
    }
    Ok(())
}

/// The ports a ticket job needs.
#[derive(Clone)]
pub struct TicketReplier {
    pub stores: Arc<dyn StoreDirectory>,
    pub bot_states: Arc<dyn BotStates>,
    pub claims: Arc<dyn ReplyClaims>,
    pub desks: Arc<dyn TicketDesks>,
    pub agents: Arc<dyn AgentProvider>,
    pub escalations: Escalations,
    pub settings: ReplierSettings,
}

impl TicketReplier {
    /// Handles one ticket job; `owner` names this attempt in reply claims.
    pub async fn handle(
        &self,
        store_id: &StoreId,
        ticket_id: u64,
        owner: &str,
    ) -> Result<Outcome, JobError> {
        let Some(store) = self.stores.store(store_id).await? else {
            return Err(JobError::NotActionable(format!(
                "store {store_id} is not connected"
            )));
        };
        let thread_key = Thread::Ticket(ticket_id);
        match self.bot_states.bot_state(store_id, &thread_key).await? {
            BotState::HandingOff => return self.escalations.resume(&store, &thread_key).await,
            BotState::Escalated => {
                return Ok(Outcome::Skipped(
                    "the ticket was escalated to a human".into(),
                ));
            }
            BotState::Bot | BotState::Resumed => {}
        }
        let desk = self.desks.desk_for(&store).await?;
        // A ticket Zendesk says it has not (deleted, or a 404 from a hiccup) goes the
        // dead-letter way: the consumer hands it to a human if it is there after all.
        let ticket = desk.ticket(ticket_id).await?;
        if store
            .brand_id
            .is_some_and(|brand| ticket.brand_id != Some(brand))
        {
            return Ok(Outcome::Skipped(
                "the ticket belongs to another brand".into(),
            ));
        }
        let thread = desk.comments(ticket_id).await?;
        match assess(&ticket, &thread, store.bot_user_id) {
            Verdict::Ignore(reason) => Ok(Outcome::Skipped(reason.into())),
            Verdict::HandBack { agent_id } => {
                let update = TicketUpdate {
                    assignee_id: Some(Some(agent_id)),
                    additional_tags: vec![HANDED_BACK_TAG.to_owned()],
                    ..TicketUpdate::guarded(&ticket)
                };
                desk.update_ticket(ticket_id, &update).await?;
                self.bot_states
                    .set_bot_state(store_id, &thread_key, BotState::Escalated)
                    .await?;
                Ok(Outcome::HandedBack { to_agent: agent_id })
            }
            Verdict::ReleaseMessagingTicket => {
                release_messaging_ticket(desk.as_ref(), ticket, store.bot_user_id).await?;
                Ok(Outcome::Skipped(
                    "a messaging ticket was returned to the queue unassigned".into(),
                ))
            }
            Verdict::FinishEscalation => {
                let request = HandoffRequest {
                    reason: "finished an interrupted escalation".into(),
                    summary: String::new(),
                    customer_message: None,
                };
                let turn = self.turn(&store, &ticket, &thread);
                let intent = intent_for(&store, &request, &turn.customer, &turn.transcript, None);
                self.escalations
                    .hand_off(&store, &thread_key, intent)
                    .await?;
                Ok(Outcome::Escalated {
                    reason: request.reason,
                })
            }
            Verdict::Answer { message_id } => {
                let message_id = message_id.to_string();
                let claimed = reply_once::claim(
                    self.claims.as_ref(),
                    store_id,
                    &thread_key,
                    &message_id,
                    owner,
                    self.settings.claim_lease,
                )
                .await?;
                let Claimed::Mine(claim) = claimed else {
                    return Ok(Outcome::Skipped("the comment was already answered".into()));
                };
                let answered = self
                    .answer(&store, desk.as_ref(), &ticket, &thread, &claim)
                    .await;
                claim.settle(answered).await
            }
        }
    }

    fn turn(&self, store: &StoreConfig, ticket: &Ticket, thread: &CommentThread) -> AgentTurn {
        AgentTurn {
            channel: Channel::Email,
            instructions: store.instructions.clone(),
            customer: requester_profile(ticket, thread),
            transcript: transcript(thread, store.bot_user_id),
        }
    }

    /// Asks the agent (or takes the answer an earlier attempt recorded), then posts it as the
    /// bot's public comment, guarded by the `updated_stamp` read before the agent thought: if
    /// anyone touched the ticket meanwhile (a human replied, the customer wrote again),
    /// Zendesk answers 409 and the job starts over from what the ticket shows then.
    async fn answer(
        &self,
        store: &StoreConfig,
        desk: &dyn TicketDesk,
        ticket: &Ticket,
        thread: &CommentThread,
        claim: &Claim<'_>,
    ) -> Result<Outcome, JobError> {
        let turn = self.turn(store, ticket, thread);
        let decision = match &claim.recorded {
            Some(recorded) => Decision::Reply(recorded.clone()),
            None => Decision::from_answer(
                ask_agent(
                    self.agents.as_ref(),
                    store,
                    &turn,
                    self.settings.agent_timeout,
                )
                .await,
            ),
        };
        if store.mode == StoreMode::Draft {
            let html = match decision {
                Decision::Reply(reply) => {
                    claim.record(&reply).await?;
                    format!(
                        "{}{}",
                        note_html(DRAFT_HEADLINE),
                        markdown_to_safe_html(&reply)
                    )
                }
                Decision::Escalate(escalate) => {
                    let request = HandoffRequest::from(escalate);
                    let intent =
                        intent_for(store, &request, &turn.customer, &turn.transcript, None);
                    note_html(&format!(
                        "{DRAFT_ESCALATION_HEADLINE}\n{}\n\nSuggested message to the customer: {}",
                        intent.note, intent.notice
                    ))
                }
            };
            return self.leave_draft(store, desk, ticket, html).await;
        }
        match decision {
            Decision::Reply(reply) => {
                claim.record(&reply).await?;
                let update = TicketUpdate {
                    comment: Some(NewComment {
                        html_body: markdown_to_safe_html(&reply),
                        public: true,
                        author_id: store.bot_user_id,
                    }),
                    ..TicketUpdate::guarded(ticket)
                };
                desk.update_ticket(ticket.id, &update).await?;
                let to_message = thread
                    .comments
                    .iter()
                    .rev()
                    .find(|c| c.public)
                    .map_or(0, |c| c.id);
                Ok(Outcome::Replied {
                    to_message: to_message.to_string(),
                })
            }
            Decision::Escalate(escalate) => {
                let request = HandoffRequest::from(escalate);
                let intent = intent_for(store, &request, &turn.customer, &turn.transcript, None);
                self.escalations
                    .hand_off(store, &Thread::Ticket(ticket.id), intent)
                    .await?;
                Ok(Outcome::Escalated {
                    reason: request.reason,
                })
            }
        }
    }
}

impl TicketReplier {
    /// Draft mode: the answer becomes the bot's internal note and the ticket goes to the humans
    /// as the store's escalation settings say (unassigned, in the escalation group if any), in
    /// one guarded update; the customer hears nothing from the bot.
    async fn leave_draft(
        &self,
        store: &StoreConfig,
        desk: &dyn TicketDesk,
        ticket: &Ticket,
        html_body: String,
    ) -> Result<Outcome, JobError> {
        let update = TicketUpdate {
            comment: Some(NewComment {
                html_body,
                public: false,
                author_id: store.bot_user_id,
            }),
            assignee_id: Some(None),
            group_id: store.escalation_group_id,
            additional_tags: vec![DRAFTED_TAG.to_owned()],
            ..TicketUpdate::guarded(ticket)
        };
        desk.update_ticket(ticket.id, &update).await?;
        Ok(Outcome::NoteAdded {
            ticket_id: ticket.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zendesk::{Comment, User};

    const BOT: u64 = 1;
    const AGENT: u64 = 2;
    const CUSTOMER: u64 = 3;

    fn ticket(assignee: Option<u64>, tags: &[&str]) -> Ticket {
        Ticket {
            id: 10,
            subject: None,
            status: "open".into(),
            requester_id: CUSTOMER,
            submitter_id: Some(CUSTOMER),
            assignee_id: assignee,
            group_id: None,
            brand_id: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            updated_at: "2026-11-21T10:00:00Z".into(),
            via: None,
        }
    }

    fn thread(comments: &[(u64, u64, bool)]) -> CommentThread {
        let user = |id: u64, role: &str| User {
            id,
            name: format!("user {id}"),
            email: None,
            role: role.into(),
            role_type: None,
        };
        CommentThread {
            comments: comments
                .iter()
                .map(|&(id, author_id, public)| Comment {
                    id,
                    author_id,
                    body: format!("comment {id}"),
                    public,
                    created_at: None,
                })
                .collect(),
            users: vec![
                user(BOT, "agent"),
                user(AGENT, "agent"),
                user(CUSTOMER, "end-user"),
            ],
        }
    }

    #[test]
    fn answers_only_the_newest_customer_comment_on_bot_tickets() {
        let assigned = ticket(Some(BOT), &[]);
        let cases = [
            (
                thread(&[(100, CUSTOMER, true)]),
                Verdict::Answer { message_id: 100 },
            ),
            (
                thread(&[
                    (100, CUSTOMER, true),
                    (101, BOT, true),
                    (102, CUSTOMER, true),
                    (103, CUSTOMER, true),
                ]),
                Verdict::Answer { message_id: 103 },
            ),
            (
                thread(&[(100, CUSTOMER, true), (101, AGENT, false)]),
                Verdict::Answer { message_id: 100 },
            ),
            (
                thread(&[(100, CUSTOMER, true), (101, BOT, true)]),
                Verdict::Ignore("the bot already answered"),
            ),
            (
                thread(&[(100, CUSTOMER, true), (101, AGENT, true)]),
                Verdict::HandBack { agent_id: AGENT },
            ),
            (
                // A human replied once; the customer's next message is theirs, not the bot's.
                thread(&[
                    (100, CUSTOMER, true),
                    (101, BOT, true),
                    (102, AGENT, true),
                    (103, CUSTOMER, true),
                ]),
                Verdict::HandBack { agent_id: AGENT },
            ),
            (
                thread(&[(100, AGENT, true)]),
                Verdict::HandBack { agent_id: AGENT },
            ),
            (
                thread(&[]),
                Verdict::Ignore("the ticket has no public comment"),
            ),
        ];
        for (thread, expected) in cases {
            assert_eq!(
                assess(&assigned, &thread, BOT),
                expected,
                "{:?}",
                thread.comments
            );
        }
    }

    #[test]
    fn never_answers_tickets_that_are_not_the_bots() {
        let thread = thread(&[(100, CUSTOMER, true)]);
        assert_eq!(
            assess(&ticket(Some(AGENT), &[]), &thread, BOT),
            Verdict::Ignore("the ticket is not assigned to the bot")
        );
        assert_eq!(
            assess(&ticket(None, &[ESCALATED_TAG]), &thread, BOT),
            Verdict::Ignore("the ticket was escalated to a human")
        );
        assert_eq!(
            assess(&ticket(Some(BOT), &[ESCALATED_TAG]), &thread, BOT),
            Verdict::FinishEscalation
        );
        let mut messaging = ticket(Some(BOT), &[ESCALATED_TAG]);
        messaging.via = Some(crate::zendesk::Via {
            channel: "native_messaging".into(),
        });
        assert_eq!(
            assess(&messaging, &thread, BOT),
            Verdict::ReleaseMessagingTicket
        );
        let mut solved = ticket(Some(BOT), &[]);
        solved.status = "solved".into();
        assert_eq!(
            assess(&solved, &thread, BOT),
            Verdict::Ignore("the ticket is solved or closed")
        );
    }
}
