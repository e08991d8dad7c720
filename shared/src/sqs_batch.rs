//! How every SQS consumer handles a batch: each message on its own, concurrently, in its own
//! span; poison is logged and dropped; exactly the messages worth retrying are reported.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use tracing::Instrument;

use crate::domain::Job;
use crate::jobs::JobError;

/// The job a message carries; a body that is not one is poison.
pub fn decode_job(message: &SqsMessage) -> Result<Job, JobError> {
    let body = message.body.as_deref().unwrap_or_default();
    serde_json::from_str(body).map_err(|err| JobError::Poison(format!("not a Deskmate job: {err}")))
}

pub async fn process_batch<F, Fut>(event: SqsEvent, process: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
{
    let results = join_all(event.records.into_iter().map(|message| {
        let message_id = message.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("sqs_message", %message_id);
        let work = process(message);
        async move {
            let result = match work.await {
                Err(JobError::Poison(reason)) => {
                    tracing::error!(%reason, "poison message: retrying cannot help; dropped");
                    Ok(())
                }
                Err(err) => {
                    tracing::warn!(error = %err, "message failed; SQS will redeliver it");
                    Err(err)
                }
                Ok(()) => Ok(()),
            };
            (message_id, result)
        }
        .instrument(span)
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
