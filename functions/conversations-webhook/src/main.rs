use std::sync::Arc;

use conversations_webhook::ConversationsWebhook;
use deskmate_shared::aws::AwsAdapters;
use deskmate_shared::config::{EnvReader, IngressConfig};
use deskmate_shared::ingress::lambda_body;
use lambda_http::{Error, Request, RequestExt, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    deskmate_shared::telemetry::init_tracing();
    let config = IngressConfig::from_env(&EnvReader::process())?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &config.table_name, &config.queue_url);
    let webhook = Arc::new(ConversationsWebhook::new(aws.state, aws.queue, &config));
    lambda_http::run(service_fn(move |request: Request| {
        let webhook = webhook.clone();
        async move {
            let account = request
                .path_parameters()
                .first("account")
                .unwrap_or_default()
                .to_owned();
            Ok::<_, Error>(
                webhook
                    .respond(&account, request.headers(), lambda_body(request.body()))
                    .await,
            )
        }
    }))
    .await
}
