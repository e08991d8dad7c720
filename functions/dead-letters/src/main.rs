use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use dead_letters::{DeadLetters, dead_letter_schedule};
use deskmate_shared::aws::AwsAdapters;
use deskmate_shared::config::{ConfigError, EnvReader, WorkerConfig};
use deskmate_shared::handoff::Escalations;
use deskmate_shared::zendesk::ZendeskConnector;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deskmate_shared::telemetry::init_tracing();
    let metrics = deskmate_shared::measures::install("dead-letters");
    let config = WorkerConfig::from_env(&EnvReader::process())?;
    let dead_letter_queue = config
        .dead_letter_queue_url
        .clone()
        .ok_or(ConfigError::Missing("DEAD_LETTER_QUEUE_URL"))?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &config.table_name, &config.queue_url);
    let zendesk = Arc::new(ZendeskConnector::from_config(
        AwsAdapters::secrets(&sdk, config.secrets_ttl),
        &config,
    ));
    let dead_letters = Arc::new(DeadLetters {
        escalations: Escalations::new(aws.state, zendesk, aws.queue)
            .with_timing(config.handoff_timing()),
        failures: AwsAdapters::failure_policy(
            &sdk,
            &dead_letter_queue,
            None,
            dead_letter_schedule(),
        ),
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let dead_letters = dead_letters.clone();
        async move {
            let response = dead_letters.handle_batch(event.payload).await;
            deskmate_shared::measures::flush(metrics);
            Ok::<_, Error>(response)
        }
    }))
    .await
}
