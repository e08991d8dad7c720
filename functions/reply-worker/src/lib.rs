//! The SQS consumer: decodes each message on its own, runs the jobs concurrently (one span
//! each) and applies the failure policy: exactly the messages to retry are reported, and
//! permanent failures go to the dead-letter path, where a human takes over.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use deskmate_shared::agent::AgentBackends;
use deskmate_shared::bridge::Bridge;
use deskmate_shared::config::WorkerConfig;
use deskmate_shared::domain::Job;
use deskmate_shared::email_path::TicketReplier;
use deskmate_shared::failure::{JobError, Outcome};
use deskmate_shared::handoff::Escalations;
use deskmate_shared::http_retry::RetryPolicy;
use deskmate_shared::queue::JobQueue;
use deskmate_shared::reply_once::{ReplierSettings, attempt_owner};
use deskmate_shared::secrets::SecretStore;
use deskmate_shared::sqs_batch::{FailurePolicy, process_batch};
use deskmate_shared::state::{
    BotStates, BridgeSessions, ConversationsAccounts, KnowledgeIndexes, ReplyClaims,
    StoreDirectory, WidgetRoutes,
};
use deskmate_shared::widget_path::ConversationReplier;
use deskmate_shared::zendesk::ZendeskConnector;
use tracing::Instrument;

pub struct ReplyWorker {
    pub tickets: TicketReplier,
    pub conversations: ConversationReplier,
    pub escalations: Escalations,
    pub bridge: Bridge,
    pub failures: FailurePolicy,
}

impl ReplyWorker {
    /// The worker with its production adapters for Zendesk and the agent backends.
    pub fn new<S>(
        state: Arc<S>,
        secrets: Arc<dyn SecretStore>,
        queue: Arc<dyn JobQueue>,
        failures: FailurePolicy,
        config: &WorkerConfig,
    ) -> Self
    where
        S: StoreDirectory
            + ConversationsAccounts
            + WidgetRoutes
            + BotStates
            + ReplyClaims
            + KnowledgeIndexes
            + BridgeSessions
            + 'static,
    {
        let zendesk = Arc::new(ZendeskConnector::from_config(secrets.clone(), config));
        let policy = RetryPolicy::default();
        // One HTTP client (and connection pool) for Zendesk and the agent backends.
        // Knowledge agents answer from the store's synced Help Center index when it has one.
        let agents = Arc::new(
            AgentBackends::new(zendesk.http().clone(), secrets.clone(), policy)
                .with_knowledge_indexes(state.clone()),
        );
        let settings = ReplierSettings {
            agent_timeout: config.agent_timeout,
            claim_lease: config.claim_lease,
        };
        let escalations = Escalations::new(state.clone(), zendesk.clone(), queue)
            .with_timing(config.handoff_timing());
        let bridge = Bridge::new(state.clone(), zendesk.clone(), config.public_url.clone());
        Self {
            tickets: TicketReplier {
                stores: state.clone(),
                bot_states: state.clone(),
                claims: state.clone(),
                desks: zendesk.clone(),
                agents: agents.clone(),
                escalations: escalations.clone(),
                settings,
            },
            conversations: ConversationReplier {
                stores: state.clone(),
                accounts: state.clone(),
                bot_states: state.clone(),
                claims: state,
                desks: zendesk,
                agents,
                escalations: escalations.clone(),
                settings,
            },
            escalations,
            bridge,
            failures,
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
            Job::Handoff {
                store_id,
                thread,
                attempt,
            } => self.escalations.follow_up(store_id, thread, *attempt).await,
            Job::PassOn {
                account,
                conversation_id,
                reason,
            } => {
                self.escalations
                    .pass_on(account, conversation_id, reason)
                    .await
            }
            Job::Bridge {
                account,
                conversation_id,
                event,
            } => self.bridge.relay(account, conversation_id, event).await,
            Job::Batch { jobs } => self.process_batched(jobs).await,
        }
    }

    /// Runs the jobs of a batch at once; one that fails goes on alone under the policy.
    async fn process_batched(&self, jobs: &[Job]) -> Result<Outcome, JobError> {
        let results = futures::future::join_all(jobs.iter().map(|job| async move {
            let span = tracing::info_span!("job", kind = job.kind());
            (job, Box::pin(self.process_job(job)).instrument(span).await)
        }))
        .await;
        let mut done = 0;
        for (job, result) in results {
            match result {
                Ok(_) => done += 1,
                Err(error) => {
                    self.failures
                        .settle_unpacked(self.escalations.queue.as_ref(), job, error)
                        .await?
                }
            }
        }
        Ok(Outcome::Skipped(format!(
            "{done} of {} batched jobs done",
            jobs.len()
        )))
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        process_batch(event, &self.failures, |job, _| async move {
            let span = tracing::info_span!("job", kind = job.kind());
            self.process_job(&job).instrument(span).await
        })
        .await
    }
}
