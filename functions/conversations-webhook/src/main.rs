use std::sync::Arc;

use conversations_webhook::ConversationsWebhook;
use deskmate_shared::config::{EnvReader, IngressConfig};
use deskmate_shared::queue::SqsQueue;
use deskmate_shared::state::DynamoState;
use lambda_http::{Body, Error, Request, RequestExt, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deskmate_shared::telemetry::init_tracing();
    let config = IngressConfig::from_env(&EnvReader::process())?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let state = Arc::new(DynamoState::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        &config.table_name,
    ));
    let queue = Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(&sdk),
        &config.queue_url,
    ));
    let webhook = Arc::new(ConversationsWebhook::new(state, queue, &config));
    lambda_http::run(service_fn(move |request: Request| {
        let webhook = webhook.clone();
        async move {
            let account = request
                .path_parameters()
                .first("account")
                .unwrap_or_default()
                .to_owned();
            let body: &[u8] = match request.body() {
                Body::Empty => &[],
                Body::Text(text) => text.as_bytes(),
                Body::Binary(bytes) => bytes,
                _ => &[],
            };
            Ok::<_, Error>(webhook.respond(&account, request.headers(), body).await)
        }
    }))
    .await
}
