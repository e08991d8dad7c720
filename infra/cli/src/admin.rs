//! Operator commands against a deployed stack: its DynamoDB table and Secrets Manager.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use deskmate_shared::auth::{TokenHash, generate_token};
use deskmate_shared::domain::{AgentSettings, StoreId, TicketEvent};
use deskmate_shared::http_retry::RetryPolicy;
use deskmate_shared::secrets::SecretsManagerStore;
use deskmate_shared::state::DynamoState;
use deskmate_shared::state::WidgetError;
use deskmate_shared::zendesk::setup::{
    email_triggers, install_email_path, trigger_payload_template,
};
use deskmate_shared::zendesk::{
    ConversationsClient, SupportClient, ZendeskError, account_base_url, http_client,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::local::OperatorPorts;
use crate::setup::SetupError;
use crate::setup::{
    ConversationsCredentials, NewStore, connect_conversations, connect_store,
    explain_connection_error, normalize_subdomain,
};

/// Where the deployed stack keeps its state.
pub struct Stack {
    pub table: String,
    pub aws_endpoint: Option<String>,
    /// Sends Zendesk calls here instead of `https://{subdomain}.zendesk.com` (the sandbox).
    pub zendesk_url: Option<String>,
    /// The stack's API base URL (the `ApiUrl` output), for the URLs printed on the card.
    pub api_url: String,
}

impl Stack {
    pub async fn ports(&self) -> OperatorPorts {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = &self.aws_endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        let state = Arc::new(DynamoState::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &self.table,
        ));
        let secrets = Arc::new(SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            Duration::from_secs(60),
        ));
        OperatorPorts {
            stores: state.clone(),
            accounts: state.clone(),
            widgets: state,
            vault: secrets.clone(),
            secrets,
        }
    }

    fn support_client(&self, subdomain: &str, email: &str, token: &SecretString) -> SupportClient {
        SupportClient::new(
            http_client(Duration::from_secs(10)),
            account_base_url(subdomain, self.zendesk_url.as_deref()),
            email,
            token,
            RetryPolicy {
                max_attempts: 2,
                ..RetryPolicy::default()
            },
        )
    }
}

/// A secret from the environment, else from standard input (never from the command line,
/// where it would land in shell history and process lists).
pub fn read_secret(variable: &str, what: &str) -> Result<SecretString, String> {
    if let Ok(value) = std::env::var(variable)
        && !value.trim().is_empty()
    {
        return Ok(SecretString::from(value.trim().to_owned()));
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|err| format!("could not read the {what} from standard input: {err}"))?;
    let value = input.trim();
    if value.is_empty() {
        return Err(format!(
            "no {what}: set {variable} or pipe it on standard input"
        ));
    }
    Ok(SecretString::from(value.to_owned()))
}

/// A store id from its name: `Acme Shoes` → `acme-shoes`.
pub fn store_id_from_name(name: &str) -> String {
    let mut id = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_matches('-')
        .chars()
        .take(StoreId::MAX_LEN)
        .collect()
}

pub struct ConnectArgs {
    /// The markdown knowledge file the embedded agent answers from.
    pub knowledge: Option<String>,
    pub name: String,
    pub id: Option<String>,
    pub subdomain: String,
    pub bot_email: String,
    pub brand_id: Option<u64>,
}

/// `deskmate store connect`: tests the connection, saves the store, returns its card.
pub async fn store_connect(
    stack: &Stack,
    args: ConnectArgs,
    api_token: SecretString,
) -> Result<Value, String> {
    let subdomain = normalize_subdomain(&args.subdomain)?;
    let knowledge = match &args.knowledge {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read the knowledge file {path}: {err}"))?,
        None => String::new(),
    };
    let id = args.id.unwrap_or_else(|| store_id_from_name(&args.name));
    let id = StoreId::parse(&id).map_err(|err| format!("store id {id:?}: {err}"))?;
    let ports = stack.ports().await;
    let client = stack.support_client(&subdomain, &args.bot_email, &api_token);
    let connected = connect_store(
        ports.stores.as_ref(),
        ports.vault.as_ref(),
        &client,
        NewStore {
            id,
            name: args.name.clone(),
            subdomain: subdomain.clone(),
            bot_email: args.bot_email.clone(),
            api_token,
            brand_id: args.brand_id,
            instructions: String::new(),
            agent: AgentSettings::Knowledge {
                knowledge_markdown: knowledge,
            },
            display_name: args.name,
        },
    )
    .await
    .map_err(|err| explain_connection_error(&subdomain, &err))?;
    let store = &connected.config;
    let api = stack.api_url.trim_end_matches('/');
    Ok(json!({
        "store_id": store.id.as_str(),
        "name": store.name,
        "account": format!("{subdomain}.zendesk.com"),
        "bot_user_id": store.bot_user_id,
        "webhook_url": format!("{api}/webhooks/zendesk/{}", store.id),
        "webhook_bearer_token": connected.webhook_token.expose_secret(),
        "trigger_payload": trigger_payload_template(TicketEvent::TicketCreated),
        "tool_url": format!("{api}/tools/escalate"),
        "tool_token": connected.tool_token.expose_secret(),
        "conversations_webhook_url": format!("{api}/webhooks/conversations/{subdomain}"),
    }))
}

/// `deskmate zendesk setup`: creates or updates the store's webhook and triggers, rotates the
/// webhook's bearer token (only its hash is kept, so setting the webhook needs a new one) and
/// stores the signing secret so every delivery's signature is verified from then on.
pub async fn zendesk_setup(
    stack: &Stack,
    store_id: &str,
    print_only: bool,
) -> Result<Value, String> {
    let id = StoreId::parse(store_id).map_err(|err| format!("store id {store_id:?}: {err}"))?;
    let ports = stack.ports().await;
    let mut store = ports
        .stores
        .store(&id)
        .await
        .map_err(|err| format!("could not read table {}: {err}", stack.table))?
        .ok_or_else(|| {
            format!(
                "no store {id} in table {}; connect it first with `deskmate store connect`",
                stack.table
            )
        })?;
    let webhook_url = format!(
        "{}/webhooks/zendesk/{id}",
        stack.api_url.trim_end_matches('/')
    );
    if print_only {
        return Ok(json!({
            "store_id": id.as_str(),
            "webhook": {"name": format!("Deskmate events ({id})"), "endpoint": webhook_url, "method": "POST", "format": "json", "authentication": "Bearer token (rotate it with this command without --print)"},
            "triggers": email_triggers(&store, "<the webhook's id>"),
        }));
    }
    let token = ports
        .secrets
        .secret(&store.zendesk_token_secret)
        .await
        .map_err(|err| format!("the store's Zendesk API token: {err}"))?;
    let client = stack.support_client(&store.subdomain, &store.bot_email, &token);
    let bearer = generate_token("dmw");
    let installed = install_email_path(&client, &store, &webhook_url, &bearer)
        .await
        .map_err(|err| format!("Zendesk refused the setup: {err}"))?;
    store.webhook_token_hash = TokenHash::of(bearer.expose_secret());
    store.webhook_signing_secret = Some(installed.signing_secret);
    ports
        .stores
        .save_store(&store)
        .await
        .map_err(|err| format!("could not save the store: {err}"))?;
    Ok(json!({
        "store_id": id.as_str(),
        "webhook_id": installed.webhook_id,
        "webhook_url": webhook_url,
        "webhook_bearer_token": bearer.expose_secret(),
        "trigger_ids": installed.trigger_ids,
        "signatures_verified": true,
    }))
}

/// The card as an operator reads it.
pub fn render_card(card: &Value) -> String {
    let field = |name: &str| {
        card[name]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| card[name].to_string())
    };
    format!(
        "Connected to {account}; the bot user is #{bot}.\n\
         Store {id} ({name}) is saved.\n\n\
         Email path: create a Zendesk webhook (POST, JSON, Bearer token) and two triggers:\n\
         \x20 Webhook URL:     {webhook}\n\
         \x20 Bearer token:    {bearer}   (shown once)\n\
         \x20 Trigger payload: {payload}   (\"event\": \"comment_added\" in the second trigger)\n\n\
         Escalate tool for your AI agent:\n\
         \x20 Tool URL:        {tool}\n\
         \x20 Tool token:      {tool_token}   (shown once)\n\n\
         Web Widget: the account's Conversations integration posts to {conversations}\n",
        account = field("account"),
        bot = field("bot_user_id"),
        id = field("store_id"),
        name = field("name"),
        webhook = field("webhook_url"),
        bearer = field("webhook_bearer_token"),
        payload = card["trigger_payload"],
        tool = field("tool_url"),
        tool_token = field("tool_token"),
        conversations = field("conversations_webhook_url"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_come_from_names() {
        assert_eq!(store_id_from_name("Acme Shoes"), "acme-shoes");
        assert_eq!(store_id_from_name("  Ça & Co.  "), "a-co");
        assert!(StoreId::parse(&store_id_from_name(&"Long name ".repeat(20))).is_ok());
    }
}

fn required_env(variable: &str, what: &str) -> Result<SecretString, String> {
    std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| SecretString::from(v.trim().to_owned()))
        .ok_or_else(|| {
            format!("set {variable} to the {what} (secrets are never taken from the command line)")
        })
}

pub struct ConversationsArgs {
    pub account: String,
    pub app_id: String,
    pub key_id: String,
    pub integration_id: String,
}

/// `deskmate conversations connect`: checks the API key against the app, then saves the
/// account's settings (key secret in Secrets Manager, shared secret as a hash).
pub async fn conversations_connect(
    stack: &Stack,
    args: ConversationsArgs,
) -> Result<Value, String> {
    let account = normalize_subdomain(&args.account)?;
    let key_secret = required_env(
        "DESKMATE_CONVERSATIONS_KEY_SECRET",
        "Conversations API key secret",
    )?;
    let shared_secret = required_env(
        "DESKMATE_CONVERSATIONS_SHARED_SECRET",
        "Conversations integration's shared secret",
    )?;
    let client = ConversationsClient::new(
        http_client(Duration::from_secs(10)),
        &account_base_url(&account, stack.zendesk_url.as_deref()),
        &args.app_id,
        &args.key_id,
        &key_secret,
        RetryPolicy::default(),
    );
    let integrations = client
        .integrations("custom")
        .await
        .map_err(|err| match err {
            ZendeskError::Unauthorized => {
                "Zendesk refused the Conversations API key (401): check the key id and secret"
                    .to_owned()
            }
            ZendeskError::NotFound => format!(
                "no Conversations app {} at {account}.zendesk.com",
                args.app_id
            ),
            other => format!("could not reach the Conversations API: {other}"),
        })?;
    if !integrations
        .iter()
        .any(|i| i["id"] == args.integration_id.as_str())
    {
        return Err(format!(
            "{} is not a Conversations integration of app {}; copy its id from Admin Center → Conversations integrations",
            args.integration_id, args.app_id
        ));
    }
    let ports = stack.ports().await;
    let saved = connect_conversations(
        ports.accounts.as_ref(),
        ports.vault.as_ref(),
        ConversationsCredentials {
            subdomain: account.clone(),
            app_id: args.app_id,
            key_id: args.key_id,
            key_secret,
            integration_id: args.integration_id,
            shared_secret,
        },
    )
    .await
    .map_err(|err| err.to_string())?;
    Ok(json!({
        "account": account,
        "app_id": saved.app_id,
        "integration_id": saved.integration_id,
        "webhook_url": format!("{}/webhooks/conversations/{account}", stack.api_url.trim_end_matches('/')),
        "next": "map each brand's widget with `deskmate widgets map`, then run `deskmate switchboard register`",
    }))
}

async fn conversations_client(
    stack: &Stack,
    ports: &OperatorPorts,
    account: &str,
) -> Result<ConversationsClient, String> {
    let settings = ports
        .accounts
        .account(account)
        .await
        .map_err(|err| err.to_string())?
        .ok_or_else(|| format!("no Conversations settings for {account}; run `deskmate conversations connect` first"))?;
    let key_secret = ports
        .secrets
        .secret(&settings.key_secret_name)
        .await
        .map_err(|err| err.to_string())?;
    Ok(ConversationsClient::new(
        http_client(Duration::from_secs(10)),
        &account_base_url(account, stack.zendesk_url.as_deref()),
        &settings.app_id,
        &settings.key_id,
        &key_secret,
        RetryPolicy::default(),
    ))
}

/// `deskmate widgets list`: every brand's Web Widget with the store it is mapped to.
pub async fn widgets_list(stack: &Stack, account: &str) -> Result<Value, String> {
    let account = normalize_subdomain(account)?;
    let ports = stack.ports().await;
    let client = conversations_client(stack, &ports, &account).await?;
    let widgets = client
        .integrations("web")
        .await
        .map_err(|err| err.to_string())?;
    let mut rows = Vec::new();
    for widget in widgets {
        let id = widget["id"].as_str().unwrap_or_default().to_owned();
        let owner = ports
            .widgets
            .widget_owner(&account, &id)
            .await
            .map_err(|err| err.to_string())?;
        rows.push(json!({
            "integration_id": id,
            "name": widget["displayName"],
            "status": widget["status"],
            "store": owner.map(|s| s.to_string()),
        }));
    }
    Ok(json!({ "account": account, "widgets": rows }))
}

async fn load_store(
    ports: &OperatorPorts,
    stack: &Stack,
    id: &str,
) -> Result<deskmate_shared::domain::StoreConfig, String> {
    let id = StoreId::parse(id).map_err(|err| format!("store id {id:?}: {err}"))?;
    ports
        .stores
        .store(&id)
        .await
        .map_err(|err| format!("could not read table {}: {err}", stack.table))?
        .ok_or_else(|| format!("no store {id} in table {}", stack.table))
}

/// `deskmate widgets map`: routes a brand's widget to a store (each widget to one store).
pub async fn widgets_map(stack: &Stack, store_id: &str, widget: &str) -> Result<Value, String> {
    let ports = stack.ports().await;
    let store = load_store(&ports, stack, store_id).await?;
    match ports.widgets.map_widget(&store, widget).await {
        Ok(()) => Ok(json!({
            "store_id": store.id.as_str(),
            "widget": widget,
            "mapped": true,
            "next": format!("run `deskmate switchboard register --account {}` so the widget's new conversations come to Deskmate", store.subdomain),
        })),
        Err(WidgetError::Taken { store: owner, .. }) => {
            let name = match StoreId::parse(&owner) {
                Ok(id) => ports
                    .stores
                    .store(&id)
                    .await
                    .ok()
                    .flatten()
                    .map_or(owner.clone(), |s| s.name),
                Err(_) => owner.clone(),
            };
            Err(format!(
                "widget {widget} is already taken by store {name}; unmap it there first"
            ))
        }
        Err(err) => Err(err.to_string()),
    }
}

/// `deskmate widgets unmap`: frees the store's widget.
pub async fn widgets_unmap(stack: &Stack, store_id: &str) -> Result<Value, String> {
    let ports = stack.ports().await;
    let store = load_store(&ports, stack, store_id).await?;
    ports
        .widgets
        .unmap_widget(&store)
        .await
        .map_err(|err| err.to_string())?;
    Ok(
        json!({"store_id": store.id.as_str(), "widget": store.widget_integration_id, "mapped": false}),
    )
}

/// Who is default (for the app and for each web widget) and who is next after whom, by name.
fn switchboard_picture(switchboard: &Value, members: &[Value], widgets: &[Value]) -> Value {
    let name_of = |id: &Value| {
        members
            .iter()
            .find(|m| {
                &m["id"] == id || (id.is_object() && m["integrationId"] == id["integrationId"])
            })
            .and_then(|m| m["name"].as_str())
            .map(str::to_owned)
    };
    json!({
        "default": name_of(&switchboard["defaultSwitchboardIntegrationId"]),
        "next": members
            .iter()
            .map(|m| json!({"integration": m["name"], "next": name_of(&m["nextSwitchboardIntegrationId"])}))
            .collect::<Vec<_>>(),
        "widgets": widgets
            .iter()
            .map(|w| json!({"widget": w["id"], "name": w["displayName"], "default_responder": name_of(&w["defaultResponder"])}))
            .collect::<Vec<_>>(),
    })
}

/// `deskmate switchboard register`: Deskmate takes exactly the conversations it answers.
/// It becomes the default responder of each web widget a store of the account answers (a
/// mapped widget, or any web widget when a store without a widget is the account's fallback);
/// other channels (WhatsApp, Telegram, SDKs) and unanswered widgets keep the app's default
/// responder. The Agent Workspace is next after Deskmate and Deskmate next after the Agent
/// Workspace (so the bot resumes when a human closes the ticket). The app's default stays as
/// it was, unless it is Deskmate (an older register made it so): then it goes back to the
/// Agent Workspace. Safe to run again; run it after mapping widgets.
pub async fn switchboard_register(stack: &Stack, account: &str) -> Result<Value, String> {
    let account = normalize_subdomain(account)?;
    let ports = stack.ports().await;
    let settings = ports
        .accounts
        .account(&account)
        .await
        .map_err(|err| err.to_string())?
        .ok_or_else(|| format!("no Conversations settings for {account}; run `deskmate conversations connect` first"))?;
    let client = conversations_client(stack, &ports, &account).await?;
    let failed =
        |err: ZendeskError| format!("the Conversations API refused the switchboard change: {err}");
    let (switchboard, members) = client.switchboard().await.map_err(failed)?;
    let widgets = client.integrations("web").await.map_err(failed)?;
    let before = switchboard_picture(&switchboard, &members, &widgets);
    let switchboard_id = switchboard["id"].as_str().unwrap_or_default().to_owned();
    let workspace = members
        .iter()
        .find(|m| m["integrationType"] == "zd:agentWorkspace")
        .and_then(|m| m["id"].as_str())
        .map(str::to_owned)
        .ok_or("the Agent Workspace is not on the switchboard; turn on messaging in Admin Center first")?;
    let deskmate = match members
        .iter()
        .find(|m| m["integrationId"] == settings.integration_id.as_str())
    {
        Some(member) => member["id"].as_str().unwrap_or_default().to_owned(),
        None => {
            let body = json!({"name": "deskmate", "integrationId": settings.integration_id, "deliverStandbyEvents": false});
            let created = client
                .create_switchboard_integration(&switchboard_id, &body)
                .await
                .map_err(failed)?;
            created["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    for (member, next) in [(&deskmate, &workspace), (&workspace, &deskmate)] {
        client
            .update_switchboard_integration(
                &switchboard_id,
                member,
                &json!({"nextSwitchboardIntegrationId": next}),
            )
            .await
            .map_err(failed)?;
    }
    let default_is_deskmate = members.iter().any(|m| {
        m["id"] == switchboard["defaultSwitchboardIntegrationId"]
            && m["integrationId"] == settings.integration_id.as_str()
    });
    if default_is_deskmate {
        client
            .update_switchboard(
                &switchboard_id,
                &json!({"enabled": true, "defaultSwitchboardIntegrationId": workspace}),
            )
            .await
            .map_err(failed)?;
    }
    let stores = ports
        .stores
        .list_stores()
        .await
        .map_err(|err| err.to_string())?;
    let fallback = stores
        .iter()
        .any(|s| s.subdomain == account && s.widget_integration_id.is_none());
    for widget in &widgets {
        let id = widget["id"].as_str().unwrap_or_default();
        let mapped = ports
            .widgets
            .widget_owner(&account, id)
            .await
            .map_err(|err| err.to_string())?
            .is_some();
        let ours = widget["defaultResponder"]["integrationId"] == settings.integration_id.as_str();
        let wanted = match (mapped || fallback, ours) {
            (true, false) => Some(Some(deskmate.as_str())),
            (false, true) => Some(None),
            _ => None,
        };
        if let Some(responder) = wanted {
            client
                .set_default_responder(id, responder)
                .await
                .map_err(failed)?;
        }
    }
    let (switchboard, members) = client.switchboard().await.map_err(failed)?;
    let widgets = client.integrations("web").await.map_err(failed)?;
    Ok(json!({
        "account": account,
        "before": before,
        "after": switchboard_picture(&switchboard, &members, &widgets),
    }))
}

/// The store's settings an operator may see (no secrets, no hashes).
fn store_summary(store: &deskmate_shared::domain::StoreConfig) -> Value {
    json!({
        "store_id": store.id.as_str(),
        "name": store.name,
        "account": format!("{}.zendesk.com", store.subdomain),
        "bot_email": store.bot_email,
        "bot_user_id": store.bot_user_id,
        "brand_id": store.brand_id,
        "widget": store.widget_integration_id,
        "signatures_verified": store.webhook_signing_secret.is_some(),
        "agent": match &store.agent {
            AgentSettings::Knowledge { .. } => "knowledge",
            AgentSettings::Openai { .. } => "openai",
            AgentSettings::Webhook { .. } => "webhook",
        },
    })
}

/// `deskmate store list`.
pub async fn store_list(stack: &Stack) -> Result<Value, String> {
    let ports = stack.ports().await;
    let stores = ports
        .stores
        .list_stores()
        .await
        .map_err(|err| format!("could not read table {}: {err}", stack.table))?;
    Ok(json!({"stores": stores.iter().map(store_summary).collect::<Vec<_>>()}))
}

/// `deskmate store show`.
pub async fn store_show(stack: &Stack, store_id: &str) -> Result<Value, String> {
    let ports = stack.ports().await;
    Ok(store_summary(&load_store(&ports, stack, store_id).await?))
}

/// `deskmate store test`: the connection test again, with the stored credentials.
pub async fn store_test(stack: &Stack, store_id: &str) -> Result<Value, String> {
    let ports = stack.ports().await;
    let store = load_store(&ports, stack, store_id).await?;
    let token = ports
        .secrets
        .secret(&store.zendesk_token_secret)
        .await
        .map_err(|err| format!("the store's Zendesk API token: {err}"))?;
    let client = stack.support_client(&store.subdomain, &store.bot_email, &token);
    let bot = client
        .me()
        .await
        .map_err(|err| explain_connection_error(&store.subdomain, &SetupError::Zendesk(err)))?;
    if !bot.is_full_agent() {
        return Err(format!(
            "the bot user {} is a {} now, which cannot post public replies; give it the Agent role",
            bot.name,
            bot.role_name()
        ));
    }
    Ok(json!({"store_id": store.id.as_str(), "connected_as": bot.name, "role": bot.role}))
}

/// `deskmate store rotate-token`: a new webhook or tool token, printed once; the old one stops
/// working at once.
pub async fn store_rotate_token(
    stack: &Stack,
    store_id: &str,
    tool: bool,
) -> Result<Value, String> {
    let ports = stack.ports().await;
    let mut store = load_store(&ports, stack, store_id).await?;
    let (token, field, next) = if tool {
        let token = generate_token("dmt");
        store.tool_token_hash = Some(TokenHash::of(token.expose_secret()));
        (
            token,
            "tool_token",
            "give the new token to your AI agent platform's escalate tool",
        )
    } else {
        let token = generate_token("dmw");
        store.webhook_token_hash = TokenHash::of(token.expose_secret());
        (
            token,
            "webhook_bearer_token",
            "paste it into the Zendesk webhook's Bearer token, or run `deskmate zendesk setup`",
        )
    };
    ports
        .stores
        .save_store(&store)
        .await
        .map_err(|err| err.to_string())?;
    Ok(json!({"store_id": store.id.as_str(), field: token.expose_secret(), "next": next}))
}

/// `deskmate store disconnect`: removes the store's secrets and state; Zendesk is left as it
/// is, and the answer says what to remove there.
pub async fn store_disconnect(stack: &Stack, store_id: &str) -> Result<Value, String> {
    let ports = stack.ports().await;
    let store = load_store(&ports, stack, store_id).await?;
    ports
        .vault
        .delete_secret(&store.zendesk_token_secret)
        .await
        .map_err(|err| format!("could not delete the store's API token secret: {err}"))?;
    ports
        .stores
        .delete_store(&store)
        .await
        .map_err(|err| err.to_string())?;
    let others = ports
        .stores
        .list_stores()
        .await
        .map_err(|err| err.to_string())?
        .into_iter()
        .filter(|s| s.subdomain == store.subdomain)
        .count();
    let mut remove = vec![
        format!("the webhook \"Deskmate events ({})\"", store.id),
        format!("its triggers \"Deskmate ({}): …\"", store.id),
    ];
    if others == 0 {
        remove.push("the Conversations integration (the account's last store is gone)".into());
        remove.push(format!("the bot user {} (optional)", store.bot_email));
    }
    Ok(json!({
        "store_id": store.id.as_str(),
        "removed": ["Zendesk API token secret", "store settings and tokens", "widget mapping", "bot state and reply records"],
        "remove_in_zendesk": remove,
        "stores_left_on_account": others,
    }))
}
