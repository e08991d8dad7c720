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

#[derive(Clone, Debug, thiserror::Error)]
#[error("job queue unavailable: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues `job`, to be delivered no sooner than `delay` from now.
    async fn enqueue(&self, job: &Job, delay: Duration) -> Result<(), QueueError>;

    /// Enqueues many jobs (a webhook payload's); the result of each, in order.
    async fn enqueue_many(&self, jobs: &[(Job, Duration)]) -> Vec<Result<(), QueueError>> {
        let mut results = Vec::with_capacity(jobs.len());
        for (job, delay) in jobs {
            results.push(self.enqueue(job, *delay).await);
        }
        results
    }
}

/// Brings a failed message back sooner (or later) than the queue's visibility timeout.
#[async_trait]
pub trait Redelivery: Send + Sync {
    async fn redeliver_after(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), QueueError>;
}

/// The attribute that carries why a job was dead-lettered.
pub const FAILURE_ATTRIBUTE: &str = "deskmate_failure";

/// Where jobs go that retrying cannot help: the dead-letter consumer hands their thread to a
/// human.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    async fn dead_letter(&self, body: &str, failure: &str) -> Result<(), QueueError>;
}

fn queue_error<E, R>(err: aws_sdk_sqs::error::SdkError<E, R>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    QueueError(match err.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("")
        ),
        None => DisplayErrorContext(&err).to_string(),
    })
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
            .map_err(queue_error)?;
        Ok(())
    }

    /// Batches of ten (SQS's limit), sent at once.
    async fn enqueue_many(&self, jobs: &[(Job, Duration)]) -> Vec<Result<(), QueueError>> {
        let batches =
            futures::future::join_all(jobs.chunks(10).map(|batch| self.send_batch(batch)));
        batches.await.into_iter().flatten().collect()
    }
}

impl SqsQueue {
    /// One `SendMessageBatch` of up to ten jobs; the result of each.
    async fn send_batch(&self, jobs: &[(Job, Duration)]) -> Vec<Result<(), QueueError>> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let entries = jobs.iter().enumerate().map(|(i, (job, delay))| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(serde_json::to_string(job).expect("jobs always serialise"))
                .delay_seconds(delay.min(&MAX_SQS_DELAY).as_secs() as i32)
                .build()
                .expect("id and body are set")
        });
        let sent = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries.collect()))
            .send()
            .await;
        match sent {
            Err(err) => {
                let err = queue_error(err);
                jobs.iter().map(|_| Err(err.clone())).collect()
            }
            Ok(output) => (0..jobs.len())
                .map(
                    |i| match output.failed().iter().find(|f| f.id() == i.to_string()) {
                        Some(failed) => Err(QueueError(format!(
                            "{}: {}",
                            failed.code(),
                            failed.message().unwrap_or("")
                        ))),
                        None => Ok(()),
                    },
                )
                .collect(),
        }
    }
}

#[async_trait]
impl Redelivery for SqsQueue {
    async fn redeliver_after(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(delay.as_secs().min(43_200) as i32)
            .send()
            .await
            .map_err(queue_error)?;
        Ok(())
    }
}

#[async_trait]
impl DeadLetters for SqsQueue {
    async fn dead_letter(&self, body: &str, failure: &str) -> Result<(), QueueError> {
        let reason = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(failure.chars().take(1_000).collect::<String>())
            .build()
            .expect("data type is set");
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes(FAILURE_ATTRIBUTE, reason)
            .send()
            .await
            .map_err(queue_error)?;
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

/// Local runs keep failed jobs where they are: the next poll takes them again.
#[async_trait]
impl Redelivery for MemoryQueue {
    async fn redeliver_after(&self, _: &str, _: Duration) -> Result<(), QueueError> {
        Ok(())
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
