use std::sync::Arc;

use deskmate_shared::aws::AwsAdapters;
use deskmate_shared::config::{EnvReader, WorkerConfig};
use deskmate_shared::zendesk::ZendeskConnector;
use knowledge_sync::KnowledgeSync;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deskmate_shared::telemetry::init_tracing();
    let config = WorkerConfig::from_env(&EnvReader::process())?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &config.table_name, &config.queue_url);
    let zendesk = Arc::new(ZendeskConnector::from_config(
        AwsAdapters::secrets(&sdk, config.secrets_ttl),
        &config,
    ));
    let sync = Arc::new(KnowledgeSync {
        stores: aws.state.clone(),
        indexes: aws.state,
        zendesk,
    });
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let sync = sync.clone();
        async move { sync.run().await.map_err(Error::from) }
    }))
    .await
}
