//! Connecting a store: test the Zendesk connection, save the API token in the secret store
//! and the store (with a fresh webhook token, kept as a hash) in the state table.

use deskmate_shared::auth::{TokenHash, generate_token};
use deskmate_shared::domain::{AgentSettings, ConversationsAccount, StoreConfig, StoreId};
use deskmate_shared::secrets::{SecretVault, SecretsError};
use deskmate_shared::state::{ConversationsAccounts, StateError, StoreDirectory, WidgetError};
use deskmate_shared::zendesk::{SupportClient, ZendeskError, setup};
use secrecy::{ExposeSecret, SecretString};

pub struct NewStore {
    pub id: StoreId,
    pub name: String,
    pub subdomain: String,
    pub bot_email: String,
    pub api_token: SecretString,
    pub brand_id: Option<u64>,
    pub instructions: String,
    pub agent: AgentSettings,
    /// The bot's name in the Web Widget.
    pub display_name: String,
}

/// A saved store, the webhook token to paste into Zendesk and the escalate tool's token for
/// the AI agent platform (shown once, stored as hashes).
#[derive(Clone)]
pub struct ConnectedStore {
    pub config: StoreConfig,
    pub webhook_token: SecretString,
    pub tool_token: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "the bot user {name} is a {role}, which cannot post public replies; the bot user must be a full Agent (the Agent role, or a custom agent role) or an Admin"
    )]
    BotNotFullAgent { name: String, role: String },
    #[error(transparent)]
    Zendesk(#[from] ZendeskError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Widget(#[from] WidgetError),
}

pub fn zendesk_token_secret_name(store: &StoreId) -> String {
    format!("deskmate/{store}/zendesk-api-token")
}

pub async fn connect_store(
    stores: &dyn StoreDirectory,
    vault: &dyn SecretVault,
    client: &SupportClient,
    new: NewStore,
) -> Result<ConnectedStore, SetupError> {
    let bot = client.me().await?;
    if !bot.is_full_agent() {
        return Err(SetupError::BotNotFullAgent {
            role: bot.role_name(),
            name: bot.name,
        });
    }
    let secret_name = zendesk_token_secret_name(&new.id);
    vault.put_secret(&secret_name, &new.api_token).await?;
    let webhook_token = generate_token("dmw");
    let tool_token = generate_token("dmt");
    let config = StoreConfig {
        id: new.id,
        name: new.name,
        subdomain: new.subdomain,
        bot_email: new.bot_email,
        bot_user_id: bot.id,
        brand_id: new.brand_id,
        zendesk_token_secret: secret_name,
        webhook_token_hash: TokenHash::of(webhook_token.expose_secret()),
        tool_token_hash: Some(TokenHash::of(tool_token.expose_secret())),
        webhook_signing_secret: None,
        escalation_group_id: None,
        instructions: new.instructions,
        handoff_message: StoreConfig::DEFAULT_HANDOFF_MESSAGE.to_owned(),
        agent: new.agent,
        widget_integration_id: None,
        display_name: new.display_name,
        avatar_url: None,
        welcome_message: StoreConfig::DEFAULT_WELCOME_MESSAGE.to_owned(),
        mode: Default::default(),
        bridge: None,
    };
    stores.save_store(&config).await?;
    Ok(ConnectedStore {
        config,
        webhook_token,
        tool_token,
    })
}

/// Creates the store's Zendesk webhook and triggers, and keeps the signing secret so every
/// delivery's signature is verified from now on.
pub async fn install_email_path(
    stores: &dyn StoreDirectory,
    client: &SupportClient,
    connected: &mut ConnectedStore,
    deskmate_url: &str,
) -> Result<(), SetupError> {
    let webhook_url = format!("{deskmate_url}/webhooks/zendesk/{}", connected.config.id);
    let installed = setup::install_email_path(
        client,
        &connected.config,
        &webhook_url,
        &connected.webhook_token,
    )
    .await?;
    connected.config.webhook_signing_secret = Some(installed.signing_secret);
    stores.save_store(&connected.config).await?;
    Ok(())
}

/// An account's Conversations API key and its integration's shared secret, as the operator
/// copies them from Admin Center.
pub struct ConversationsCredentials {
    pub subdomain: String,
    pub app_id: String,
    pub key_id: String,
    pub key_secret: SecretString,
    pub integration_id: String,
    pub shared_secret: SecretString,
}

pub fn conversations_key_secret_name(subdomain: &str) -> String {
    format!("deskmate/accounts/{subdomain}/conversations-key-secret")
}

/// Saves an account's Conversations settings: the key secret in the secret store, the shared
/// secret only as a hash.
pub async fn connect_conversations(
    accounts: &dyn ConversationsAccounts,
    vault: &dyn SecretVault,
    credentials: ConversationsCredentials,
) -> Result<ConversationsAccount, SetupError> {
    let key_secret_name = conversations_key_secret_name(&credentials.subdomain);
    vault
        .put_secret(&key_secret_name, &credentials.key_secret)
        .await?;
    let account = ConversationsAccount {
        subdomain: credentials.subdomain,
        app_id: credentials.app_id,
        key_id: credentials.key_id,
        key_secret_name,
        shared_secret_hash: TokenHash::of(credentials.shared_secret.expose_secret()),
        integration_id: credentials.integration_id,
    };
    accounts.save_account(&account).await?;
    Ok(account)
}

/// Accepts `acme` or `acme.zendesk.com` (any case, surrounding spaces) and returns `acme`.
pub fn normalize_subdomain(input: &str) -> Result<String, String> {
    let accepted = "give the account's subdomain as `acme` or `acme.zendesk.com`";
    let trimmed = input.trim().to_ascii_lowercase();
    if trimmed.is_empty() {
        return Err(format!("the subdomain is empty; {accepted}"));
    }
    if trimmed.contains("://") || trimmed.contains('/') {
        return Err(format!("{input:?} is a URL, not a subdomain; {accepted}"));
    }
    let name = match trimmed.strip_suffix(".zendesk.com") {
        Some(name) => name.to_owned(),
        None if trimmed.contains('.') => {
            return Err(format!(
                "{input:?} is not a zendesk.com address; {accepted}"
            ));
        }
        None => trimmed,
    };
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(name)
    } else {
        Err(format!(
            "{input:?} is not a valid subdomain (letters, digits and inner hyphens); {accepted}"
        ))
    }
}

/// What the operator should do about a failed connection test.
pub fn explain_connection_error(subdomain: &str, err: &SetupError) -> String {
    match err {
        SetupError::Zendesk(ZendeskError::Unauthorized) => {
            "Zendesk refused the credentials (401): the API token is invalid, \
or token access is disabled in Admin Center → Apps and integrations → APIs → API configuration, \
or the bot email is not the token's account."
                .into()
        }
        SetupError::Zendesk(ZendeskError::NotFound)
        | SetupError::Zendesk(ZendeskError::Unavailable(_)) => {
            format!(
                "no Zendesk account answers at {subdomain}.zendesk.com (404 or no such host); check the subdomain"
            )
        }
        SetupError::Zendesk(ZendeskError::Forbidden(_)) => {
            "Zendesk refused the bot user (403): it needs the Agent role and API access".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_are_normalised_or_refused_with_the_accepted_forms() {
        for (input, expected) in [
            ("acme", "acme"),
            (" Acme ", "acme"),
            ("acme.zendesk.com", "acme"),
            ("ACME.Zendesk.com", "acme"),
            ("acme-eu2", "acme-eu2"),
        ] {
            assert_eq!(
                normalize_subdomain(input).as_deref(),
                Ok(expected),
                "{input:?}"
            );
        }
        for input in [
            "",
            "  ",
            "https://acme.zendesk.com",
            "acme.zendesk.com/agent",
            "acme.example.com",
            "acme.freshdesk.com",
            "-acme",
            "acme_eu",
            "ac me",
            ".zendesk.com",
            &"a".repeat(64),
        ] {
            let err = normalize_subdomain(input).unwrap_err();
            assert!(
                err.contains("`acme` or `acme.zendesk.com`"),
                "{input:?}: {err}"
            );
        }
    }
}
