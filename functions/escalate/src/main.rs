use std::sync::Arc;

use deskmate_shared::config::{EnvReader, WorkerConfig};
use deskmate_shared::escalation::Escalations;
use deskmate_shared::queue::SqsQueue;
use deskmate_shared::secrets::SecretsManagerStore;
use deskmate_shared::state::DynamoState;
use deskmate_shared::zendesk::ZendeskConnector;
use escalate::EscalateTool;
use lambda_http::{Body, Error, Request, service_fn};

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
    let tool = Arc::new(EscalateTool {
        stores: state.clone(),
        escalations: Escalations::new(state, zendesk, queue),
    });
    lambda_http::run(service_fn(move |request: Request| {
        let tool = tool.clone();
        async move {
            let body: &[u8] = match request.body() {
                Body::Text(text) => text.as_bytes(),
                Body::Binary(bytes) => bytes,
                _ => &[],
            };
            Ok::<_, Error>(
                tool.respond(
                    request.method(),
                    request.uri().path(),
                    request.headers(),
                    body,
                )
                .await,
            )
        }
    }))
    .await
}
