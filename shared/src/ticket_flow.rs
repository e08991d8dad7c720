//! The email & ticket path's rules: which ticket comment the bot answers, and how it
//! answers, hands back or escalates — exactly once per customer comment.

use std::sync::Arc;
use std::time::Duration;

use crate::agent::{
    AgentProvider, AgentTurn, Channel, CustomerProfile, Decision, Escalate, Speaker,
    TranscriptLine, ask_agent,
};
use crate::domain::{BotState, StoreConfig, StoreId, Thread};
use crate::handoff::Handoff;
use crate::jobs::{JobError, Outcome};
use crate::render::markdown_to_safe_html;
use crate::state::{BotStates, ClaimOutcome, ReplyClaims, StoreDirectory};
use crate::zendesk::{
    CommentThread, NewComment, Ticket, TicketDesk, TicketDesks, TicketUpdate, ZendeskError,
};

/// Tag on tickets Deskmate handed to a human; the bot never answers them again.
pub const ESCALATED_TAG: &str = "deskmate_escalated";
/// Tag on tickets a human agent started, handed back to them untouched.
pub const HANDED_BACK_TAG: &str = "deskmate_handed_back";

/// What the rules say about a ticket as Zendesk shows it now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing for the bot to do.
    Ignore(&'static str),
    /// A human agent started this ticket (a proactive email): give it back to them, silently.
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
    if let Some(first) = thread.comments.first()
        && first.author_id != bot_user_id
        && first.author_id != ticket.requester_id
        && is_staff(first.author_id)
    {
        return Verdict::HandBack {
            agent_id: first.author_id,
        };
    }
    match thread.comments.iter().rev().find(|comment| comment.public) {
        None => Verdict::Ignore("the ticket has no public comment"),
        Some(last) if last.author_id == bot_user_id => Verdict::Ignore("the bot already answered"),
        Some(last) if is_staff(last.author_id) => Verdict::Ignore("a human agent answered last"),
        Some(last) => Verdict::Answer {
            message_id: last.id,
        },
    }
}

/// The public conversation as the agent backend sees it (internal notes stay internal).
pub fn transcript(thread: &CommentThread, bot_user_id: u64) -> Vec<TranscriptLine> {
    thread
        .comments
        .iter()
        .filter(|comment| comment.public)
        .map(|comment| TranscriptLine {
            speaker: if comment.author_id == bot_user_id {
                Speaker::Bot
            } else if thread.author(comment).is_some_and(|user| user.is_staff()) {
                Speaker::HumanAgent
            } else {
                Speaker::Customer
            },
            text: comment.body.clone(),
        })
        .collect()
}

pub fn requester_profile(ticket: &Ticket, thread: &CommentThread) -> CustomerProfile {
    thread
        .users
        .iter()
        .find(|user| user.id == ticket.requester_id)
        .map(|user| CustomerProfile {
            name: Some(user.name.clone()),
            email: user.email.clone(),
        })
        .unwrap_or_default()
}

/// Hands a ticket to a human in two idempotent steps, each guarded by `updated_stamp`:
/// (1) the internal note with the summary, plus the escalation tag; (2) the customer notice
/// and the unassignment (to the store's escalation group when it has one). A retry after
/// step 1 sees the tag on a ticket still assigned to the bot and runs step 2 only.
pub async fn escalate_ticket(
    desk: &dyn TicketDesk,
    store: &StoreConfig,
    ticket: &Ticket,
    note: Option<String>,
    customer_notice: &str,
) -> Result<(), ZendeskError> {
    let mut ticket = ticket.clone();
    if let Some(note) = note.filter(|_| !ticket.tags.iter().any(|t| t == ESCALATED_TAG)) {
        let update = TicketUpdate {
            comment: Some(NewComment {
                html_body: markdown_to_safe_html(&escape_markdown(&note)),
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
                html_body: markdown_to_safe_html(customer_notice),
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

/// Keeps a plain-text note plain: line breaks survive, markdown syntax does not apply.
pub fn escape_markdown(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        for c in line.chars() {
            if "\\`*_{}[]()#+-.!<>|~".contains(c) {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        escaped.push_str("  \n");
    }
    escaped
}

#[derive(Clone, Copy, Debug)]
pub struct ReplierSettings {
    pub agent_timeout: Duration,
    pub claim_lease: Duration,
}

/// The ports a ticket job needs.
#[derive(Clone)]
pub struct TicketReplier {
    pub stores: Arc<dyn StoreDirectory>,
    pub bot_states: Arc<dyn BotStates>,
    pub claims: Arc<dyn ReplyClaims>,
    pub desks: Arc<dyn TicketDesks>,
    pub agents: Arc<dyn AgentProvider>,
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
            return Err(JobError::Poison(format!(
                "store {store_id} is not connected"
            )));
        };
        let thread_key = Thread::Ticket(ticket_id);
        if !self
            .bot_states
            .bot_state(store_id, &thread_key)
            .await?
            .bot_may_answer()
        {
            return Ok(Outcome::Skipped(
                "the ticket was escalated to a human".into(),
            ));
        }
        let desk = self.desks.desk_for(&store).await?;
        let ticket = match desk.ticket(ticket_id).await {
            Err(ZendeskError::NotFound) => {
                return Ok(Outcome::Skipped("the ticket no longer exists".into()));
            }
            other => other?,
        };
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
                escalate_ticket(desk.as_ref(), &store, &ticket, None, &store.handoff_message)
                    .await?;
                self.bot_states
                    .set_bot_state(store_id, &thread_key, BotState::Escalated)
                    .await?;
                Ok(Outcome::Escalated {
                    reason: "finished an interrupted escalation".into(),
                })
            }
            Verdict::Answer { message_id } => {
                let message_id = message_id.to_string();
                let claim = self
                    .claims
                    .claim_reply(
                        store_id,
                        &thread_key,
                        &message_id,
                        owner,
                        self.settings.claim_lease,
                    )
                    .await?;
                match claim {
                    ClaimOutcome::AlreadyAnswered => {
                        return Ok(Outcome::Skipped("the comment was already answered".into()));
                    }
                    ClaimOutcome::HeldByAnother => {
                        return Ok(Outcome::Skipped(
                            "another worker is answering the comment".into(),
                        ));
                    }
                    ClaimOutcome::Acquired => {}
                }
                let answered = self.answer(&store, desk.as_ref(), &ticket, &thread).await;
                match &answered {
                    Ok(_) => {
                        self.claims
                            .finish_reply(store_id, &thread_key, &message_id, owner)
                            .await?
                    }
                    Err(_) => {
                        self.claims
                            .release_reply(store_id, &thread_key, &message_id, owner)
                            .await?
                    }
                }
                answered
            }
        }
    }

    async fn answer(
        &self,
        store: &StoreConfig,
        desk: &dyn TicketDesk,
        ticket: &Ticket,
        thread: &CommentThread,
    ) -> Result<Outcome, JobError> {
        let turn = AgentTurn {
            channel: Channel::Email,
            instructions: store.instructions.clone(),
            customer: requester_profile(ticket, thread),
            transcript: transcript(thread, store.bot_user_id),
        };
        let answer = ask_agent(
            self.agents.as_ref(),
            store,
            &turn,
            self.settings.agent_timeout,
        )
        .await;
        let Escalate {
            reason,
            summary,
            notice,
        } = match Decision::from_answer(answer) {
            Decision::Reply(reply) => {
                let update = TicketUpdate {
                    comment: Some(NewComment {
                        html_body: markdown_to_safe_html(&reply),
                        public: true,
                        author_id: store.bot_user_id,
                    }),
                    ..TicketUpdate::guarded(ticket)
                };
                desk.update_ticket(ticket.id, &update).await?;
                let to_comment = thread
                    .comments
                    .iter()
                    .rev()
                    .find(|c| c.public)
                    .map_or(0, |c| c.id);
                return Ok(Outcome::Replied {
                    to_message: to_comment.to_string(),
                });
            }
            Decision::Escalate(escalate) => escalate,
        };
        let note = Handoff {
            reason: &reason,
            summary: &summary,
            customer: &turn.customer,
            transcript: &turn.transcript,
        }
        .note();
        let notice = notice.unwrap_or_else(|| store.handoff_message.clone());
        escalate_ticket(desk, store, ticket, Some(note), &notice).await?;
        self.bot_states
            .set_bot_state(&store.id, &Thread::Ticket(ticket.id), BotState::Escalated)
            .await?;
        Ok(Outcome::Escalated { reason })
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
                Verdict::Ignore("a human agent answered last"),
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

    #[test]
    fn notes_stay_plain_text() {
        assert_eq!(escape_markdown("**a**\n# b"), "\\*\\*a\\*\\*  \n\\# b  \n");
    }
}
