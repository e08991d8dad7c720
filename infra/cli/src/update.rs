//! `deskmate store update`: changes only the settings given, after checking every one of them
//! (files, URLs, secrets, the Zendesk token against Zendesk) and before writing anything.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use deskmate_shared::domain::{AgentSettings, BridgeSettings, StoreConfig, StoreMode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::admin::{Stack, agent_secret_name, read_knowledge};
use crate::input::read_secret;
use crate::setup::{SetupError, explain_connection_error};

/// The AI agent backends a store can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AgentKind {
    /// The embedded agent that answers from the store's markdown knowledge file.
    Knowledge,
    /// An OpenAI-compatible Chat Completions endpoint.
    Openai,
    /// Your own agent service, called with signed webhooks.
    Webhook,
}

impl AgentKind {
    fn of(agent: &AgentSettings) -> Self {
        match agent {
            AgentSettings::Knowledge { .. } => AgentKind::Knowledge,
            AgentSettings::Openai { .. } => AgentKind::Openai,
            AgentSettings::Webhook { .. } => AgentKind::Webhook,
        }
    }

    fn name(self) -> &'static str {
        match self {
            AgentKind::Knowledge => "knowledge",
            AgentKind::Openai => "openai",
            AgentKind::Webhook => "webhook",
        }
    }
}

/// `--escalation-group-id`: a Zendesk group, or none (escalated tickets are unassigned within
/// their group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupChoice(pub Option<u64>);

/// Reads `--escalation-group-id`: a Zendesk group id, or `none`.
pub fn parse_group(raw: &str) -> Result<GroupChoice, String> {
    match raw.trim() {
        "none" => Ok(GroupChoice(None)),
        digits => digits
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .map(|id| GroupChoice(Some(id)))
            .ok_or_else(|| format!("{raw:?} is not a Zendesk group id (digits) nor `none`")),
    }
}

/// `--mode`: `auto` or `draft`.
pub fn parse_mode(raw: &str) -> Result<StoreMode, String> {
    StoreMode::parse(raw.trim()).ok_or_else(|| format!("{raw:?} is not a mode: `auto` or `draft`"))
}

/// What to change; everything left `None` (or `false`) stays as it is.
#[derive(Default)]
pub struct UpdateArgs {
    pub store: String,
    /// Replace the Zendesk API token (read from DESKMATE_ZENDESK_API_TOKEN or standard input).
    pub zendesk_token: bool,
    pub agent: Option<AgentKind>,
    pub openai_base_url: Option<String>,
    pub openai_model: Option<String>,
    pub webhook_url: Option<String>,
    pub instructions: Option<String>,
    pub welcome_message: Option<String>,
    pub handoff_message: Option<String>,
    pub escalation_group_id: Option<Option<u64>>,
    pub knowledge: Option<String>,
    pub display_name: Option<String>,
    /// `auto` (the bot replies) or `draft` (the bot leaves internal draft notes for humans).
    pub mode: Option<StoreMode>,
    /// Where bridge sessions' events go; the first time, a signing secret is made for it.
    pub bridge_webhook_url: Option<String>,
}

pub const OPENAI_KEY_VARIABLE: &str = "DESKMATE_OPENAI_API_KEY";
pub const WEBHOOK_SECRET_VARIABLE: &str = "DESKMATE_AGENT_WEBHOOK_SECRET";
pub const ZENDESK_TOKEN_VARIABLE: &str = "DESKMATE_ZENDESK_API_TOKEN";

/// A secret to write before the store is saved.
struct NewSecret {
    name: String,
    value: SecretString,
}

fn http_url(flag: &str, raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.host().is_some() => {
            Ok(url.to_owned())
        }
        _ => Err(format!(
            "{flag} {raw:?} is not an http(s) URL, e.g. https://api.openai.com/v1"
        )),
    }
}

fn text(flag: &str, raw: &Option<String>) -> Result<Option<String>, String> {
    match raw {
        None => Ok(None),
        Some(value) if value.trim().is_empty() => Err(format!("{flag} is empty")),
        Some(value) => Ok(Some(value.trim().to_owned())),
    }
}

/// The agent the store will use, and the secret to write for it (when one was given).
fn next_agent(
    store: &StoreConfig,
    args: &UpdateArgs,
) -> Result<(AgentSettings, Option<NewSecret>), String> {
    let current = AgentKind::of(&store.agent);
    let target = args.agent.unwrap_or(current);
    let switching = target != current;
    let stray = |flag: &str, needs: AgentKind| {
        Err(format!(
            "{flag} is for the {} agent, and the store's agent {} {}; add --agent {} to switch",
            needs.name(),
            if args.agent.is_some() {
                "would be"
            } else {
                "is"
            },
            target.name(),
            needs.name()
        ))
    };
    if target != AgentKind::Openai {
        if args.openai_base_url.is_some() {
            return stray("--openai-base-url", AgentKind::Openai);
        }
        if args.openai_model.is_some() {
            return stray("--openai-model", AgentKind::Openai);
        }
    }
    if target != AgentKind::Webhook && args.webhook_url.is_some() {
        return stray("--webhook-url", AgentKind::Webhook);
    }
    if target != AgentKind::Knowledge && args.knowledge.is_some() {
        return stray("--knowledge", AgentKind::Knowledge);
    }
    let id = &store.id;
    match (target, &store.agent) {
        (AgentKind::Knowledge, current) => {
            let knowledge_markdown = match (&args.knowledge, current) {
                (Some(path), _) => read_knowledge(path)?,
                (None, AgentSettings::Knowledge { knowledge_markdown }) => {
                    knowledge_markdown.clone()
                }
                (None, _) => {
                    return Err(
                        "--agent knowledge needs --knowledge FILE: the store has no knowledge file while it uses another agent"
                            .into(),
                    );
                }
            };
            Ok((AgentSettings::Knowledge { knowledge_markdown }, None))
        }
        (AgentKind::Openai, current) => {
            let (base_url, model, secret) = match current {
                AgentSettings::Openai {
                    base_url,
                    model,
                    api_key_secret,
                } => (
                    Some(base_url.clone()),
                    Some(model.clone()),
                    api_key_secret.clone(),
                ),
                _ => (None, None, format!("deskmate/{id}/openai-api-key")),
            };
            let base_url = match (&args.openai_base_url, base_url) {
                (Some(url), _) => http_url("--openai-base-url", url)?,
                (None, Some(url)) => url,
                (None, None) => {
                    return Err("--agent openai needs --openai-base-url (e.g. https://api.openai.com/v1) and --openai-model".into());
                }
            };
            let model = match (text("--openai-model", &args.openai_model)?, model) {
                (Some(model), _) | (None, Some(model)) => model,
                (None, None) => {
                    return Err("--agent openai needs --openai-model (e.g. gpt-4o-mini)".into());
                }
            };
            // A new key when the backend is chosen again (or anew); else the stored one stays.
            let key = if args.agent == Some(AgentKind::Openai) || switching {
                Some(NewSecret {
                    name: secret.clone(),
                    value: read_secret(OPENAI_KEY_VARIABLE, "OpenAI-compatible API key")?,
                })
            } else {
                None
            };
            Ok((
                AgentSettings::Openai {
                    base_url,
                    model,
                    api_key_secret: secret,
                },
                key,
            ))
        }
        (AgentKind::Webhook, current) => {
            let (url, secret) = match current {
                AgentSettings::Webhook {
                    url,
                    signing_secret,
                } => (Some(url.clone()), signing_secret.clone()),
                _ => (None, format!("deskmate/{id}/agent-webhook-secret")),
            };
            let url = match (&args.webhook_url, url) {
                (Some(url), _) => http_url("--webhook-url", url)?,
                (None, Some(url)) => url,
                (None, None) => {
                    return Err(
                        "--agent webhook needs --webhook-url (your agent service's URL)".into(),
                    );
                }
            };
            let key = if args.agent == Some(AgentKind::Webhook) || switching {
                let value = read_secret(
                    WEBHOOK_SECRET_VARIABLE,
                    "agent webhook signing secret (whsec_…)",
                )?;
                let encoded = value.expose_secret();
                if STANDARD
                    .decode(encoded.strip_prefix("whsec_").unwrap_or(encoded))
                    .is_err()
                {
                    return Err(format!(
                        "the agent webhook signing secret in {WEBHOOK_SECRET_VARIABLE} is not whsec_<base64> (Standard Webhooks' format)"
                    ));
                }
                Some(NewSecret {
                    name: secret.clone(),
                    value,
                })
            } else {
                None
            };
            Ok((
                AgentSettings::Webhook {
                    url,
                    signing_secret: secret,
                },
                key,
            ))
        }
    }
}

/// `deskmate store update`.
pub async fn store_update(stack: &Stack, args: UpdateArgs) -> Result<Value, String> {
    let nothing = !args.zendesk_token
        && args.agent.is_none()
        && args.openai_base_url.is_none()
        && args.openai_model.is_none()
        && args.webhook_url.is_none()
        && args.instructions.is_none()
        && args.welcome_message.is_none()
        && args.handoff_message.is_none()
        && args.escalation_group_id.is_none()
        && args.knowledge.is_none()
        && args.display_name.is_none()
        && args.mode.is_none()
        && args.bridge_webhook_url.is_none();
    if nothing {
        return Err("nothing to change: give at least one of --zendesk-token, --agent, --openai-base-url, --openai-model, --webhook-url, --instructions, --welcome-message, --handoff-message, --escalation-group-id, --knowledge, --display-name, --mode, --bridge-webhook-url".into());
    }
    let ports = stack.ports().await;
    let before = crate::admin::load_store(&ports, stack, &args.store).await?;
    let id = before.id.clone();
    let mut store = before.clone();
    let mut changed = Vec::new();
    let mut notes = Vec::new();

    // Everything is checked first; nothing is written until all of it is valid.
    let welcome = text("--welcome-message", &args.welcome_message)?;
    let handoff = text("--handoff-message", &args.handoff_message)?;
    let display_name = text("--display-name", &args.display_name)?;
    let (agent, agent_secret) = next_agent(&store, &args)?;
    let mut secrets = Vec::new();
    if args.zendesk_token {
        let token = read_secret(ZENDESK_TOKEN_VARIABLE, "Zendesk API token")?;
        let client = stack.support_client(&store.subdomain, &store.bot_email, &token);
        let bot = client
            .me()
            .await
            .map_err(|err| explain_connection_error(&store.subdomain, &SetupError::Zendesk(err)))?;
        if !bot.is_full_agent() {
            return Err(SetupError::BotNotFullAgent {
                role: bot.role_name(),
                name: bot.name,
            }
            .to_string());
        }
        if bot.id != store.bot_user_id {
            notes.push(format!(
                "the token belongs to user #{} ({}), not the bot user #{} the store had: run `deskmate zendesk setup --store {id}` so the triggers assign tickets to it",
                bot.id, bot.name, store.bot_user_id
            ));
            store.bot_user_id = bot.id;
        }
        secrets.push(NewSecret {
            name: store.zendesk_token_secret.clone(),
            value: token,
        });
        changed.push("zendesk_api_token");
    }
    if let Some(instructions) = &args.instructions {
        store.instructions = instructions.trim().to_owned();
        changed.push("instructions");
    }
    if let Some(welcome) = welcome {
        store.welcome_message = welcome;
        changed.push("welcome_message");
    }
    if let Some(handoff) = handoff {
        store.handoff_message = handoff;
        changed.push("handoff_message");
    }
    if let Some(group) = args.escalation_group_id {
        store.escalation_group_id = group;
        changed.push("escalation_group_id");
    }
    if let Some(name) = display_name {
        store.display_name = name;
        changed.push("display_name");
    }
    if let Some(mode) = args.mode
        && mode != store.mode
    {
        store.mode = mode;
        changed.push("mode");
    }
    let mut bridge_secret_shown = None;
    if let Some(url) = &args.bridge_webhook_url {
        let webhook_url = http_url("--bridge-webhook-url", url)?;
        let signing_secret = match &store.bridge {
            Some(bridge) => bridge.signing_secret.clone(),
            None => {
                let name = format!("deskmate/{id}/bridge-signing-secret");
                let value = deskmate_shared::auth::generate_whsec();
                bridge_secret_shown = Some(value.expose_secret().to_owned());
                secrets.push(NewSecret {
                    name: name.clone(),
                    value,
                });
                name
            }
        };
        store.bridge = Some(BridgeSettings {
            webhook_url,
            signing_secret,
        });
        changed.push("bridge_webhook_url");
    }
    let old_agent_secret = agent_secret_name(&before.agent).map(str::to_owned);
    if AgentKind::of(&agent) != AgentKind::of(&before.agent) {
        changed.push("agent");
    } else if args.knowledge.is_some() {
        changed.push("knowledge");
    } else if args.openai_base_url.is_some()
        || args.openai_model.is_some()
        || args.webhook_url.is_some()
    {
        changed.push("agent_settings");
    }
    if agent_secret.is_some() {
        changed.push("agent_secret");
    }
    store.agent = agent;
    if let Some(secret) = agent_secret {
        secrets.push(secret);
    }

    // Now the writes: secrets first (a store never names a secret that is not there), then
    // the store; a secret written for a store that could not be saved is taken back.
    let sdk = stack.sdk().await;
    let mut written: Vec<String> = Vec::new();
    for secret in &secrets {
        let result = async {
            crate::aws::restore_if_scheduled_for_deletion(&sdk, &secret.name).await?;
            ports
                .vault
                .put_secret(&secret.name, &secret.value)
                .await
                .map_err(|err| format!("could not save secret {}: {err}", secret.name))
        }
        .await;
        if let Err(err) = result {
            undo_new_secrets(&sdk, &before, &written).await;
            return Err(err);
        }
        written.push(secret.name.clone());
    }
    if let Err(err) = ports.stores.save_store(&store).await {
        undo_new_secrets(&sdk, &before, &written).await;
        return Err(format!(
            "could not save store {id}: {err}; nothing was changed"
        ));
    }
    let mut secrets_deleted = Vec::new();
    if let Some(old) = old_agent_secret
        && agent_secret_name(&store.agent) != Some(old.as_str())
    {
        let others = ports
            .stores
            .list_stores()
            .await
            .map_err(|err| err.to_string())?;
        let used = others
            .iter()
            .any(|s| s.id != store.id && agent_secret_name(&s.agent) == Some(old.as_str()));
        if !used {
            crate::aws::delete_secret_recoverably(&sdk, &old).await?;
            secrets_deleted.push(old);
        }
    }
    Ok(json!({
        "store_id": id.as_str(),
        "changed": changed,
        "agent": AgentKind::of(&store.agent).name(),
        "secrets_written": written,
        "secrets_deleted": secrets_deleted,
        "notes": notes,
        // Shown once: the bridge webhook's receiver verifies deliveries with it.
        "bridge_signing_secret": bridge_secret_shown,
    }))
}

/// Deletes the secrets this update created (not ones the store already used, which were only
/// given a new value: that value stays, the store still names them).
async fn undo_new_secrets(sdk: &aws_config::SdkConfig, before: &StoreConfig, written: &[String]) {
    for name in written {
        let existed = *name == before.zendesk_token_secret
            || agent_secret_name(&before.agent) == Some(name.as_str());
        if !existed {
            let _ = crate::aws::delete_secret_recoverably(sdk, name).await;
        }
    }
}
