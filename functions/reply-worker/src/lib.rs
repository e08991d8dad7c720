//! The SQS consumer: decodes each message on its own, runs the jobs concurrently (one span
//! each) and reports exactly the messages worth retrying as batch item failures.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use deskmate_shared::agent::AgentBackends;
use deskmate_shared::config::WorkerConfig;
use deskmate_shared::conversation_flow::ConversationReplier;
use deskmate_shared::domain::Job;
use deskmate_shared::http_retry::RetryPolicy;
use deskmate_shared::jobs::{JobError, Outcome};
use deskmate_shared::secrets::SecretStore;
use deskmate_shared::state::{BotStates, ConversationsAccounts, ReplyClaims, StoreDirectory};
use deskmate_shared::ticket_flow::{ReplierSettings, TicketReplier};
use deskmate_shared::zendesk::{ZendeskConnector, http_client};
use futures::future::join_all;
use rand::RngCore;
use tracing::Instrument;

pub struct ReplyWorker {
    pub tickets: TicketReplier,
    pub conversations: ConversationReplier,
}

/// A fresh name for one processing attempt, so two workers holding the same message never
/// mistake each other's reply claims for their own.
fn attempt_owner() -> String {
    format!("{:016x}", rand::rng().next_u64())
}

impl ReplyWorker {
    /// The worker with its production adapters for Zendesk and the agent backends.
    pub fn new<S>(state: Arc<S>, secrets: Arc<dyn SecretStore>, config: &WorkerConfig) -> Self
    where
        S: StoreDirectory + ConversationsAccounts + BotStates + ReplyClaims + 'static,
    {
        let http = http_client(config.http_timeout);
        let policy = RetryPolicy::default();
        let zendesk = Arc::new(ZendeskConnector::new(
            http.clone(),
            secrets.clone(),
            config.zendesk_base_url.clone(),
            policy,
        ));
        let agents = Arc::new(AgentBackends::new(http, secrets, policy));
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
                claims: state,
                desks: zendesk,
                agents,
                settings,
            },
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
        }
    }

    /// Processes one SQS message; `Err` means "redeliver it".
    pub async fn process_message(&self, message: &SqsMessage) -> Result<(), JobError> {
        let body = message.body.as_deref().unwrap_or_default();
        let job: Job = match serde_json::from_str(body) {
            Ok(job) => job,
            Err(err) => {
                tracing::error!(error = %err, "poison message: not a Deskmate job; dropped");
                return Ok(());
            }
        };
        let span = tracing::info_span!("job", store_id = %job.store_id(), thread = %job.thread());
        match self.process_job(&job).instrument(span.clone()).await {
            Ok(outcome) => {
                span.in_scope(|| tracing::info!(?outcome, "job done"));
                Ok(())
            }
            Err(JobError::Poison(reason)) => {
                span.in_scope(
                    || tracing::error!(%reason, "poison job: retrying cannot help; dropped"),
                );
                Ok(())
            }
            Err(err) => {
                span.in_scope(|| tracing::warn!(error = %err, "job failed; SQS will redeliver it"));
                Err(err)
            }
        }
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let results = join_all(event.records.iter().map(|message| {
            let message_id = message.message_id.clone().unwrap_or_default();
            let span = tracing::info_span!("sqs_message", %message_id);
            async move { (message_id, self.process_message(message).await) }.instrument(span)
        }))
        .await;
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = results
            .into_iter()
            .filter(|(_, result)| result.is_err())
            .map(|(message_id, _)| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message_id;
                failure
            })
            .collect();
        response
    }
}
