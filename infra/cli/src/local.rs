//! Every function in one process with embedded defaults: in-memory state, queue and secrets,
//! the knowledge agent, and the Zendesk sandbox unless real credentials are given.

use std::sync::Arc;
use std::time::Duration;

use deskmate_shared::config::{IngressConfig, WorkerConfig};
use deskmate_shared::domain::Job;
use deskmate_shared::queue::MemoryQueue;
use deskmate_shared::secrets::MemorySecrets;
use deskmate_shared::state::MemoryState;
use deskmate_shared::ticket_flow::{JobError, Outcome};
use reply_worker::ReplyWorker;
use ticket_webhook::TicketWebhook;

pub struct LocalStack {
    pub state: Arc<MemoryState>,
    pub queue: Arc<MemoryQueue>,
    pub secrets: Arc<MemorySecrets>,
    pub worker: Arc<ReplyWorker>,
    /// Where Deskmate's routes are served.
    pub url: String,
}

/// Settings for local runs: answers at once (no burst window), short timeouts.
pub fn local_configs(zendesk_base_url: Option<String>) -> (IngressConfig, WorkerConfig) {
    (
        IngressConfig {
            table_name: "in-memory".into(),
            queue_url: "in-memory".into(),
            burst_window: Duration::ZERO,
            dedup_ttl: Duration::from_secs(3600),
        },
        WorkerConfig {
            table_name: "in-memory".into(),
            zendesk_base_url,
            secrets_ttl: Duration::from_secs(300),
            agent_timeout: Duration::from_secs(20),
            http_timeout: Duration::from_secs(10),
            claim_lease: Duration::from_secs(60),
        },
    )
}

impl LocalStack {
    /// Starts the routes on `address` (e.g. `127.0.0.1:0`); Zendesk calls go to
    /// `zendesk_base_url` when given (the sandbox), else to each store's account.
    pub async fn start(zendesk_base_url: Option<String>, address: &str) -> std::io::Result<Self> {
        let state = Arc::new(MemoryState::new());
        let queue = Arc::new(MemoryQueue::new());
        let secrets = Arc::new(MemorySecrets::new());
        let (ingress, worker_config) = local_configs(zendesk_base_url);
        let webhook = Arc::new(TicketWebhook::new(state.clone(), queue.clone(), &ingress));
        let worker = Arc::new(ReplyWorker::new(
            state.clone(),
            secrets.clone(),
            &worker_config,
        ));
        let url = crate::server::serve(crate::server::routes(webhook), address).await?;
        Ok(Self {
            state,
            queue,
            secrets,
            worker,
            url,
        })
    }

    /// Runs every queued job to completion (the demo's pace).
    pub async fn run_pending_jobs(&self) -> Vec<(Job, Result<Outcome, JobError>)> {
        let mut results = Vec::new();
        for job in self.queue.drain() {
            let result = self.worker.process_job(&job).await;
            results.push((job, result));
        }
        results
    }

    /// Keeps answering jobs as they arrive (`deskmate dev`).
    pub fn spawn_worker_loop(&self) {
        let queue = self.queue.clone();
        let worker = self.worker.clone();
        tokio::spawn(async move {
            loop {
                for job in queue.next_batch().await {
                    match worker.process_job(&job).await {
                        Ok(outcome) => tracing::info!(?job, ?outcome, "job done"),
                        Err(err) => tracing::warn!(?job, error = %err, "job failed"),
                    }
                }
            }
        });
    }
}
