//! `deskmate doctor --store X`: checks a store from the stack to Zendesk, one line per check,
//! each failure with what to do about it.

use std::time::Duration;

use deskmate_shared::domain::{ConversationsAccount, StoreConfig, StoreId};
use deskmate_shared::http_retry::RetryPolicy;
use deskmate_shared::zendesk::{ConversationsClient, ZendeskError, account_base_url, http_client};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::admin::{Stack, deployed_api_url, email_path_names};
use crate::aws::plain_error;
use crate::local::OperatorPorts;
use crate::setup::{SetupError, explain_connection_error};
use crate::zendesk_admin::ZendeskAdmin;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// Not checked: it does not apply, or what it needs failed before.
    Skipped,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
    pub fix: Option<String>,
}

#[derive(Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, Outcome::Passed, detail.into(), None);
    }

    fn fail(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(name, Outcome::Failed, detail.into(), Some(fix.into()));
    }

    fn skip(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, Outcome::Skipped, detail.into(), None);
    }

    fn push(&mut self, name: &str, outcome: Outcome, detail: String, fix: Option<String>) {
        self.checks.push(Check {
            name: name.to_owned(),
            outcome,
            detail,
            fix,
        });
    }

    pub fn failures(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count()
    }

    /// One line per check (✓ passed, ✗ failed, – not checked), each failure followed by its fix.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let mark = match check.outcome {
                Outcome::Passed => "✓",
                Outcome::Failed => "✗",
                Outcome::Skipped => "–",
            };
            out.push_str(&format!("{mark} {}: {}\n", check.name, check.detail));
            if let Some(fix) = &check.fix {
                out.push_str(&format!("    fix: {fix}\n"));
            }
        }
        let failed = self.failures();
        if failed == 0 {
            out.push_str("All checks passed.\n");
        } else {
            out.push_str(&format!(
                "{failed} check{} failed.\n",
                if failed == 1 { "" } else { "s" }
            ));
        }
        out
    }

    pub fn to_json(&self, store: &str) -> Value {
        json!({
            "store_id": store,
            "ok": self.failures() == 0,
            "failed": self.failures(),
            "checks": self.checks.iter().map(|c| json!({
                "check": c.name,
                "status": match c.outcome {
                    Outcome::Passed => "passed",
                    Outcome::Failed => "failed",
                    Outcome::Skipped => "skipped",
                },
                "detail": c.detail,
                "fix": c.fix,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Where the doctor looks beyond the table: the stack's name and queues, when known.
#[derive(Clone, Debug, Default)]
pub struct DoctorOptions {
    pub store: String,
    pub stack_name: Option<String>,
    pub queue_url: Option<String>,
    pub dead_letter_queue_url: Option<String>,
}

/// Runs every check; a check whose prerequisite failed is reported as not checked.
pub async fn doctor(stack: &Stack, options: &DoctorOptions) -> Report {
    let mut report = Report::default();
    if let Some(name) = &options.stack_name {
        report.pass(
            "stack",
            format!("CloudFormation stack {name}: table and API URL read from its outputs"),
        );
    }
    if !table_reachable(stack, &mut report).await {
        report.skip("everything else", "needs the table");
        return report;
    }
    let api = api_reachable(stack, &mut report).await;
    let ports = stack.ports().await;
    let Some(store) = store_exists(stack, &ports, &options.store, &mut report).await else {
        report.skip("everything else", "needs the store");
        return report;
    };
    let zendesk = zendesk_token(stack, &ports, &store, &mut report).await;
    match &zendesk {
        Some((admin, client)) => {
            let webhook = webhook(admin, &store, api.as_deref(), &mut report).await;
            if let Some(webhook_id) = &webhook {
                signing_secret(client, &store, webhook_id, &mut report).await;
                test_delivery(admin, &store, webhook_id, api.as_deref(), &mut report).await;
            }
            triggers(admin, &store, webhook.as_deref(), &mut report).await;
        }
        None => report.skip(
            "webhook and triggers",
            "need a working Zendesk API token (above)",
        ),
    }
    widget_path(stack, &ports, &store, &mut report).await;
    queues(stack, options, &mut report).await;
    report
}

async fn table_reachable(stack: &Stack, report: &mut Report) -> bool {
    let sdk = stack.sdk().await;
    let described = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_table()
        .table_name(&stack.table)
        .send()
        .await;
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| "(no region)".into());
    match described {
        Ok(answer) => {
            let status = answer
                .table()
                .and_then(|t| t.table_status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "unknown".into());
            report.pass(
                "table",
                format!("{} in {region} is reachable ({status})", stack.table),
            );
            true
        }
        Err(err) => {
            let missing = err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception());
            let detail = if missing {
                format!("no table {} in {region}", stack.table)
            } else {
                format!("table {} in {region}: {}", stack.table, plain_error(&err))
            };
            report.fail(
                "table",
                detail,
                "pass --stack-name NAME (or --table / DESKMATE_TABLE with the StateTableName output) and the stack's --region; check your AWS credentials",
            );
            false
        }
    }
}

/// The stack's API URL, when it is known, not a placeholder, and answers.
async fn api_reachable(stack: &Stack, report: &mut Report) -> Option<String> {
    let api = match deployed_api_url(&stack.api_url) {
        Ok(api) => api,
        Err(err) => {
            report.fail(
                "API URL",
                err,
                "pass --stack-name NAME, or set DESKMATE_API_URL to the stack's ApiUrl output",
            );
            return None;
        }
    };
    let probe = format!("{api}/tools/openapi.json");
    let answer = http_client(Duration::from_secs(10))
        .get(&probe)
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => {
            report.pass("API URL", format!("{api} answers"));
        }
        Ok(response) => report.fail(
            "API URL",
            format!("{probe} answered {}", response.status()),
            "check that the URL is this stack's ApiUrl output (`sam list stack-outputs`) and that the deployment finished",
        ),
        Err(err) => report.fail(
            "API URL",
            format!("{api} does not answer: {}", err.without_url()),
            "check that the URL is this stack's ApiUrl output (`sam list stack-outputs`) and that the deployment finished",
        ),
    }
    Some(api)
}

async fn store_exists(
    stack: &Stack,
    ports: &OperatorPorts,
    id: &str,
    report: &mut Report,
) -> Option<StoreConfig> {
    let Ok(parsed) = StoreId::parse(id) else {
        report.fail(
            "store",
            format!("{id:?} is not a store id"),
            "give the id `deskmate store list` shows",
        );
        return None;
    };
    match ports.stores.store(&parsed).await {
        Ok(Some(store)) => {
            report.pass(
                "store",
                format!(
                    "{} ({} on {}.zendesk.com)",
                    store.id, store.name, store.subdomain
                ),
            );
            Some(store)
        }
        Ok(None) => {
            let known = ports
                .stores
                .list_stores()
                .await
                .map(|stores| {
                    stores
                        .iter()
                        .map(|s| s.id.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let known = if known.is_empty() {
                "the table has no store".to_owned()
            } else {
                format!("stores in this table: {known}")
            };
            report.fail(
                "store",
                format!("no store {id} in table {} ({known})", stack.table),
                "connect it with `deskmate store connect`, or check --store",
            );
            None
        }
        Err(err) => {
            report.fail(
                "store",
                format!("could not read store {id}: {err}"),
                "check the AWS credentials' access to the table",
            );
            None
        }
    }
}

/// The store's Zendesk clients, when its token works and belongs to a full agent.
async fn zendesk_token(
    stack: &Stack,
    ports: &OperatorPorts,
    store: &StoreConfig,
    report: &mut Report,
) -> Option<(ZendeskAdmin, deskmate_shared::zendesk::SupportClient)> {
    let new_token = format!(
        "create an API token for the bot in Admin Center → Apps and integrations → APIs → API tokens, then `deskmate store update --store {} --zendesk-token`",
        store.id
    );
    let token = match ports.secrets.secret(&store.zendesk_token_secret).await {
        Ok(token) => token,
        Err(err) => {
            report.fail(
                "Zendesk token",
                format!("the store's API token secret is unreadable: {err}"),
                new_token,
            );
            return None;
        }
    };
    let client = stack.support_client(&store.subdomain, &store.bot_email, &token);
    let bot = match client.me().await {
        Ok(bot) => bot,
        Err(ZendeskError::Unauthorized) => {
            report.fail(
                "Zendesk token",
                format!(
                    "{}.zendesk.com refused the store's API token (401): it was revoked or deleted, token access is off, or {} is not its user",
                    store.subdomain, store.bot_email
                ),
                new_token,
            );
            return None;
        }
        Err(err) => {
            report.fail(
                "Zendesk token",
                explain_connection_error(&store.subdomain, &SetupError::Zendesk(err)),
                "check the account and the network, then run `deskmate doctor` again",
            );
            return None;
        }
    };
    report.pass(
        "Zendesk token",
        format!(
            "works for {}.zendesk.com as {} (#{})",
            store.subdomain, bot.name, bot.id
        ),
    );
    if !bot.is_full_agent() {
        report.fail(
            "bot user",
            format!(
                "{} is a {}, which cannot post public replies",
                bot.name,
                bot.role_name()
            ),
            format!(
                "give {} the Agent role (or a custom agent role) in Admin Center → People → Team members",
                bot.name
            ),
        );
    } else if bot.id != store.bot_user_id {
        report.fail(
            "bot user",
            format!(
                "the token is user #{}'s, but the store's bot is user #{}",
                bot.id, store.bot_user_id
            ),
            format!(
                "give the bot's own token with `deskmate store update --store {} --zendesk-token`, then `deskmate zendesk setup --store {}`",
                store.id, store.id
            ),
        );
    } else {
        report.pass("bot user", format!("{} is a full agent", bot.name));
    }
    let admin = stack.zendesk_admin(&store.subdomain, &store.bot_email, &token);
    Some((admin, client))
}

fn setup_fix(store: &StoreConfig) -> String {
    format!("run `deskmate zendesk setup --store {}`", store.id)
}

/// The store's webhook: there, active, pointing at this stack, with a bearer token. Its id.
async fn webhook(
    admin: &ZendeskAdmin,
    store: &StoreConfig,
    api: Option<&str>,
    report: &mut Report,
) -> Option<String> {
    let (name, _) = email_path_names(store);
    let webhooks = match admin.webhooks().await {
        Ok(webhooks) => webhooks,
        Err(err) => {
            report.fail(
                "webhook",
                format!("could not list Zendesk's webhooks: {err}"),
                "the bot needs the Admin role to read webhooks and triggers, or run `deskmate doctor` again",
            );
            return None;
        }
    };
    let Some(webhook) = webhooks.iter().find(|w| w["name"] == name.as_str()) else {
        report.fail(
            "webhook",
            format!("Zendesk has no webhook \"{name}\""),
            setup_fix(store),
        );
        return None;
    };
    let id = webhook["id"].as_str().unwrap_or_default().to_owned();
    let endpoint = webhook["endpoint"].as_str().unwrap_or_default();
    let mut problems = Vec::new();
    if webhook["status"].as_str().is_some_and(|s| s != "active") {
        problems.push(format!(
            "it is {}",
            webhook["status"].as_str().unwrap_or("?")
        ));
    }
    if let Some(api) = api {
        let ours = format!("{api}/webhooks/zendesk/{}", store.id);
        if endpoint.trim_end_matches('/') != ours {
            problems.push(format!("it points at {endpoint}, not this stack's {ours}"));
        }
    }
    if webhook["authentication"]["type"] != "bearer_token" {
        problems.push("it sends no bearer token".to_owned());
    }
    if problems.is_empty() {
        report.pass(
            "webhook",
            format!("\"{name}\" ({id}) is active and points at {endpoint}"),
        );
    } else {
        report.fail(
            "webhook",
            format!("\"{name}\" ({id}): {}", problems.join("; ")),
            setup_fix(store),
        );
    }
    Some(id)
}

async fn signing_secret(
    client: &deskmate_shared::zendesk::SupportClient,
    store: &StoreConfig,
    webhook_id: &str,
    report: &mut Report,
) {
    let Some(ours) = &store.webhook_signing_secret else {
        report.fail(
            "signing secret",
            "the store keeps no signing secret, so deliveries' signatures are not verified",
            setup_fix(store),
        );
        return;
    };
    match client.webhook_signing_secret(webhook_id).await {
        Ok(theirs) if theirs.expose_secret() == ours.expose_secret() => {
            report.pass(
                "signing secret",
                "the webhook's signing secret is the one Deskmate verifies with",
            );
        }
        Ok(_) => report.fail(
            "signing secret",
            "the webhook's signing secret is not the one Deskmate verifies with (was it reset?)",
            setup_fix(store),
        ),
        Err(err) => report.fail(
            "signing secret",
            format!("could not read the webhook's signing secret: {err}"),
            setup_fix(store),
        ),
    }
}

/// Zendesk's webhook test: one request through the webhook, with the bearer token and
/// signature Zendesk holds, to this stack; the stack must accept it.
async fn test_delivery(
    admin: &ZendeskAdmin,
    store: &StoreConfig,
    webhook_id: &str,
    api: Option<&str>,
    report: &mut Report,
) {
    let Some(api) = api else {
        report.skip("bearer token", "needs the stack's API URL");
        return;
    };
    let endpoint = format!("{api}/webhooks/zendesk/{}", store.id);
    let payload = json!({"event": "deskmate_doctor", "ticket_id": "0"});
    match admin.test_webhook(webhook_id, &endpoint, &payload).await {
        Ok(Some((status, _))) if (200..300).contains(&status) => report.pass(
            "bearer token",
            "a test delivery through the webhook was accepted (bearer token and signature)",
        ),
        Ok(Some((401, body))) if body.contains("signature") => report.fail(
            "bearer token",
            "this stack accepted the webhook's bearer token but refused its signature",
            setup_fix(store),
        ),
        Ok(Some((401, _))) => report.fail(
            "bearer token",
            "this stack refused the bearer token the webhook sends (was the store's token rotated without updating Zendesk?)",
            setup_fix(store),
        ),
        Ok(Some((status, body))) => report.fail(
            "bearer token",
            format!(
                "a test delivery through the webhook was answered {status}: {}",
                body.chars().take(200).collect::<String>()
            ),
            "check the stack's logs (the ticket-webhook function)",
        ),
        Ok(None) => report.skip(
            "bearer token",
            "this Zendesk offers no webhook test, so the bearer token was not tried",
        ),
        // Zendesk declined to run the test: nothing is known about the token either way.
        Err(ZendeskError::Rejected { status, message }) => report.skip(
            "bearer token",
            format!(
                "Zendesk's webhook test did not run ({status}: {}), so the bearer token was not tried",
                message.chars().take(120).collect::<String>()
            ),
        ),
        Err(err) => report.fail(
            "bearer token",
            format!("Zendesk's webhook test failed: {err}"),
            "run `deskmate doctor` again; if it persists, run `deskmate zendesk setup`",
        ),
    }
}

async fn triggers(
    admin: &ZendeskAdmin,
    store: &StoreConfig,
    webhook_id: Option<&str>,
    report: &mut Report,
) {
    let (_, titles) = email_path_names(store);
    let triggers = match admin.triggers().await {
        Ok(triggers) => triggers,
        Err(err) => {
            report.fail(
                "triggers",
                format!("could not list Zendesk's triggers: {err}"),
                "run `deskmate doctor` again",
            );
            return;
        }
    };
    for (label, title) in [
        ("trigger: new ticket", &titles[0]),
        ("trigger: customer reply", &titles[1]),
    ] {
        let Some(trigger) = triggers.iter().find(|t| t["title"] == title.as_str()) else {
            report.fail(
                label,
                format!("Zendesk has no trigger \"{title}\""),
                setup_fix(store),
            );
            continue;
        };
        let id = trigger["id"].to_string();
        if trigger["active"] == false {
            report.fail(
                label,
                format!("\"{title}\" (#{id}) is deactivated"),
                format!(
                    "activate it in Admin Center → Objects and rules → Business rules → Triggers (then `deskmate doctor --store {}`)",
                    store.id
                ),
            );
            continue;
        }
        let actions = trigger["actions"].as_array().cloned().unwrap_or_default();
        let notified = actions
            .iter()
            .find(|a| a["field"] == "notification_webhook")
            .and_then(|a| a["value"][0].as_str())
            .map(str::to_owned);
        let mut problems = Vec::new();
        match (&notified, webhook_id) {
            (None, _) => problems.push("it notifies no webhook".to_owned()),
            (Some(theirs), Some(ours)) if theirs != ours => problems.push(format!(
                "it notifies webhook {theirs}, not Deskmate's {ours}"
            )),
            _ => {}
        }
        if label == "trigger: new ticket" {
            let assignee = actions
                .iter()
                .find(|a| a["field"] == "assignee_id")
                .map(|a| a["value"].to_string().trim_matches('"').to_owned());
            if assignee.as_deref() != Some(store.bot_user_id.to_string().as_str()) {
                problems.push(format!(
                    "it does not assign new tickets to the bot (#{})",
                    store.bot_user_id
                ));
            }
        }
        if let Some(brand) = store.brand_id {
            let conditions = trigger["conditions"]["all"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let branded = conditions.iter().any(|c| {
                c["field"] == "brand_id"
                    && c["value"].to_string().trim_matches('"') == brand.to_string()
            });
            if !branded {
                problems.push(format!("it lacks the condition Brand is {brand}"));
            }
        }
        if problems.is_empty() {
            report.pass(label, format!("\"{title}\" (#{id}) is active"));
        } else {
            report.fail(
                label,
                format!("\"{title}\" (#{id}): {}", problems.join("; ")),
                setup_fix(store),
            );
        }
    }
}

/// The Web Widget path: the account's Conversations credentials, Deskmate on the switchboard
/// with the Agent Workspace next, and the widgets this store answers coming to Deskmate.
async fn widget_path(
    stack: &Stack,
    ports: &OperatorPorts,
    store: &StoreConfig,
    report: &mut Report,
) {
    let account = &store.subdomain;
    let settings = match ports.accounts.account(account).await {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            report.skip(
                "Conversations",
                format!(
                    "no Conversations settings for {account}: the Web Widget path is not set up (`deskmate conversations connect`)"
                ),
            );
            return;
        }
        Err(err) => {
            report.fail(
                "Conversations",
                format!("could not read the account's settings: {err}"),
                "check the AWS credentials' access to the table",
            );
            report.skip(
                "switchboard and widget",
                "need working Conversations credentials (above)",
            );
            return;
        }
    };
    let reconnect = format!(
        "create an API key in Admin Center → Apps and integrations → Conversations API, then run `deskmate conversations connect --account {account} …` again"
    );
    let key = match ports.secrets.secret(&settings.key_secret_name).await {
        Ok(key) => key,
        Err(err) => {
            report.fail(
                "Conversations",
                format!("the Conversations API key secret is unreadable: {err}"),
                reconnect,
            );
            report.skip(
                "switchboard and widget",
                "need working Conversations credentials (above)",
            );
            return;
        }
    };
    let client = conversations_client(stack, &settings, &key);
    let custom = match client.integrations("custom").await {
        Ok(custom) => custom,
        Err(ZendeskError::Unauthorized) => {
            report.fail(
                "Conversations",
                format!("{account}.zendesk.com refused the Conversations API key (401): it was deleted or rotated"),
                reconnect,
            );
            report.skip(
                "switchboard and widget",
                "need working Conversations credentials (above)",
            );
            return;
        }
        Err(err) => {
            report.fail(
                "Conversations",
                format!("could not reach the Conversations API: {err}"),
                "run `deskmate doctor` again",
            );
            report.skip(
                "switchboard and widget",
                "need working Conversations credentials (above)",
            );
            return;
        }
    };
    if !custom
        .iter()
        .any(|i| i["id"] == settings.integration_id.as_str())
    {
        report.fail(
            "Conversations",
            format!(
                "the key works, but {} is not a Conversations integration of app {}",
                settings.integration_id, settings.app_id
            ),
            format!(
                "copy Deskmate's integration id from Admin Center → Conversations integrations and run `deskmate conversations connect --account {account} …` again"
            ),
        );
        return;
    }
    report.pass(
        "Conversations",
        format!(
            "the API key works and integration {} exists",
            settings.integration_id
        ),
    );
    let register = format!("run `deskmate switchboard register --account {account}`");
    let (_, members) = match client.switchboard().await {
        Ok(switchboard) => switchboard,
        Err(err) => {
            report.fail(
                "switchboard",
                format!("could not read the switchboard: {err}"),
                "turn on messaging in Admin Center, then run `deskmate doctor` again",
            );
            return;
        }
    };
    let deskmate = members
        .iter()
        .find(|m| m["integrationId"] == settings.integration_id.as_str());
    let workspace = members
        .iter()
        .find(|m| m["integrationType"] == "zd:agentWorkspace");
    match (deskmate, workspace) {
        (None, _) => {
            report.fail(
                "switchboard",
                "Deskmate's integration is not on the switchboard",
                register.clone(),
            );
        }
        (Some(_), None) => report.fail(
            "switchboard",
            "the Agent Workspace is not on the switchboard",
            "turn on messaging (Agent Workspace) in Admin Center, then run `deskmate switchboard register`",
        ),
        (Some(ours), Some(workspace)) if ours["nextSwitchboardIntegrationId"] != workspace["id"] => {
            report.fail(
                "switchboard",
                "Deskmate is on the switchboard, but the Agent Workspace is not next after it (hand-offs would go nowhere)",
                register.clone(),
            );
        }
        (Some(_), Some(_)) => report.pass(
            "switchboard",
            "Deskmate is on the switchboard with the Agent Workspace next",
        ),
    }
    let widgets = match client.integrations("web").await {
        Ok(widgets) => widgets,
        Err(err) => {
            report.fail(
                "widget",
                format!("could not list the Web Widgets: {err}"),
                "run `deskmate doctor` again",
            );
            return;
        }
    };
    let describe = |w: &Value| {
        format!(
            "{} ({})",
            w["displayName"].as_str().unwrap_or("unnamed"),
            w["id"].as_str().unwrap_or("?")
        )
    };
    let ours =
        |w: &Value| w["defaultResponder"]["integrationId"] == settings.integration_id.as_str();
    match &store.widget_integration_id {
        Some(widget_id) => {
            let owner = ports.widgets.widget_owner(account, widget_id).await;
            let Some(widget) = widgets.iter().find(|w| w["id"] == widget_id.as_str()) else {
                report.fail(
                    "widget",
                    format!("the store's widget {widget_id} is no longer a Web Widget of {account}"),
                    format!(
                        "run `deskmate widgets unmap --store {id}`, then `deskmate widgets map --store {id} --widget <id from deskmate widgets list --account {account}>`",
                        id = store.id
                    ),
                );
                return;
            };
            match owner {
                Ok(Some(owner)) if owner == store.id => {}
                Ok(owner) => {
                    report.fail(
                        "widget mapping",
                        format!(
                            "the store names widget {} but the widget routes to {}",
                            describe(widget),
                            owner.map_or("no store".to_owned(), |o| format!("store {o}"))
                        ),
                        format!(
                            "run `deskmate widgets unmap --store {id}`, then `deskmate widgets map --store {id} --widget {widget_id}`",
                            id = store.id
                        ),
                    );
                    return;
                }
                Err(err) => {
                    report.fail(
                        "widget mapping",
                        format!("could not read the widget's route: {err}"),
                        "run `deskmate doctor` again",
                    );
                    return;
                }
            }
            if ours(widget) {
                report.pass(
                    "widget",
                    format!(
                        "{} is mapped to this store and Deskmate is its default responder",
                        describe(widget)
                    ),
                );
            } else {
                report.fail(
                    "widget",
                    format!(
                        "{} is mapped to this store, but its new conversations go to {}, not Deskmate",
                        describe(widget),
                        widget["defaultResponder"]["name"].as_str().unwrap_or("the app's default responder")
                    ),
                    register,
                );
            }
        }
        None => {
            // Without a widget the store answers the account's unmapped widgets, if it is the
            // account's fallback (the first such store by id).
            let stores = ports.stores.list_stores().await.unwrap_or_default();
            let fallback = stores
                .iter()
                .filter(|s| s.subdomain == *account && s.widget_integration_id.is_none())
                .map(|s| s.id.clone())
                .min_by(|a, b| a.as_str().cmp(b.as_str()));
            if fallback.as_ref() != Some(&store.id) {
                report.pass(
                    "widget",
                    format!(
                        "no widget is mapped to this store, and store {} answers the unmapped widgets: this store answers email only",
                        fallback.map_or("?".to_owned(), |f| f.to_string())
                    ),
                );
                return;
            }
            let mut answered = Vec::new();
            for widget in &widgets {
                let id = widget["id"].as_str().unwrap_or_default();
                if let Ok(None) = ports.widgets.widget_owner(account, id).await {
                    answered.push(widget);
                }
            }
            let missed: Vec<String> = answered
                .iter()
                .filter(|w| !ours(w))
                .map(|w| describe(w))
                .collect();
            if answered.is_empty() {
                report.pass("widget", "no widget is mapped to this store, and every widget is another store's: it answers email only");
            } else if missed.is_empty() {
                report.pass(
                    "widget",
                    format!(
                        "no widget is mapped to this store: it answers the unmapped widgets {}, all coming to Deskmate",
                        answered.iter().map(|w| describe(w)).collect::<Vec<_>>().join(", ")
                    ),
                );
            } else {
                report.fail(
                    "widget mapping",
                    format!(
                        "no widget is mapped to this store, so it answers every unmapped widget, but {} {} not come to Deskmate",
                        missed.join(", "),
                        if missed.len() == 1 { "does" } else { "do" }
                    ),
                    format!(
                        "map the store's own widget (`deskmate widgets map --store {} --widget <id>`), or run `deskmate switchboard register --account {account}` so Deskmate takes every widget this store answers",
                        store.id
                    ),
                );
            }
        }
    }
}

fn conversations_client(
    stack: &Stack,
    settings: &ConversationsAccount,
    key: &SecretString,
) -> ConversationsClient {
    ConversationsClient::new(
        http_client(Duration::from_secs(10)),
        &account_base_url(&settings.subdomain, stack.zendesk_url.as_deref()),
        &settings.app_id,
        &settings.key_id,
        key,
        RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::default()
        },
    )
}

/// The job queue's and the dead-letter queue's depth, when their URLs are known.
async fn queues(stack: &Stack, options: &DoctorOptions, report: &mut Report) {
    if options.queue_url.is_none() && options.dead_letter_queue_url.is_none() {
        report.skip(
            "queues",
            "queue URLs unknown: pass --stack-name (or --queue-url and --dead-letter-queue-url) to see their depth",
        );
        return;
    }
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk().await);
    let depth = |url: String| {
        let sqs = sqs.clone();
        async move {
            use aws_sdk_sqs::types::QueueAttributeName as Name;
            let answer = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(Name::ApproximateNumberOfMessages)
                .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .map_err(|err| plain_error(&err))?;
            let count = |name: Name| {
                answer
                    .attributes()
                    .and_then(|a| a.get(&name))
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            Ok::<_, String>((
                count(Name::ApproximateNumberOfMessages),
                count(Name::ApproximateNumberOfMessagesNotVisible),
            ))
        }
    };
    if let Some(url) = &options.queue_url {
        match depth(url.clone()).await {
            Ok((waiting, in_flight)) => report.pass(
                "job queue",
                format!("{waiting} waiting, {in_flight} being worked on"),
            ),
            Err(err) => report.fail(
                "job queue",
                format!("could not read the job queue: {err}"),
                "check --stack-name / --queue-url and the AWS credentials",
            ),
        }
    }
    if let Some(url) = &options.dead_letter_queue_url {
        match depth(url.clone()).await {
            Ok((0, 0)) => report.pass("dead-letter queue", "empty"),
            Ok((waiting, in_flight)) => report.fail(
                "dead-letter queue",
                format!(
                    "{} job{} failed on every attempt ({waiting} waiting, {in_flight} being handed to a human)",
                    waiting + in_flight,
                    if waiting + in_flight == 1 { "" } else { "s" }
                ),
                "the dead-letters function hands each to a human; if they stay, read its CloudWatch logs (look for \"alert\":\"customer_unanswered\")",
            ),
            Err(err) => report.fail(
                "dead-letter queue",
                format!("could not read the dead-letter queue: {err}"),
                "check --stack-name / --dead-letter-queue-url and the AWS credentials",
            ),
        }
    }
}
