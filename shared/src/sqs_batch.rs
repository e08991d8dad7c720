//! How every SQS consumer handles a batch: each message on its own, concurrently, in its own
//! span, and the failure policy applied to each: a retry comes back after a growing back-off
//! (or goes to a human once it has failed for too long), a permanent failure goes to the
//! dead-letter path, and exactly the messages to retry are reported.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use tracing::Instrument;

use crate::domain::Job;
use crate::failure::{JobError, Outcome, RetrySchedule, Verdict};
use crate::queue::{DeadLetters, FAILURE_ATTRIBUTE, JobQueue, QueueError, Redelivery};

/// The job a message carries; a body that is not one is not Deskmate's to act on.
pub fn decode_job(message: &SqsMessage) -> Result<Job, JobError> {
    let body = message.body.as_deref().unwrap_or_default();
    serde_json::from_str(body)
        .map_err(|err| JobError::NotActionable(format!("not a Deskmate job: {err}")))
}

/// Why an earlier consumer dead-lettered this message, when it said.
pub fn failure_of(message: &SqsMessage) -> Option<&str> {
    message
        .message_attributes
        .get(FAILURE_ATTRIBUTE)?
        .string_value
        .as_deref()
}

fn receive_count(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
}

/// How long ago the message was first queued.
fn age(message: &SqsMessage) -> Duration {
    let sent = message
        .attributes
        .get("SentTimestamp")
        .and_then(|millis| millis.parse::<u64>().ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    sent.map_or(Duration::ZERO, |sent| {
        Duration::from_millis(now.saturating_sub(sent))
    })
}

/// What a consumer does with failures.
#[derive(Clone)]
pub struct FailurePolicy {
    pub schedule: RetrySchedule,
    pub redelivery: Arc<dyn Redelivery>,
    /// Where permanent failures go; `None` for the dead-letter consumer itself, whose
    /// permanent failures are logged as alerts.
    pub dead_letters: Option<Arc<dyn DeadLetters>>,
    /// Counts the threads this consumer could not hand to a human (each also logged as an
    /// alert naming the store and the thread).
    pub unanswered: Arc<AtomicUsize>,
}

/// The name of the alert logged when a customer may be left without an answer or a human.
pub const UNANSWERED_ALERT: &str = "customer_unanswered";

impl FailurePolicy {
    /// The policy of a consumer that retries through `redelivery` and gives up to
    /// `dead_letters` (none for the dead-letter consumer itself).
    pub fn new(
        schedule: RetrySchedule,
        redelivery: Arc<dyn Redelivery>,
        dead_letters: Option<Arc<dyn DeadLetters>>,
    ) -> Self {
        Self {
            schedule,
            redelivery,
            dead_letters,
            unanswered: Arc::default(),
        }
    }

    /// Applies the policy to one failed message of `store`; `Err` means "report it as failed".
    async fn settle(&self, message: &SqsMessage, store: &str, error: JobError) -> Result<(), ()> {
        let verdict = match self
            .schedule
            .decide(&error, age(message), receive_count(message))
        {
            // A retry needs the message's id in the batch response; without one, a human.
            Verdict::Retry if message.message_id.as_deref().unwrap_or_default().is_empty() => {
                Verdict::DeadLetter
            }
            verdict => verdict,
        };
        match verdict {
            Verdict::Retry => {
                let wait = self.schedule.backoff(receive_count(message));
                tracing::warn!(error = %error, retry_in_s = wait.as_secs(), "job failed; retrying");
                if let Some(handle) = &message.receipt_handle
                    && let Err(err) = self.redelivery.redeliver_after(handle, wait).await
                {
                    tracing::warn!(error = %err, "could not schedule the retry; the queue's visibility timeout applies");
                }
                Err(())
            }
            verdict => {
                let body = message.body.as_deref().unwrap_or_default();
                self.give_up(verdict, body, store, &error)
                    .await
                    .map_err(|err| {
                        tracing::error!(error = %error, dead_letter_error = %err, "job cannot succeed and the dead-letter queue failed; retrying");
                    })
            }
        }
    }

    /// What becomes of a job no retry will help (`verdict` is not a retry): the dead-letter
    /// queue, where a human takes over; without one (the dead-letter consumer itself) the
    /// unanswered alert. A job that is not Deskmate's to act on is dropped with an error.
    async fn give_up(
        &self,
        verdict: Verdict,
        body: &str,
        store: &str,
        error: &JobError,
    ) -> Result<(), QueueError> {
        match (verdict, &self.dead_letters) {
            (Verdict::Drop, _) => {
                tracing::error!(error = %error, "job dropped: not Deskmate's to act on");
                Ok(())
            }
            (_, Some(dead_letters)) => {
                dead_letters.dead_letter(body, &error.to_string()).await?;
                crate::measures::dead_lettered(store);
                tracing::error!(error = %error, "job cannot succeed; sent to the dead-letter queue for a human");
                Ok(())
            }
            (_, None) => {
                self.unanswered.fetch_add(1, Ordering::SeqCst);
                crate::measures::unanswered(store);
                tracing::error!(alert = UNANSWERED_ALERT, error = %error, job = %body, "the thread could not be handed to a human");
                Ok(())
            }
        }
    }
}

impl FailurePolicy {
    /// The policy for one job of a [`Job::Batch`] that failed: it goes on alone — queued
    /// again after the first back-off, or to the dead-letter queue — so the rest of the batch
    /// is done. `Err` when that could not be arranged (the whole batch is then retried; every
    /// job is idempotent).
    pub async fn settle_unpacked(
        &self,
        queue: &dyn JobQueue,
        job: &Job,
        error: JobError,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).expect("jobs always serialise");
        let store = job.store_id().map_or_else(String::new, ToString::to_string);
        match error.verdict() {
            Verdict::Retry => {
                tracing::warn!(error = %error, kind = job.kind(), "a batched job failed; queued again on its own");
                queue.enqueue(job, self.schedule.backoff(1)).await
            }
            verdict => self.give_up(verdict, &body, &store, &error).await,
        }
    }
}

/// Runs every message of the batch at once, each decoded once and in its own span, and
/// applies the failure policy; answers exactly the messages to retry.
pub async fn process_batch<F, Fut>(
    event: SqsEvent,
    policy: &FailurePolicy,
    process: F,
) -> SqsBatchResponse
where
    F: Fn(Job, SqsMessage) -> Fut,
    Fut: Future<Output = Result<Outcome, JobError>>,
{
    let results = join_all(event.records.into_iter().map(|message| {
        let message_id = message.message_id.clone().unwrap_or_default();
        let decoded = decode_job(&message);
        let (store_id, thread) = decoded
            .as_ref()
            .map(|job| {
                let store = job.store_id().map_or("-".to_owned(), ToString::to_string);
                let thread = job.thread().map_or("-".to_owned(), |t| t.to_string());
                (store, thread)
            })
            .unwrap_or_default();
        let span = tracing::info_span!("sqs_message", %message_id, %store_id, %thread);
        // The message stays here for the policy; the consumer gets its own copy.
        let work = decoded.map(|job| process(job, message.clone()));
        async move {
            let result = match work {
                Ok(work) => work.await,
                Err(error) => Err(error),
            };
            let settled = match result {
                Ok(outcome) => {
                    crate::measures::job_done(&store_id, outcome.kind());
                    tracing::info!(outcome = outcome.kind(), detail = ?outcome, "job done");
                    Ok(())
                }
                Err(error) => policy.settle(&message, &store_id, error).await,
            };
            (message_id, settled)
        }
        .instrument(span)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    // An empty identifier would fail the whole batch: such messages never reach here as
    // failures (the policy dead-letters them instead of retrying).
    for (message_id, settled) in results {
        if settled.is_ok() || message_id.is_empty() {
            continue;
        }
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = message_id;
        response.batch_item_failures.push(failure);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::domain::Thread;
    use crate::queue::QueueError;
    use crate::zendesk::ZendeskError;

    /// Records what the policy asked of the queue (pure logic: no AWS here).
    #[derive(Default)]
    struct Recorder {
        retries: Mutex<Vec<(String, Duration)>>,
        dead: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Redelivery for Recorder {
        async fn redeliver_after(&self, handle: &str, delay: Duration) -> Result<(), QueueError> {
            self.retries.lock().unwrap().push((handle.into(), delay));
            Ok(())
        }
    }

    #[async_trait]
    impl DeadLetters for Recorder {
        async fn dead_letter(&self, _: &str, failure: &str) -> Result<(), QueueError> {
            self.dead.lock().unwrap().push(failure.into());
            Ok(())
        }
    }

    fn message(id: &str, receives: u32, ticket_id: u64) -> SqsMessage {
        let job = Job::Ticket {
            store_id: crate::domain::StoreId::parse("acme").unwrap(),
            ticket_id,
            event: crate::domain::TicketEvent::CommentAdded,
        };
        let mut message = SqsMessage::default();
        message.message_id = Some(id.into());
        message.receipt_handle = Some(format!("handle-{id}"));
        message.body = Some(serde_json::to_string(&job).unwrap());
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), receives.to_string());
        message
    }

    #[tokio::test]
    async fn retries_come_back_after_a_backoff_and_permanent_failures_go_to_a_human() {
        let recorder = Arc::new(Recorder::default());
        let policy = FailurePolicy::new(
            RetrySchedule::default(),
            recorder.clone(),
            Some(recorder.clone()),
        );
        let mut event = SqsEvent::default();
        event.records = vec![
            message("ok", 1, 1),
            message("flaky", 2, 2),
            message("refused", 1, 3),
            message("", 1, 2),
            message("stray", 1, 5),
        ];
        // The ticket id says what the job comes to; a body that is no job is not processed.
        let mut garbled = message("garbled", 1, 0);
        garbled.body = Some("not a job".into());
        event.records.push(garbled);
        let response = process_batch(event, &policy, |job, _| async move {
            match job.thread() {
                Some(Thread::Ticket(1)) => Ok(Outcome::Welcomed),
                Some(Thread::Ticket(2)) => {
                    Err(JobError::Zendesk(ZendeskError::Unavailable("503".into())))
                }
                Some(Thread::Ticket(3)) => {
                    Err(JobError::Zendesk(ZendeskError::Forbidden("no".into())))
                }
                _ => Err(JobError::NotActionable("store gone".into())),
            }
        })
        .await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        // Exactly the retry is reported; a message without an id would fail the whole batch,
        // so it goes to a human instead of being retried.
        assert_eq!(failed, ["flaky"]);
        assert_eq!(
            *recorder.retries.lock().unwrap(),
            [("handle-flaky".to_owned(), Duration::from_secs(20))]
        );
        let dead = recorder.dead.lock().unwrap();
        assert_eq!(dead.len(), 2, "{dead:?}");
        assert!(dead[0].contains("403") || dead[1].contains("403"));
    }
}
