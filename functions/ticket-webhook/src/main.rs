use std::sync::Arc;

use deskmate_shared::aws::AwsAdapters;
use deskmate_shared::config::{EnvReader, IngressConfig};
use deskmate_shared::ingress::lambda_body;
use lambda_http::{Error, Request, RequestExt, service_fn};
use ticket_webhook::TicketWebhook;

#[tokio::main]
async fn main() -> Result<(), Error> {
    deskmate_shared::telemetry::init_tracing();
    let config = IngressConfig::from_env(&EnvReader::process())?;
    let sdk = deskmate_shared::aws::load_sdk_config().await;
    let aws = AwsAdapters::new(&sdk, &config.table_name, &config.queue_url);
    let webhook = Arc::new(TicketWebhook::new(aws.state, aws.queue, &config));
    lambda_http::run(service_fn(move |request: Request| {
        let webhook = webhook.clone();
        async move {
            let store_id = request
                .path_parameters()
                .first("store_id")
                .unwrap_or_default()
                .to_owned();
            Ok::<_, Error>(
                webhook
                    .respond(&store_id, request.headers(), lambda_body(request.body()))
                    .await,
            )
        }
    }))
    .await
}
