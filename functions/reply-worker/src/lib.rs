//! The SQS consumer: decodes each message on its own, runs the jobs concurrently (one span
//! each) and reports exactly the messages worth retrying as batch item failures.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use deskmate_shared::agent::AgentBackends;
use deskmate_shared::config::WorkerConfig;
use deskmate_shared::conversation_flow::ConversationReplier;
use deskmate_shared::domain::Job;
use deskmate_shared::escalation::Escalations;
use deskmate_shared::http_retry::RetryPolicy;
use deskmate_shared::jobs::{JobError, Outcome};
use deskmate_shared::queue::JobQueue;
use deskmate_shared::secrets::SecretStore;
use deskmate_shared::sqs_batch::{decode_job, process_batch};
use deskmate_shared::state::{
    BotStates, ConversationsAccounts, ReplyClaims, StoreDirectory, WidgetRoutes,
};
use deskmate_shared::ticket_flow::{ReplierSettings, TicketReplier};
use deskmate_shared::zendesk::ZendeskConnector;
use rand::RngCore;
use tracing::Instrument;

pub struct ReplyWorker {
    pub tickets: TicketReplier,
    pub conversations: ConversationReplier,
    pub escalations: Escalations,
}

/// A fresh name for one processing attempt, so two workers holding the same message never
/// mistake each other's reply claims for their own.
fn attempt_owner() -> String {
    format!("{:016x}", rand::rng().next_u64())
}

impl ReplyWorker {
    /// The worker with its production adapters for Zendesk and the agent backends.
    pub fn new<S>(
        state: Arc<S>,
        secrets: Arc<dyn SecretStore>,
        queue: Arc<dyn JobQueue>,
        config: &WorkerConfig,
    ) -> Self
    where
        S: StoreDirectory
            + ConversationsAccounts
            + WidgetRoutes
            + BotStates
            + ReplyClaims
            + 'static,
    {
        let zendesk = Arc::new(ZendeskConnector::from_config(secrets.clone(), config));
        let policy = RetryPolicy::default();
        // One HTTP client (and connection pool) for Zendesk and the agent backends.
        let agents = Arc::new(AgentBackends::new(zendesk.http().clone(), secrets, policy));
        let settings = ReplierSettings {
            agent_timeout: config.agent_timeout,
            claim_lease: config.claim_lease,
        };
        Self {
            tickets: TicketReplier {
                stores: state.clone(),
                bot_states: state.clone(),
                claims: state.clone(),
                desks: zendesk.clone(),
                agents: agents.clone(),
                settings,
            },
            conversations: ConversationReplier {
                stores: state.clone(),
                accounts: state.clone(),
                bot_states: state.clone(),
                claims: state.clone(),
                desks: zendesk.clone(),
                agents,
                queue: queue.clone(),
                settings,
            },
            escalations: Escalations::new(state, zendesk, queue),
        }
    }

    pub async fn process_job(&self, job: &Job) -> Result<Outcome, JobError> {
        match job {
            Job::Ticket {
                store_id,
                ticket_id,
                ..
            } => {
                self.tickets
                    .handle(store_id, *ticket_id, &attempt_owner())
                    .await
            }
            Job::Conversation {
                store_id,
                account,
                conversation_id,
                event,
            } => {
                self.conversations
                    .handle(store_id, account, conversation_id, event, &attempt_owner())
                    .await
            }
            Job::HandoffNote {
                store_id,
                conversation_id,
                note,
                attempt,
            } => {
                self.escalations
                    .attach_messaging_note(store_id, conversation_id, note, *attempt)
                    .await
            }
        }
    }

    /// Processes one SQS message; `Err` means "redeliver it".
    /// Processes one SQS message; `Err(Transient)` means "redeliver it".
    pub async fn process_message(&self, message: SqsMessage) -> Result<(), JobError> {
        let job = decode_job(&message)?;
        let span = tracing::info_span!("job", store_id = %job.store_id(), thread = %job.thread());
        let outcome = self.process_job(&job).instrument(span.clone()).await?;
        span.in_scope(|| tracing::info!(?outcome, "job done"));
        Ok(())
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        process_batch(event, |message| self.process_message(message)).await
    }
}
