//! AWS SDK configuration, loaded once per cold start.

/// The SDK configuration from the environment (Lambda's role, region, and `AWS_ENDPOINT_URL`
/// when set, which points every client at a local AWS-compatible server).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
