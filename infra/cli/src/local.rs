//! Every function in one process: the routes on a local port and a worker loop, with
//! embedded defaults (in-memory state, queue and secrets) or a local AWS-compatible server
//! (DynamoDB, SQS, Secrets Manager at one endpoint, such as moto).

use std::sync::Arc;
use std::time::Duration;

use crate::server::Functions;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use deskmate_shared::config::{IngressConfig, WorkerConfig};
use deskmate_shared::failure::RetrySchedule;
use deskmate_shared::queue::{JobQueue, MemoryQueue, SqsQueue};
use deskmate_shared::secrets::{MemorySecrets, SecretStore, SecretVault, SecretsManagerStore};
use deskmate_shared::sqs_batch::FailurePolicy;
use deskmate_shared::state::{
    BotStates, ConversationsAccounts, DeliveryLog, DynamoState, MemoryState, ReplyClaims,
    StoreDirectory, WidgetRoutes,
};
use deskmate_shared::zendesk::ZendeskConnector;
use reply_worker::ReplyWorker;

/// Where the stack keeps its state, queue and secrets.
#[derive(Clone, Debug)]
pub enum Services {
    InMemory,
    /// An AWS-compatible endpoint; the table and queue are created when missing.
    Aws {
        endpoint: String,
        table: String,
        queue: String,
    },
}

impl Services {
    /// A local AWS-compatible endpoint with Deskmate's local table and queue names.
    pub fn local_aws(endpoint: &str) -> Self {
        Services::Aws {
            endpoint: endpoint.to_owned(),
            table: LOCAL_TABLE.into(),
            queue: LOCAL_QUEUE.into(),
        }
    }
}

pub const LOCAL_TABLE: &str = "deskmate-local";
pub const LOCAL_QUEUE: &str = "deskmate-local-jobs";

/// What operator commands read and write: stores, accounts, widget routes and secrets.
#[derive(Clone)]
pub struct OperatorPorts {
    pub stores: Arc<dyn StoreDirectory>,
    pub accounts: Arc<dyn ConversationsAccounts>,
    pub widgets: Arc<dyn WidgetRoutes>,
    pub vault: Arc<dyn SecretVault>,
    pub secrets: Arc<dyn SecretStore>,
}

/// The functions and ports over one state store, secret store and queue.
fn assemble<S, V>(
    state: Arc<S>,
    secrets: Arc<V>,
    queue: Arc<dyn JobQueue>,
    failures: FailurePolicy,
    ingress: &IngressConfig,
    worker: &WorkerConfig,
) -> (Functions, OperatorPorts, ReplyWorker)
where
    S: StoreDirectory
        + ConversationsAccounts
        + WidgetRoutes
        + DeliveryLog
        + BotStates
        + ReplyClaims
        + deskmate_shared::state::TicketCreations
        + deskmate_shared::state::KnowledgeIndexes
        + deskmate_shared::state::BridgeSessions
        + 'static,
    V: SecretStore + SecretVault + 'static,
{
    let ports = OperatorPorts {
        stores: state.clone(),
        accounts: state.clone(),
        widgets: state.clone(),
        vault: secrets.clone(),
        secrets: secrets.clone(),
    };
    let zendesk = Arc::new(ZendeskConnector::from_config(secrets.clone(), worker));
    (
        Functions::new(
            state.clone(),
            queue.clone(),
            zendesk,
            ingress,
            worker.handoff_timing(),
        ),
        ports,
        ReplyWorker::new(state, secrets, queue, failures, worker),
    )
}

pub struct LocalStack {
    pub ports: OperatorPorts,
    pub worker: Arc<ReplyWorker>,
    /// Where Deskmate's routes are served.
    pub url: String,
    jobs: Jobs,
}

enum Jobs {
    Memory(Arc<MemoryQueue>),
    Sqs(SqsEventSource),
}

/// What the Lambda SQS event source does: receive a batch, then delete the messages the
/// worker did not report as failed (those become visible again and are retried).
pub struct SqsEventSource {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl SqsEventSource {
    /// Up to 10 visible messages, waiting up to `wait` for the first.
    pub async fn receive(&self, wait: Duration) -> Result<Vec<SqsMessage>, String> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait.as_secs() as i32)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|err| aws_sdk_sqs::error::DisplayErrorContext(err).to_string())?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let mut record = SqsMessage::default();
                record.message_id = message.message_id;
                record.receipt_handle = message.receipt_handle;
                record.body = message.body;
                record.attributes = message
                    .attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(name, value)| (name.as_str().to_owned(), value))
                    .collect();
                record.message_attributes = message
                    .message_attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(name, value)| {
                        let mut attribute = SqsMessageAttribute::default();
                        attribute.string_value = value.string_value;
                        attribute.data_type = Some(value.data_type);
                        (name, attribute)
                    })
                    .collect();
                record
            })
            .collect())
    }

    pub async fn acknowledge(&self, messages: &[SqsMessage], response: &SqsBatchResponse) {
        for message in messages {
            let failed = response
                .batch_item_failures
                .iter()
                .any(|f| message.message_id.as_ref() == Some(&f.item_identifier));
            if let (false, Some(handle)) = (failed, &message.receipt_handle) {
                let deleted = self
                    .client
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
                if let Err(err) = deleted {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(err), "could not delete a done job");
                }
            }
        }
    }
}

/// Settings for local runs: answers at once (no burst window), short timeouts.
pub fn local_configs(zendesk_base_url: Option<String>) -> (IngressConfig, WorkerConfig) {
    (
        IngressConfig {
            table_name: LOCAL_TABLE.into(),
            queue_url: LOCAL_QUEUE.into(),
            burst_window: Duration::ZERO,
            dedup_ttl: Duration::from_secs(3600),
        },
        WorkerConfig {
            table_name: LOCAL_TABLE.into(),
            queue_url: LOCAL_QUEUE.into(),
            zendesk_base_url,
            secrets_ttl: Duration::from_secs(300),
            agent_timeout: Duration::from_secs(20),
            http_timeout: Duration::from_secs(10),
            claim_lease: Duration::from_secs(60),
            dead_letter_queue_url: None,
            retries: RetrySchedule::default(),
            handoff_recheck: Duration::ZERO,
            public_url: None,
        },
    )
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("could not serve on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("the AWS endpoint {endpoint} did not work: {reason}")]
    Aws { endpoint: String, reason: String },
}

impl LocalStack {
    /// Starts the routes on `address` (e.g. `127.0.0.1:0`); Zendesk calls go to
    /// `zendesk_base_url` when given (the sandbox), else to each store's account.
    pub async fn start(
        services: &Services,
        zendesk_base_url: Option<String>,
        address: &str,
    ) -> Result<Self, LocalError> {
        let (ingress, worker_config) = local_configs(zendesk_base_url);
        let (functions, ports, worker, jobs) = match services {
            Services::InMemory => {
                let state = Arc::new(MemoryState::new());
                let queue = Arc::new(MemoryQueue::new());
                let secrets = Arc::new(MemorySecrets::new());
                let failures = FailurePolicy::new(worker_config.retries, queue.clone(), None);
                let (functions, ports, worker) = assemble(
                    state,
                    secrets,
                    queue.clone(),
                    failures,
                    &ingress,
                    &worker_config,
                );
                (functions, ports, worker, Jobs::Memory(queue))
            }
            Services::Aws {
                endpoint,
                table,
                queue,
            } => {
                let failed = |reason: String| LocalError::Aws {
                    endpoint: endpoint.clone(),
                    reason,
                };
                let region = aws_config::meta::region::RegionProviderChain::default_provider()
                    .or_else("us-east-1");
                let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .endpoint_url(endpoint)
                    .region(region)
                    .load()
                    .await;
                let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
                let sqs = aws_sdk_sqs::Client::new(&sdk);
                let missing = dynamodb
                    .describe_table()
                    .table_name(table)
                    .send()
                    .await
                    .is_err();
                if missing {
                    DynamoState::create_table(&dynamodb, table)
                        .await
                        .map_err(|e| failed(e.to_string()))?;
                }
                let queue_url = sqs
                    .create_queue()
                    .queue_name(queue)
                    .send()
                    .await
                    .map_err(|e| failed(e.to_string()))?
                    .queue_url
                    .unwrap_or_default();
                let state = Arc::new(DynamoState::new(dynamodb, table));
                let secrets = Arc::new(SecretsManagerStore::new(
                    aws_sdk_secretsmanager::Client::new(&sdk),
                    worker_config.secrets_ttl,
                ));
                let queue = Arc::new(SqsQueue::new(sqs.clone(), &queue_url));
                let failures = FailurePolicy::new(worker_config.retries, queue.clone(), None);
                let (functions, ports, worker) =
                    assemble(state, secrets, queue, failures, &ingress, &worker_config);
                let source = SqsEventSource {
                    client: sqs,
                    queue_url,
                };
                (functions, ports, worker, Jobs::Sqs(source))
            }
        };
        let url = crate::server::serve(crate::server::routes(functions), address)
            .await
            .map_err(|source| LocalError::Bind {
                address: address.to_owned(),
                source,
            })?;
        Ok(Self {
            ports,
            worker: Arc::new(worker),
            url,
            jobs,
        })
    }

    /// Runs every job waiting now to completion (the demo's pace); returns how many ran.
    pub async fn run_pending_jobs(&self) -> usize {
        let mut total = 0;
        loop {
            match self.run_batch(Duration::ZERO).await {
                0 => return total,
                ran => total += ran,
            }
        }
    }

    /// Keeps answering jobs as they arrive (`deskmate dev`).
    pub fn spawn_worker_loop(self: &Arc<Self>) {
        let stack = self.clone();
        tokio::spawn(async move {
            loop {
                if stack.run_batch(Duration::from_secs(5)).await == 0 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
    }

    /// Takes one batch of jobs (waiting up to `wait` for SQS) and runs it like the Lambda
    /// event source would; returns how many jobs it took.
    async fn run_batch(&self, wait: Duration) -> usize {
        match &self.jobs {
            Jobs::Memory(queue) => {
                let jobs = queue.drain();
                for job in &jobs {
                    match self.worker.process_job(job).await {
                        Ok(outcome) => tracing::info!(?job, ?outcome, "job done"),
                        Err(err) => tracing::warn!(?job, error = %err, "job failed"),
                    }
                }
                jobs.len()
            }
            Jobs::Sqs(source) => {
                let messages = match source.receive(wait).await {
                    Ok(messages) => messages,
                    Err(err) => {
                        tracing::warn!(error = %err, "could not receive jobs");
                        return 0;
                    }
                };
                let mut event = SqsEvent::default();
                event.records = messages.clone();
                let response = self.worker.handle_batch(event).await;
                source.acknowledge(&messages, &response).await;
                messages.len()
            }
        }
    }
}
