//! AWS SDK configuration, loaded once per cold start.

/// The SDK configuration from the environment (Lambda's role, region, and `AWS_ENDPOINT_URL`
/// when set, which points every client at a local AWS-compatible server).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The production adapters a function builds once per cold start.
pub struct AwsAdapters {
    pub state: std::sync::Arc<crate::state::DynamoState>,
    pub queue: std::sync::Arc<crate::queue::SqsQueue>,
}

impl AwsAdapters {
    pub fn new(sdk: &aws_config::SdkConfig, table: &str, queue_url: &str) -> Self {
        Self {
            state: std::sync::Arc::new(crate::state::DynamoState::new(
                aws_sdk_dynamodb::Client::new(sdk),
                table,
            )),
            queue: std::sync::Arc::new(crate::queue::SqsQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                queue_url,
            )),
        }
    }

    /// The failure policy of the consumer of `queue_url`: retries come back on that queue,
    /// permanent failures go to `dead_letter_queue_url` (none for the dead-letter consumer).
    pub fn failure_policy(
        sdk: &aws_config::SdkConfig,
        queue_url: &str,
        dead_letter_queue_url: Option<&str>,
        schedule: crate::failure::RetrySchedule,
    ) -> crate::sqs_batch::FailurePolicy {
        let client = aws_sdk_sqs::Client::new(sdk);
        let queue =
            |url: &str| std::sync::Arc::new(crate::queue::SqsQueue::new(client.clone(), url));
        crate::sqs_batch::FailurePolicy::new(
            schedule,
            queue(queue_url),
            dead_letter_queue_url
                .map(|url| queue(url) as std::sync::Arc<dyn crate::queue::DeadLetters>),
        )
    }

    /// Secrets Manager, for the functions that call Zendesk or agents (not the webhooks).
    pub fn secrets(
        sdk: &aws_config::SdkConfig,
        ttl: std::time::Duration,
    ) -> std::sync::Arc<crate::secrets::SecretsManagerStore> {
        std::sync::Arc::new(crate::secrets::SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            ttl,
        ))
    }
}
