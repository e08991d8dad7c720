//! Operator commands against a deployed stack: its DynamoDB table and Secrets Manager.

// The operator commands' own modules live beside this file.

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

use crate::aws;
pub use crate::input::read_secret;
use crate::input::read_secret_env_or_prompt;
use crate::local::OperatorPorts;
use crate::setup::SetupError;
use crate::setup::{
    ConversationsCredentials, NewStore, connect_conversations, connect_store,
    explain_connection_error, normalize_subdomain,
};
use crate::zendesk_admin::ZendeskAdmin;

/// Where the deployed stack keeps its state.
pub struct Stack {
    pub table: String,
    pub aws_endpoint: Option<String>,
    /// Sends Zendesk calls here instead of `https://{subdomain}.zendesk.com` (the sandbox).
    pub zendesk_url: Option<String>,
    /// The stack's API base URL (the `ApiUrl` output), for the URLs printed on the card.
    pub api_url: String,
}

/// What `api_url` holds when the stack's URL is not known (no `--stack-name` nor
/// `DESKMATE_API_URL`): printed cards show it, and commands that give Zendesk a URL refuse it.
pub const PLACEHOLDER_API_URL: &str = "https://YOUR-API-ID.execute-api.REGION.amazonaws.com";

/// The stack's API URL, if it is one Zendesk can call: not a placeholder, and `https` (plain
/// `http` only on a loopback address, for local runs against the sandbox).
pub fn deployed_api_url(api_url: &str) -> Result<String, String> {
    let url = api_url.trim().trim_end_matches('/');
    let refuse = |why: &str| {
        Err(format!(
            "the stack's API URL {why}; pass --stack-name NAME (the deployed stack) or set DESKMATE_API_URL to its ApiUrl output"
        ))
    };
    if url.is_empty() {
        return refuse("is not known");
    }
    let lowered = url.to_ascii_lowercase();
    if lowered.contains("your-api-id") || url.contains("REGION") || lowered.contains("example") {
        return refuse(&format!("{url:?} is a placeholder"));
    }
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|prefix| {
            lowered
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if !lowered.starts_with("https://") && !loopback {
        return refuse(&format!("{url:?} is not an https:// URL"));
    }
    Ok(url.to_owned())
}

/// A knowledge file is kept in the store's DynamoDB item, which holds at most 400 KB.
pub const MAX_KNOWLEDGE_BYTES: u64 = 350 * 1024;

/// The markdown knowledge file at `path`, refused when it is too large for the store's item.
pub fn read_knowledge(path: &str) -> Result<String, String> {
    let size = std::fs::metadata(path)
        .map_err(|err| format!("cannot read the knowledge file {path}: {err}"))?
        .len();
    if size > MAX_KNOWLEDGE_BYTES {
        return Err(format!(
            "the knowledge file {path} is {} KB; a store's knowledge file may be at most {} KB \
             (it is kept in the store's DynamoDB item, which holds 400 KB): shorten it, or split \
             the brand's topics across stores. Nothing was changed.",
            size.div_ceil(1024),
            MAX_KNOWLEDGE_BYTES / 1024
        ));
    }
    std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read the knowledge file {path}: {err}"))
}

impl Stack {
    /// The AWS configuration of this run (`--region`, `--profile`, credentials).
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws::session_or_defaults(self.aws_endpoint.as_deref()).await
    }

    pub async fn ports(&self) -> OperatorPorts {
        let sdk = self.sdk().await;
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

    pub fn zendesk_admin(
        &self,
        subdomain: &str,
        email: &str,
        token: &SecretString,
    ) -> ZendeskAdmin {
        ZendeskAdmin::new(
            &account_base_url(subdomain, self.zendesk_url.as_deref()),
            email,
            token,
        )
    }

    pub fn support_client(
        &self,
        subdomain: &str,
        email: &str,
        token: &SecretString,
    ) -> SupportClient {
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
        Some(path) => read_knowledge(path)?,
        None => String::new(),
    };
    let id = args.id.unwrap_or_else(|| store_id_from_name(&args.name));
    let id = StoreId::parse(&id).map_err(|err| format!("store id {id:?}: {err}"))?;
    let ports = stack.ports().await;
    let existing = ports
        .stores
        .store(&id)
        .await
        .map_err(|err| format!("could not read table {}: {err}", stack.table))?;
    if let Some(existing) = existing {
        return Err(format!(
            "store {id} already exists ({} on {}.zendesk.com); change it with `deskmate store update --store {id} …` \
             (e.g. --zendesk-token for a new API token, --knowledge FILE), or connect this one under another --id",
            existing.name, existing.subdomain
        ));
    }
    // A store connected again after `store disconnect`: its old token secret is pending
    // deletion, and Secrets Manager writes no new value into such a secret.
    let sdk = stack.sdk().await;
    let secret_name = crate::setup::zendesk_token_secret_name(&id);
    let restored = aws::restore_if_scheduled_for_deletion(&sdk, &secret_name).await?;
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
    .await;
    let connected = match connected {
        Ok(connected) => connected,
        Err(err) => {
            if restored {
                // Back to how `store disconnect` left it.
                let _ = aws::delete_secret_recoverably(&sdk, &secret_name).await;
            }
            return Err(explain_connection_error(&subdomain, &err));
        }
    };
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
    let api_url = deployed_api_url(&stack.api_url)?;
    let ports = stack.ports().await;
    let mut store = load_store(&ports, stack, store_id).await?;
    let id = store.id.clone();
    let webhook_url = format!("{api_url}/webhooks/zendesk/{id}");
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
    let key_secret = read_secret_env_or_prompt(
        "DESKMATE_CONVERSATIONS_KEY_SECRET",
        "Conversations API key secret",
    )?;
    let shared_secret = read_secret_env_or_prompt(
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

/// The store `id` of the stack's table, or what to do when there is none.
pub(crate) async fn load_store(
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
        .ok_or_else(|| {
            format!(
                "no store {id} in table {}; connect it with `deskmate store connect`",
                stack.table
            )
        })
}

/// `deskmate widgets map`: routes a brand's widget to a store (each widget to one store).
pub async fn widgets_map(stack: &Stack, store_id: &str, widget: &str) -> Result<Value, String> {
    let ports = stack.ports().await;
    let store = load_store(&ports, stack, store_id).await?;
    let account = &store.subdomain;
    let settings = ports
        .accounts
        .account(account)
        .await
        .map_err(|err| err.to_string())?;
    if settings.is_some() {
        let client = conversations_client(stack, &ports, account).await?;
        let widgets = client.integrations("web").await.map_err(|err| {
            format!("could not list the Web Widgets of {account}.zendesk.com: {err}")
        })?;
        if !widgets.iter().any(|w| w["id"] == widget) {
            let known: Vec<String> = widgets
                .iter()
                .map(|w| {
                    format!(
                        "{} ({})",
                        w["id"].as_str().unwrap_or("?"),
                        w["displayName"].as_str().unwrap_or("unnamed")
                    )
                })
                .collect();
            let known = if known.is_empty() {
                "it has none".to_owned()
            } else {
                format!("its widgets are: {}", known.join(", "))
            };
            return Err(format!(
                "{widget} is not a Web Widget of {account}.zendesk.com; {known} (see `deskmate widgets list --account {account}`)"
            ));
        }
    }
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
            // Standby events: a bridge session's conversation is held by the Agent Workspace,
            // and Deskmate relays what the agent writes there.
            let body = json!({"name": "deskmate", "integrationId": settings.integration_id, "deliverStandbyEvents": true});
            let created = client
                .create_switchboard_integration(&switchboard_id, &body)
                .await
                .map_err(failed)?;
            created["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    for (member, next) in [(&deskmate, &workspace), (&workspace, &deskmate)] {
        let mut change = json!({"nextSwitchboardIntegrationId": next});
        if member == &deskmate {
            change["deliverStandbyEvents"] = json!(true);
        }
        client
            .update_switchboard_integration(&switchboard_id, member, &change)
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

/// `deskmate knowledge sync`: the store's index rebuilt from its Help Center and markdown.
pub async fn knowledge_sync(stack: &Stack, store_id: &str, locale: &str) -> Result<Value, String> {
    let ports = stack.ports().await;
    let store = load_store(&ports, stack, store_id).await?;
    let token = ports
        .secrets
        .secret(&store.zendesk_token_secret)
        .await
        .map_err(|err| format!("the store's Zendesk API token: {err}"))?;
    let client = stack.support_client(&store.subdomain, &store.bot_email, &token);
    let indexes = DynamoState::new(
        aws_sdk_dynamodb::Client::new(&stack.sdk().await),
        &stack.table,
    );
    let report =
        deskmate_shared::knowledge_sync::sync_store_knowledge_in(&store, &client, &indexes, locale)
            .await
            .map_err(|err| format!("store {}: {err}", store.id))?;
    Ok(json!({
        "store_id": store.id.as_str(),
        // `null`: the store's brand has no Help Center, so only the markdown was indexed.
        "help_center": report.help_center,
        "articles": report.articles,
        "markdown_sections": report.markdown_sections,
        "passages": report.passages,
        "version": report.version,
    }))
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

/// The Secrets Manager name of the store's AI agent credential, if its backend has one.
pub fn agent_secret_name(agent: &AgentSettings) -> Option<&str> {
    match agent {
        AgentSettings::Knowledge { .. } => None,
        AgentSettings::Openai { api_key_secret, .. } => Some(api_key_secret),
        AgentSettings::Webhook { signing_secret, .. } => Some(signing_secret),
    }
}

/// The names `zendesk setup` gives the store's webhook and triggers.
pub fn email_path_names(store: &deskmate_shared::domain::StoreConfig) -> (String, [String; 2]) {
    let titles =
        email_triggers(store, "").map(|t| t["title"].as_str().unwrap_or_default().to_owned());
    (format!("Deskmate events ({})", store.id), titles)
}

/// Deletes the store's triggers, then its webhook (Zendesk keeps a webhook that triggers
/// still use), found by the names `zendesk setup` gives them; returns what it removed.
async fn remove_email_path(
    stack: &Stack,
    ports: &OperatorPorts,
    store: &deskmate_shared::domain::StoreConfig,
) -> Result<Vec<String>, String> {
    let token = ports.secrets.secret(&store.zendesk_token_secret).await.map_err(|err| {
        format!(
            "cannot remove the store's webhook and triggers: its Zendesk API token is unreadable ({err}); \
             nothing was removed. Disconnect without --remove-zendesk and remove them by hand"
        )
    })?;
    let zendesk = stack.zendesk_admin(&store.subdomain, &store.bot_email, &token);
    let (webhook_name, titles) = email_path_names(store);
    let mut removed = Vec::new();
    let failed = |removed: &[String], err: ZendeskError| {
        let why = match err {
            ZendeskError::Unauthorized => format!(
                "Zendesk refused the store's API token (401); give it a working one with `deskmate store update --store {} --zendesk-token`, or disconnect without --remove-zendesk and remove them by hand",
                store.id
            ),
            other => other.to_string(),
        };
        let done = if removed.is_empty() {
            "nothing was removed".to_owned()
        } else {
            format!("removed so far: {}", removed.join(", "))
        };
        format!(
            "could not remove the store's webhook and triggers in Zendesk: {why}; {done}; the store is still connected"
        )
    };
    let triggers = zendesk
        .triggers()
        .await
        .map_err(|err| failed(&removed, err))?;
    for trigger in triggers
        .iter()
        .filter(|t| titles.iter().any(|title| t["title"] == title.as_str()))
    {
        let Some(id) = trigger["id"].as_u64() else {
            continue;
        };
        zendesk
            .delete_trigger(id)
            .await
            .map_err(|err| failed(&removed, err))?;
        removed.push(format!(
            "trigger \"{}\" (#{id})",
            trigger["title"].as_str().unwrap_or_default()
        ));
    }
    let webhooks = zendesk
        .webhooks()
        .await
        .map_err(|err| failed(&removed, err))?;
    for webhook in webhooks
        .iter()
        .filter(|w| w["name"] == webhook_name.as_str())
    {
        let Some(id) = webhook["id"].as_str() else {
            continue;
        };
        zendesk
            .delete_webhook(id)
            .await
            .map_err(|err| failed(&removed, err))?;
        removed.push(format!("webhook \"{webhook_name}\" ({id})"));
    }
    Ok(removed)
}

/// `deskmate store disconnect`: removes the store's secrets (recoverable for 7 days) and its
/// state; with `remove_zendesk`, first its webhook and triggers in Zendesk. The answer says
/// what is left to remove in Zendesk.
pub async fn store_disconnect(
    stack: &Stack,
    store_id: &str,
    remove_zendesk: bool,
) -> Result<Value, String> {
    let ports = stack.ports().await;
    let store = load_store(&ports, stack, store_id).await?;
    let removed_in_zendesk = if remove_zendesk {
        remove_email_path(stack, &ports, &store).await?
    } else {
        Vec::new()
    };
    let stores = ports
        .stores
        .list_stores()
        .await
        .map_err(|err| err.to_string())?;
    let mut secrets = vec![store.zendesk_token_secret.clone()];
    if let Some(bridge) = &store.bridge {
        secrets.push(bridge.signing_secret.clone());
    }
    if let Some(name) = agent_secret_name(&store.agent) {
        let shared = stores
            .iter()
            .any(|s| s.id != store.id && agent_secret_name(&s.agent) == Some(name));
        if !shared {
            secrets.push(name.to_owned());
        }
    }
    let sdk = stack.sdk().await;
    for name in &secrets {
        aws::delete_secret_recoverably(&sdk, name).await?;
    }
    ports
        .stores
        .delete_store(&store)
        .await
        .map_err(|err| err.to_string())?;
    let others = stores
        .iter()
        .filter(|s| s.id != store.id && s.subdomain == store.subdomain)
        .count();
    let mut remove = Vec::new();
    if !remove_zendesk {
        let (webhook, titles) = email_path_names(&store);
        remove.push(format!("the webhook \"{webhook}\""));
        remove.extend(
            titles
                .iter()
                .map(|title| format!("the trigger \"{title}\"")),
        );
    }
    if others == 0 {
        remove.push("the Conversations integration (the account's last store is gone)".into());
        remove.push(format!("the bot user {} (optional)", store.bot_email));
    }
    let days = aws::RECOVERY_WINDOW_DAYS;
    Ok(json!({
        "store_id": store.id.as_str(),
        "removed": ["store settings and tokens", "widget mapping", "bot state and reply records"],
        "secrets_deleted": secrets,
        "secrets_recoverable_for_days": days,
        "restore_a_secret": format!("aws secretsmanager restore-secret --secret-id NAME (within {days} days)"),
        "removed_in_zendesk": removed_in_zendesk,
        "remove_in_zendesk": remove,
        "stores_left_on_account": others,
    }))
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

    #[test]
    fn only_a_deployed_api_url_is_given_to_zendesk() {
        for url in [
            "https://abc123.execute-api.eu-west-1.amazonaws.com",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/",
            "https://support-bot.acme.com",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
        ] {
            assert_eq!(
                deployed_api_url(url).as_deref(),
                Ok(url.trim_end_matches('/')),
                "{url}"
            );
        }
        for url in [
            PLACEHOLDER_API_URL,
            "https://YOUR-API-ID.execute-api.eu-west-1.amazonaws.com",
            "https://abc.execute-api.REGION.amazonaws.com",
            "https://api.example.com",
            "http://abc123.execute-api.eu-west-1.amazonaws.com",
            "http://localhost.attacker.test",
            "abc123.execute-api.eu-west-1.amazonaws.com",
            "",
        ] {
            let err = deployed_api_url(url).unwrap_err();
            assert!(
                err.contains("--stack-name") && err.contains("DESKMATE_API_URL"),
                "{url}: {err}"
            );
        }
    }
}
