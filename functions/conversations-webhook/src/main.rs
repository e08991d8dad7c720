use std::sync::Arc;

use conversations_webhook::{ConversationsWebhook, router};
use deskmate_shared::aws::AwsAdapters;
use deskmate_shared::config::{EnvReader, IngressConfig};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    deskmate_shared::telemetry::init_tracing();
    let config = IngressConfig::from_env(&EnvReader::process())?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &config.table_name, &config.queue_url);
    let webhook = Arc::new(ConversationsWebhook::new(aws.state, aws.queue, &config));
    lambda_http::run(router(webhook)).await
}
