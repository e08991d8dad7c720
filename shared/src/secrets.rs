//! Outbound credentials (Zendesk API tokens, agent API keys): Secrets Manager in production,
//! fetched once and cached for a while; an in-memory store for local runs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret {0} does not exist")]
    NotFound(String),
    #[error("secret {0} has no string value")]
    NotAString(String),
    #[error("secrets store unavailable: {0}")]
    Unavailable(String),
}

impl SecretsError {
    /// Whether trying again later may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretsError::Unavailable(_))
    }
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn secret(&self, name: &str) -> Result<SecretString, SecretsError>;
}

/// Saves outbound credentials (operator tooling; the functions only read).
#[async_trait]
pub trait SecretVault: Send + Sync {
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), SecretsError>;
    /// Deletes the secret at once (no recovery window); a missing secret is not an error.
    async fn delete_secret(&self, name: &str) -> Result<(), SecretsError>;
}

pub struct SecretsManagerStore {
    client: Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, SecretString)>>,
}

impl SecretsManagerStore {
    pub fn new(client: Client, ttl: Duration) -> Self {
        Self {
            client,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, name: &str) -> Option<SecretString> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(name)
            .filter(|(fetched, _)| fetched.elapsed() < self.ttl)
            .map(|(_, secret)| secret.clone())
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn secret(&self, name: &str) -> Result<SecretString, SecretsError> {
        if let Some(secret) = self.cached(name) {
            return Ok(secret);
        }
        let output = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(service) if service.is_resource_not_found_exception() => {
                    SecretsError::NotFound(name.to_owned())
                }
                _ => unavailable(err),
            })?;
        let secret = SecretString::from(
            output
                .secret_string
                .ok_or_else(|| SecretsError::NotAString(name.to_owned()))?,
        );
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), (Instant::now(), secret.clone()));
        Ok(secret)
    }
}

fn unavailable<E, R>(err: aws_sdk_secretsmanager::error::SdkError<E, R>) -> SecretsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(service) => SecretsError::Unavailable(format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("")
        )),
        None => SecretsError::Unavailable(DisplayErrorContext(&err).to_string()),
    }
}

#[async_trait]
impl SecretVault for SecretsManagerStore {
    /// Creates the secret, or stores a new version when it exists.
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), SecretsError> {
        let created = self
            .client
            .create_secret()
            .name(name)
            .secret_string(value.expose_secret())
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_exists_exception()) =>
            {
                self.client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value.expose_secret())
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
            Err(err) => return Err(unavailable(err)),
        }
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        Ok(())
    }

    async fn delete_secret(&self, name: &str) -> Result<(), SecretsError> {
        let deleted = self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        match deleted {
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            other => other.map(|_| ()).map_err(unavailable),
        }
    }
}

#[derive(Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<String, SecretString>>,
}

impl MemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, name: impl Into<String>, value: SecretString) {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.into(), value);
    }
}

#[async_trait]
impl SecretStore for MemorySecrets {
    async fn secret(&self, name: &str) -> Result<SecretString, SecretsError> {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| SecretsError::NotFound(name.to_owned()))
    }
}

#[async_trait]
impl SecretVault for MemorySecrets {
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), SecretsError> {
        self.insert(name, value.clone());
        Ok(())
    }

    async fn delete_secret(&self, name: &str) -> Result<(), SecretsError> {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        Ok(())
    }
}
