//! The dead-letter queue's consumer. A job lands there after failing on every attempt (Zendesk
//! or the AI agent kept failing); the customer it was for must not be left in silence, so the
//! ticket or conversation is handed to a human with a note that says what failed.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use deskmate_shared::domain::{Job, Thread};
use deskmate_shared::escalation::{Escalations, HandoffError, HandoffRequest};
use deskmate_shared::jobs::JobError;
use deskmate_shared::sqs_batch::{decode_job, process_batch};

pub struct DeadLetters {
    pub escalations: Escalations,
}

fn receive_count(message: &SqsMessage) -> String {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .cloned()
        .unwrap_or_else(|| "several".into())
}

impl DeadLetters {
    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        process_batch(event, |message| self.process_message(message)).await
    }

    pub async fn process_message(&self, message: SqsMessage) -> Result<(), JobError> {
        let job = decode_job(&message)?;
        let attempts = receive_count(&message);
        let (store_id, thread, what) = match &job {
            Job::Ticket {
                store_id,
                ticket_id,
                ..
            } => (store_id, Thread::Ticket(*ticket_id), "ticket"),
            Job::Conversation {
                store_id,
                conversation_id,
                ..
            } => (
                store_id,
                Thread::Conversation(conversation_id.clone()),
                "conversation",
            ),
            Job::HandoffNote {
                conversation_id, ..
            } => {
                return Err(JobError::Poison(format!(
                    "the hand-off summary for conversation {conversation_id} could not be added to its messaging ticket"
                )));
            }
        };
        let Some(store) = self.escalations.stores.store(store_id).await? else {
            return Err(JobError::Poison(format!(
                "store {store_id} is not connected"
            )));
        };
        let request = HandoffRequest {
            reason: format!(
                "Deskmate could not answer this {what}: its job failed {attempts} times (Zendesk or the AI agent kept \
                 failing) and went to the dead-letter queue. Please answer the customer."
            ),
            summary: "The customer's latest message has no answer yet.".into(),
            customer_message: None,
        };
        match self.escalations.escalate(&store, &thread, &request).await {
            Ok(outcome) => {
                tracing::warn!(store_id = %store.id, %thread, ?outcome, "dead-lettered job escalated to a human");
                Ok(())
            }
            Err(
                err @ (HandoffError::NotFound(_)
                | HandoffError::Forbidden(_)
                | HandoffError::NoMessaging(_)),
            ) => Err(JobError::Poison(err.to_string())),
            Err(err) => Err(err.into()),
        }
    }
}
