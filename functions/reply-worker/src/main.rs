use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use deskmate_shared::aws::AwsAdapters;
use deskmate_shared::config::{EnvReader, WorkerConfig};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use reply_worker::ReplyWorker;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deskmate_shared::telemetry::init_tracing();
    let metrics = deskmate_shared::measures::install("reply-worker");
    let config = WorkerConfig::from_env(&EnvReader::process())?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &config.table_name, &config.queue_url);
    let secrets = AwsAdapters::secrets(&sdk, config.secrets_ttl);
    let failures = AwsAdapters::failure_policy(
        &sdk,
        &config.queue_url,
        config.dead_letter_queue_url.as_deref(),
        config.retries,
    );
    let worker = Arc::new(ReplyWorker::new(
        aws.state, secrets, aws.queue, failures, &config,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let worker = worker.clone();
        async move {
            let response = worker.handle_batch(event.payload).await;
            deskmate_shared::measures::flush(metrics);
            Ok::<_, Error>(response)
        }
    }))
    .await
}
