use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use dead_letters::DeadLetters;
use deskmate_shared::config::{EnvReader, WorkerConfig};
use deskmate_shared::escalation::Escalations;
use deskmate_shared::queue::SqsQueue;
use deskmate_shared::secrets::SecretsManagerStore;
use deskmate_shared::state::DynamoState;
use deskmate_shared::zendesk::ZendeskConnector;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deskmate_shared::telemetry::init_tracing();
    let config = WorkerConfig::from_env(&EnvReader::process())?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let state = Arc::new(DynamoState::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        &config.table_name,
    ));
    let secrets = Arc::new(SecretsManagerStore::new(
        aws_sdk_secretsmanager::Client::new(&sdk),
        config.secrets_ttl,
    ));
    let queue = Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(&sdk),
        &config.queue_url,
    ));
    let zendesk = Arc::new(ZendeskConnector::from_config(secrets, &config));
    let dead_letters = Arc::new(DeadLetters {
        escalations: Escalations::new(state, zendesk, queue),
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let dead_letters = dead_letters.clone();
        async move { Ok::<_, Error>(dead_letters.handle_batch(event.payload).await) }
    }))
    .await
}
