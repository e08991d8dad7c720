//! The job queue between the ingress functions and the reply worker: SQS in production,
//! an in-process queue for `deskmate dev` and the demo.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use tokio::sync::Notify;

use crate::domain::Job;

#[derive(Debug, thiserror::Error)]
#[error("job queue unavailable: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues `job`, to be delivered no sooner than `delay` from now.
    async fn enqueue(&self, job: &Job, delay: Duration) -> Result<(), QueueError>;
}

/// SQS caps message delays at 15 minutes.
const MAX_SQS_DELAY: Duration = Duration::from_secs(900);

pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, job: &Job, delay: Duration) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).expect("jobs always serialise");
        let delay = delay.min(MAX_SQS_DELAY).as_secs() as i32;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(delay)
            .send()
            .await
            .map_err(|err| {
                QueueError(match err.as_service_error() {
                    Some(service) => format!(
                        "{}: {}",
                        service.code().unwrap_or("error"),
                        service.message().unwrap_or("")
                    ),
                    None => DisplayErrorContext(&err).to_string(),
                })
            })?;
        Ok(())
    }
}

/// A FIFO of jobs in memory; delays are not simulated (local runs want answers at once).
#[derive(Default)]
pub struct MemoryQueue {
    jobs: Mutex<VecDeque<Job>>,
    arrived: Notify,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every job waiting now.
    pub fn drain(&self) -> Vec<Job> {
        self.lock().drain(..).collect()
    }

    /// Waits until at least one job is waiting, then takes them all.
    pub async fn next_batch(&self) -> Vec<Job> {
        loop {
            let arrived = self.arrived.notified();
            let jobs = self.drain();
            if !jobs.is_empty() {
                return jobs;
            }
            arrived.await;
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Job>> {
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn enqueue(&self, job: &Job, _delay: Duration) -> Result<(), QueueError> {
        self.lock().push_back(job.clone());
        self.arrived.notify_one();
        Ok(())
    }
}
