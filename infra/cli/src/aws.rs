//! The operator's AWS session: region, profile and credentials checked up front and explained
//! in plain words, the deployed stack's outputs read from CloudFormation, and the Secrets
//! Manager calls the CLI makes beyond the shared vault (recovery windows).

use std::sync::OnceLock;

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// How to reach AWS: `--region`, `--profile`, and a local endpoint (moto) for tests.
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint: Option<String>,
}

/// The SDK configuration this run resolved (region, profile, credentials), shared by every
/// client the commands make. Set once, before any command runs.
static SESSION: OnceLock<aws_config::SdkConfig> = OnceLock::new();

/// Loads the SDK configuration and checks that it has a region and credentials, so a missing
/// one is reported in plain words before any call is made; remembers it for the whole run.
pub async fn open_session(options: &AwsOptions) -> Result<aws_config::SdkConfig, String> {
    if let Some(sdk) = SESSION.get() {
        return Ok(sdk.clone());
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &options.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(match &options.profile {
            Some(profile) => format!(
                "no AWS region: profile {profile} names none; pass --region (e.g. --region eu-west-1) or set AWS_REGION"
            ),
            None => "no AWS region: pass --region (e.g. --region eu-west-1) or set AWS_REGION"
                .to_owned(),
        });
    }
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| no_credentials(options, None))?;
    if let Err(err) = provider.provide_credentials().await {
        return Err(no_credentials(options, Some(&err)));
    }
    Ok(SESSION.get_or_init(|| sdk).clone())
}

/// The session opened for this run, else the environment's defaults (library callers and
/// tests that build a [`crate::admin::Stack`] themselves).
pub async fn session_or_defaults(endpoint: Option<&str>) -> aws_config::SdkConfig {
    if let Some(sdk) = SESSION.get() {
        return sdk.clone();
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

fn no_credentials(options: &AwsOptions, err: Option<&CredentialsError>) -> String {
    let how = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile NAME (a profile in ~/.aws/credentials or ~/.aws/config)";
    let detail = err.map(|err| {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            text = format!("{text}: {inner}");
            source = inner.source();
        }
        text
    });
    let detail = detail.map(|d| d.to_ascii_lowercase());
    match (&options.profile, detail) {
        (Some(profile), Some(detail))
            if detail.contains("sso") || detail.contains("credentials-process") =>
        {
            format!(
                "no credentials: profile {profile} uses AWS SSO or a credential process, which deskmate does not run; \
                 export its credentials first (`eval \"$(aws configure export-credentials --profile {profile} --format env)\"`) and try again"
            )
        }
        (Some(profile), Some(detail)) if detail.contains("profile") => format!(
            "no credentials: profile {profile} is missing or incomplete in ~/.aws/config and ~/.aws/credentials; check its name, or {how}"
        ),
        (Some(profile), _) => format!("no credentials: profile {profile} gave none; {how}"),
        (None, _) => format!("no credentials: {how}"),
    }
}

/// An AWS call's failure in plain words: what AWS said, or why it could not be asked.
pub fn plain_error<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let code = inner.code().unwrap_or("error");
            let message = inner.message().unwrap_or("").trim();
            match code {
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch" => {
                    "AWS refused the credentials (wrong or deleted access key): check AWS_ACCESS_KEY_ID / --profile".to_owned()
                }
                "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => {
                    "the AWS session has expired: log in again (or refresh the profile's credentials)".to_owned()
                }
                "AccessDeniedException" | "AccessDenied" => {
                    format!("AWS denied the call to this identity: {message}")
                }
                _ if message.is_empty() => code.to_owned(),
                _ => format!("{code}: {message}"),
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            "could not reach AWS (no network, a proxy, or a wrong region or endpoint)".to_owned()
        }
        SdkError::ConstructionFailure(_) => {
            "the AWS request could not be made: check the region (--region or AWS_REGION)"
                .to_owned()
        }
        SdkError::ResponseError(_) => "AWS answered something unreadable; try again".to_owned(),
        _ => "the AWS call failed".to_owned(),
    }
}

/// What the CLI reads from the deployed stack's outputs.
#[derive(Clone, Debug, Default)]
pub struct StackOutputs {
    pub table: Option<String>,
    pub api_url: Option<String>,
    pub queue_url: Option<String>,
    pub dead_letter_queue_url: Option<String>,
}

/// The outputs of the CloudFormation stack `name` (as `sam deploy` made it).
pub async fn stack_outputs(
    sdk: &aws_config::SdkConfig,
    name: &str,
) -> Result<StackOutputs, String> {
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_default();
    let answer = aws_sdk_cloudformation::Client::new(sdk)
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|err| {
            let missing = err
                .as_service_error()
                .and_then(|e| e.message())
                .is_some_and(|m| m.contains("does not exist"));
            if missing {
                format!(
                    "no CloudFormation stack {name} in region {region}: check --stack-name (the name you gave `sam deploy`) and --region"
                )
            } else {
                format!(
                    "could not read stack {name} in region {region}: {}",
                    plain_error(&err)
                )
            }
        })?;
    let stack = answer.stacks().first().ok_or_else(|| {
        format!(
            "no CloudFormation stack {name} in region {region}: check --stack-name and --region"
        )
    })?;
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .map(str::to_owned)
    };
    let outputs = StackOutputs {
        table: output("StateTableName"),
        api_url: output("ApiUrl"),
        queue_url: output("JobQueueUrl"),
        dead_letter_queue_url: output("DeadLetterQueueUrl"),
    };
    if outputs.table.is_none() {
        return Err(format!(
            "stack {name} has no StateTableName output: is it a Deskmate stack, and has its deployment finished?"
        ));
    }
    Ok(outputs)
}

/// Deletes a secret with a 7-day recovery window (`aws secretsmanager restore-secret` brings it
/// back meanwhile). A missing secret is not an error.
pub async fn delete_secret_recoverably(
    sdk: &aws_config::SdkConfig,
    name: &str,
) -> Result<(), String> {
    let deleted = aws_sdk_secretsmanager::Client::new(sdk)
        .delete_secret()
        .secret_id(name)
        .recovery_window_in_days(RECOVERY_WINDOW_DAYS)
        .send()
        .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        // Already scheduled for deletion.
        Err(err)
            if err.as_service_error().is_some_and(|e| {
                e.is_invalid_request_exception() && e.message().is_some_and(|m| m.contains("delet"))
            }) =>
        {
            Ok(())
        }
        Err(err) => Err(format!(
            "could not delete secret {name}: {}",
            plain_error(&err)
        )),
    }
}

/// Secrets deleted by `store disconnect` stay recoverable this many days.
pub const RECOVERY_WINDOW_DAYS: i64 = 7;

/// Brings back a secret that `store disconnect` scheduled for deletion, so connecting the
/// store again can write its new value (Secrets Manager refuses to write a secret pending
/// deletion). Nothing happens when the secret does not exist or is not pending deletion.
/// Whether it restored the secret.
pub async fn restore_if_scheduled_for_deletion(
    sdk: &aws_config::SdkConfig,
    name: &str,
) -> Result<bool, String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let described = match client.describe_secret().secret_id(name).send().await {
        Ok(described) => described,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Ok(false);
        }
        Err(err) => {
            return Err(format!(
                "could not read secret {name}: {}",
                plain_error(&err)
            ));
        }
    };
    if described.deleted_date().is_some() {
        client
            .restore_secret()
            .secret_id(name)
            .send()
            .await
            .map_err(|err| format!("could not restore secret {name}: {}", plain_error(&err)))?;
        return Ok(true);
    }
    Ok(false)
}

/// Whether the table exists, in plain words when it does not (a wrong name or region is the
/// usual cause). An identity that may not describe tables is let through: its first real call
/// will say what it may not do.
pub async fn check_table(sdk: &aws_config::SdkConfig, table: &str) -> Result<(), String> {
    let described = aws_sdk_dynamodb::Client::new(sdk)
        .describe_table()
        .table_name(table)
        .send()
        .await;
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_default();
    match described {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Err(format!(
                "no table {table} in region {region}: pass --stack-name NAME (or --table with its StateTableName output) and the stack's --region"
            ))
        }
        Err(err) if err.code().is_some_and(|c| c.contains("AccessDenied")) => Ok(()),
        Err(err) => Err(format!(
            "table {table} in region {region}: {}",
            plain_error(&err)
        )),
    }
}
