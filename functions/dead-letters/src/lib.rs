//! The dead-letter queue's consumer. A job lands there when retrying could not help or kept
//! failing; the customer it was for must not be left in silence, so the ticket or
//! conversation is handed to a human with a note that says what failed, and an unfinished
//! hand-off is finished. When even that fails for good, the failure is logged as an alert
//! naming the store and the thread.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use deskmate_shared::domain::{Job, Thread};
use deskmate_shared::failure::{JobError, Outcome, RetrySchedule};
use deskmate_shared::handoff::{Escalations, HandoffOutcome, HandoffRequest, MAX_NOTE_ATTEMPTS};
use deskmate_shared::sqs_batch::{FailurePolicy, failure_of, process_batch};

/// The `alert` field of the log line for a bridge event its caller's webhook never took.
pub const BRIDGE_UNDELIVERED_ALERT: &str = "bridge_undelivered";

pub struct DeadLetters {
    pub escalations: Escalations,
    /// Retries on the dead-letter queue itself; nowhere further to send a job.
    pub failures: FailurePolicy,
}

/// The dead-letter consumer keeps retrying a failing hand-off for an hour after the job was
/// first queued, then raises the alert.
pub fn dead_letter_schedule() -> RetrySchedule {
    RetrySchedule {
        human_within: Duration::from_secs(3600),
        ..RetrySchedule::default()
    }
}

fn why(message: &SqsMessage, what: &str) -> String {
    match failure_of(message) {
        Some(failure) => format!("Deskmate could not answer this {what}: {failure}."),
        None => {
            let attempts = message
                .attributes
                .get("ApproximateReceiveCount")
                .map_or("several", String::as_str);
            format!(
                "Deskmate could not answer this {what}: its job failed {attempts} times (Zendesk or the AI agent \
                 kept failing) and went to the dead-letter queue."
            )
        }
    }
}

impl DeadLetters {
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        process_batch(event, &self.failures, |job, message| async move {
            self.process_job(&job, &message).await
        })
        .await
    }

    async fn process_job(&self, job: &Job, message: &SqsMessage) -> Result<Outcome, JobError> {
        let thread = match job {
            Job::Batch { jobs } => {
                // Each job on its own; the batch comes back if any could not be handled.
                let mut handled = 0;
                for job in jobs {
                    Box::pin(self.process_job(job, message)).await?;
                    handled += 1;
                }
                return Ok(Outcome::Skipped(format!("{handled} batched jobs handled")));
            }
            Job::PassOn {
                account,
                conversation_id,
                reason,
            } => {
                // The last try; if it fails for good, the alert names the conversation.
                return self
                    .escalations
                    .pass_on(account, conversation_id, reason)
                    .await;
            }
            Job::Handoff {
                store_id, thread, ..
            } => {
                // The last look: finish the hand-off and add its note, or raise the alert.
                return self
                    .escalations
                    .follow_up(store_id, thread, MAX_NOTE_ATTEMPTS)
                    .await;
            }
            Job::Bridge {
                account,
                conversation_id,
                event,
            } => {
                // The event waits in the session's log for the caller's poll; the alarm says
                // its webhook is not taking deliveries.
                tracing::error!(
                    alert = BRIDGE_UNDELIVERED_ALERT,
                    account,
                    conversation = conversation_id,
                    event = ?event,
                    failure = ?failure_of(message),
                    "a bridge event could not be delivered to the caller's webhook"
                );
                deskmate_shared::measures::bridge_undelivered(account);
                return Ok(Outcome::Skipped(
                    "bridge event left in the session's log for polling".into(),
                ));
            }
            Job::Ticket { ticket_id, .. } => Thread::Ticket(*ticket_id),
            Job::Conversation {
                conversation_id, ..
            } => Thread::Conversation(conversation_id.clone()),
        };
        let Some(store_id) = job.store_id() else {
            return Err(JobError::NotActionable(format!("{thread} names no store")));
        };
        let Some(store) = self.escalations.stores.store(store_id).await? else {
            return Err(JobError::NotActionable(format!(
                "store {store_id} is not connected"
            )));
        };
        let what = match thread {
            Thread::Ticket(_) => "ticket",
            Thread::Conversation(_) => "conversation",
        };
        let request = HandoffRequest {
            reason: format!("{} Please answer the customer.", why(message, what)),
            summary: "The customer's latest message has no answer yet.".into(),
            customer_message: None,
        };
        // A missing or foreign thread is not actionable: the From conversion says so.
        Ok(
            match self.escalations.escalate(&store, &thread, &request).await? {
                HandoffOutcome::Escalated => Outcome::Escalated {
                    reason: request.reason,
                },
                HandoffOutcome::AlreadyEscalated => {
                    Outcome::Skipped("the thread is already with a human".into())
                }
            },
        )
    }
}
