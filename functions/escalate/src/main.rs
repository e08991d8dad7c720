use std::sync::Arc;

use deskmate_shared::aws::AwsAdapters;
use deskmate_shared::bridge::Bridge;
use deskmate_shared::config::{EnvReader, WorkerConfig};
use deskmate_shared::handoff::Escalations;
use deskmate_shared::zendesk::ZendeskConnector;
use escalate::{EscalateTool, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    deskmate_shared::telemetry::init_tracing();
    let config = WorkerConfig::from_env(&EnvReader::process())?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &config.table_name, &config.queue_url);
    let zendesk = Arc::new(ZendeskConnector::from_config(
        AwsAdapters::secrets(&sdk, config.secrets_ttl),
        &config,
    ));
    let tool = Arc::new(EscalateTool {
        stores: aws.state.clone(),
        creations: aws.state.clone(),
        bridge: Bridge::new(
            aws.state.clone(),
            zendesk.clone(),
            config.public_url.clone(),
        ),
        escalations: Escalations::new(aws.state, zendesk, aws.queue)
            .with_timing(config.handoff_timing()),
    });
    lambda_http::run(router(tool)).await
}
