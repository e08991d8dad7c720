//! The operator commands run as an operator would: the real binary, moto for the stack's
//! table and Secrets Manager, the sandbox for Zendesk.

use std::process::{Command, Output, Stdio};

use deskmate_cli::local::{LocalStack, Services};
use deskmate_shared::domain::StoreId;
use deskmate_shared::secrets::{SecretStore, SecretsManagerStore};
use deskmate_shared::state::{DynamoState, StoreDirectory};
use secrecy::ExposeSecret;
use zendesk_sandbox::{Role, Sandbox};

/// The deployed stack's API URL the tests give the CLI (a placeholder or `example` URL is
/// refused by `zendesk setup`).
const API_URL: &str = "https://abc123def4.execute-api.us-east-1.amazonaws.com";

fn moto() -> String {
    std::env::var("DESKMATE_TEST_AWS_ENDPOINT")
        .expect("DESKMATE_TEST_AWS_ENDPOINT is not set: these tests need local AWS services; run them with infra/test.sh")
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await
}

struct Fixture {
    sandbox: Sandbox,
    /// This test's store id and account (secret names derive from them, so tests must not
    /// share one).
    id: String,
    account: String,
    table: String,
    token: String,
    dynamodb: aws_sdk_dynamodb::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

async fn fixture() -> Fixture {
    let sandbox = Sandbox::start().await;
    sandbox.add_brand("Acme");
    sandbox.add_user("Deskmate Bot", "bot@acme.test", Role::Agent);
    sandbox.add_user("Light", "light@acme.test", Role::LightAgent);
    sandbox.add_user("Customer", "customer@acme.test", Role::EndUser);
    let token = sandbox.add_api_token();
    let sdk = sdk().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let table = format!("deskmate-cli-{}-{nanos}", std::process::id());
    DynamoState::create_table(&dynamodb, &table).await.unwrap();
    Fixture {
        sandbox,
        id: format!("acme-{nanos:x}"),
        account: format!("acme{nanos:x}"),
        table,
        token,
        dynamodb,
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
    }
}

impl Fixture {
    /// Runs `deskmate` as an operator would, against this fixture's stack; `env` adds to or
    /// overrides the defaults (sandbox Zendesk, a test API URL, the sandbox's API token).
    fn deskmate(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env)
            .output()
            .expect("the deskmate binary runs")
    }

    /// Like [`Fixture::deskmate`], without the variables in `remove` (which may be defaults).
    fn deskmate_without(&self, args: &[&str], env: &[(&str, &str)], remove: &[&str]) -> Output {
        let mut command = self.command(args, env);
        for name in remove {
            command.env_remove(name);
        }
        command.output().expect("the deskmate binary runs")
    }

    /// The `deskmate` command [`Fixture::deskmate`] runs, not started yet.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deskmate"));
        command
            .args(args)
            .env("DESKMATE_TABLE", &self.table)
            .env("DESKMATE_AWS_ENDPOINT", moto())
            .env("DESKMATE_ZENDESK_URL", self.sandbox.base_url())
            .env("DESKMATE_API_URL", API_URL)
            .env("DESKMATE_ZENDESK_API_TOKEN", &self.token)
            .env_remove("DESKMATE_STACK_NAME")
            .env_remove("DESKMATE_QUEUE_URL")
            .env_remove("DESKMATE_DEAD_LETTER_QUEUE_URL")
            .env_remove("DESKMATE_OPENAI_API_KEY")
            .env_remove("DESKMATE_AGENT_WEBHOOK_SECRET")
            .stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }

    /// The store as the table holds it.
    async fn store(&self, id: &str) -> Option<deskmate_shared::domain::StoreConfig> {
        DynamoState::new(self.dynamodb.clone(), &self.table)
            .store(&StoreId::parse(id).unwrap())
            .await
            .unwrap()
    }

    /// A secret's value, or `None` when it is missing or pending deletion.
    async fn secret(&self, name: &str) -> Option<String> {
        self.secrets
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .ok()
            .and_then(|s| s.secret_string().map(str::to_owned))
    }

    /// `deskmate store connect` for "Acme Shoes" (this fixture's store id unless `--id` is given).
    fn connect(
        &self,
        subdomain: &str,
        email: &str,
        token: &str,
        zendesk: &str,
        extra: &[&str],
    ) -> Output {
        let mut args = vec![
            "store",
            "connect",
            "--name",
            "Acme Shoes",
            "--subdomain",
            subdomain,
            "--bot-email",
            email,
        ];
        args.extend_from_slice(extra);
        if !extra.contains(&"--id") {
            args.extend(["--id", self.id.as_str()]);
        }
        self.deskmate(
            &args,
            &[
                ("DESKMATE_ZENDESK_URL", zendesk),
                ("DESKMATE_ZENDESK_API_TOKEN", token),
            ],
        )
    }

    /// Deskmate's functions over this fixture's table and a queue of its own, served on
    /// loopback as the deployed stack would serve them.
    async fn deployed_stack(&self) -> LocalStack {
        let services = Services::Aws {
            endpoint: moto(),
            table: self.table.clone(),
            queue: format!("{}-jobs", self.table),
        };
        LocalStack::start(
            &services,
            Some(self.sandbox.base_url().to_owned()),
            "127.0.0.1:0",
        )
        .await
        .expect("the local stack starts")
    }

    /// Lets Zendesk's webhooks arrive and the worker answer them, until all is quiet.
    async fn settle(&self, stack: &LocalStack) {
        loop {
            self.sandbox.settle().await;
            if stack.run_pending_jobs().await == 0 {
                return;
            }
        }
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_a_store_saves_it_and_prints_the_card_once() {
    let f = fixture().await;
    let output = f.connect(
        "Acme.zendesk.com",
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &["--json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let card: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(card["store_id"], f.id.as_str());
    assert_eq!(card["account"], "acme.zendesk.com");
    assert_eq!(
        card["webhook_url"],
        format!("{API_URL}/webhooks/zendesk/{}", f.id)
    );
    assert_eq!(card["tool_url"], format!("{API_URL}/tools/escalate"));

    let state = DynamoState::new(f.dynamodb.clone(), &f.table);
    let store = state
        .store(&StoreId::parse(&f.id).unwrap())
        .await
        .unwrap()
        .expect("saved");
    assert_eq!(store.subdomain, "acme");
    assert!(
        store
            .webhook_token_hash
            .matches(card["webhook_bearer_token"].as_str().unwrap())
    );
    assert!(
        store
            .tool_token_hash
            .unwrap()
            .matches(card["tool_token"].as_str().unwrap())
    );
    let secrets = SecretsManagerStore::new(f.secrets.clone(), std::time::Duration::ZERO);
    let saved = secrets.secret(&store.zendesk_token_secret).await.unwrap();
    assert_eq!(
        saved.expose_secret(),
        f.token,
        "the API token went to Secrets Manager"
    );
    let scan = f.dynamodb.scan().table_name(&f.table).send().await.unwrap();
    assert!(
        !format!("{:?}", scan.items()).contains(&f.token),
        "no plain token in the table"
    );

    let text = f.connect(
        "acme",
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &["--id", "acme-text"],
    );
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Bearer token:") && text.contains("(shown once)"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_failure_says_what_to_fix() {
    let f = fixture().await;
    let base = f.sandbox.base_url().to_owned();
    let cases = [
        (
            "acme",
            "bot@acme.test",
            "wrong-token",
            base.as_str(),
            "token access is disabled in Admin Center",
        ),
        (
            "acme",
            "light@acme.test",
            f.token.as_str(),
            base.as_str(),
            "the bot user must be a full Agent",
        ),
        (
            "acme",
            "customer@acme.test",
            f.token.as_str(),
            base.as_str(),
            "the bot user must be a full Agent",
        ),
        (
            "globex",
            "bot@acme.test",
            f.token.as_str(),
            "http://127.0.0.1:9",
            "no Zendesk account answers at globex.zendesk.com",
        ),
        (
            "https://acme.zendesk.com",
            "bot@acme.test",
            f.token.as_str(),
            base.as_str(),
            "`acme` or `acme.zendesk.com`",
        ),
        (
            "acme.example.com",
            "bot@acme.test",
            f.token.as_str(),
            base.as_str(),
            "`acme` or `acme.zendesk.com`",
        ),
        (
            "",
            "bot@acme.test",
            f.token.as_str(),
            base.as_str(),
            "the subdomain is empty",
        ),
    ];
    for (subdomain, email, token, zendesk, message) in cases {
        let output = f.connect(subdomain, email, token, zendesk, &[]);
        assert_eq!(output.status.code(), Some(1), "{subdomain} {email}");
        assert!(
            stderr(&output).contains(message),
            "{subdomain} {email}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains(&f.token),
            "the token never appears in errors"
        );
    }
    let scan = f.dynamodb.scan().table_name(&f.table).send().await.unwrap();
    assert_eq!(scan.count(), 0, "nothing was saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_setup_twice_leaves_one_webhook_and_two_branded_triggers_and_verifies_signatures() {
    let f = fixture().await;
    let brand = f.sandbox.add_brand("Shoes");
    let brand_text = brand.to_string();
    let connect = f.connect(
        "acme",
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &["--brand-id", &brand_text],
    );
    assert!(connect.status.success(), "{}", stderr(&connect));

    let mut last = serde_json::Value::Null;
    for _ in 0..2 {
        let output = f.deskmate(&["zendesk", "setup", "--store", &f.id, "--json"], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        last = serde_json::from_slice(&output.stdout).unwrap();
    }
    let webhooks = f.sandbox.webhooks();
    assert_eq!(webhooks.len(), 1, "{webhooks:?}");
    assert_eq!(
        webhooks[0].2,
        format!("{API_URL}/webhooks/zendesk/{}", f.id)
    );
    let triggers = f.sandbox.triggers();
    assert_eq!(triggers.len(), 2, "{triggers:?}");
    for trigger in &triggers {
        let conditions = trigger["conditions"]["all"].as_array().unwrap();
        assert!(
            conditions
                .iter()
                .any(|c| c["field"] == "brand_id" && c["value"] == brand_text.as_str()),
            "{trigger}"
        );
    }

    let state = DynamoState::new(f.dynamodb.clone(), &f.table);
    let store = state
        .store(&StoreId::parse(&f.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        store.webhook_signing_secret.is_some(),
        "the signing secret is stored"
    );
    let bearer = last["webhook_bearer_token"].as_str().unwrap();
    assert!(
        store.webhook_token_hash.matches(bearer),
        "the rotated token is the one Zendesk has"
    );

    // The ticket webhook now refuses a delivery whose signature is forged.
    let stack = f.deployed_stack().await;
    let url = &stack.url;
    let body = r#"{"event":"ticket_created","ticket_id":"7"}"#;
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let timestamp = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{url}/webhooks/zendesk/{}", f.id))
        .bearer_auth(bearer)
        .header("x-zendesk-webhook-signature-timestamp", &timestamp)
        .header("x-zendesk-webhook-signature", "Zm9yZ2VkIHNpZ25hdHVyZQ==")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("signature does not match")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widgets_are_listed_mapped_once_and_unmapped() {
    let f = fixture().await;
    let keys = f.sandbox.enable_messaging();
    let (integration, shared_secret) = f.sandbox.add_conversations_integration(
        "Deskmate",
        &format!(
            "https://api.example.test/webhooks/conversations/{}",
            f.account
        ),
        &["conversation:message"],
    );
    let shoes = f.sandbox.add_brand("Shoes");
    let bags = f.sandbox.add_brand("Bags");
    let shoes_widget = f.sandbox.add_web_widget(shoes, "Shoes widget");
    f.sandbox.add_web_widget(bags, "Bags widget");
    for (name, id) in [("Acme Shoes", "shoes"), ("Acme Bags", "bags")] {
        let output = f.deskmate(
            &[
                "store",
                "connect",
                "--name",
                name,
                "--id",
                id,
                "--subdomain",
                &f.account,
                "--bot-email",
                "bot@acme.test",
            ],
            &[("DESKMATE_ZENDESK_API_TOKEN", &f.token)],
        );
        assert!(output.status.success(), "{}", stderr(&output));
    }

    let connect = [
        "conversations",
        "connect",
        "--account",
        &f.account,
        "--app-id",
        &keys.app_id,
        "--key-id",
        &keys.key_id,
        "--integration-id",
    ];
    let secrets = [
        (
            "DESKMATE_CONVERSATIONS_KEY_SECRET",
            keys.key_secret.as_str(),
        ),
        (
            "DESKMATE_CONVERSATIONS_SHARED_SECRET",
            shared_secret.as_str(),
        ),
    ];
    let wrong_integration = f.deskmate(&[&connect[..], &["not-ours"]].concat(), &secrets);
    assert_eq!(wrong_integration.status.code(), Some(1));
    assert!(
        stderr(&wrong_integration).contains("is not a Conversations integration of app"),
        "{}",
        stderr(&wrong_integration)
    );
    let wrong_key = f.deskmate(
        &[&connect[..], &[integration.as_str()]].concat(),
        &[("DESKMATE_CONVERSATIONS_KEY_SECRET", "nope"), secrets[1]],
    );
    assert!(
        stderr(&wrong_key).contains("refused the Conversations API key"),
        "{}",
        stderr(&wrong_key)
    );
    let ok = f.deskmate(&[&connect[..], &[integration.as_str()]].concat(), &secrets);
    assert!(ok.status.success(), "{}", stderr(&ok));

    let mapped = f.deskmate(
        &[
            "widgets",
            "map",
            "--store",
            "shoes",
            "--widget",
            &shoes_widget,
        ],
        &[],
    );
    assert!(mapped.status.success(), "{}", stderr(&mapped));
    let taken = f.deskmate(
        &[
            "widgets",
            "map",
            "--store",
            "bags",
            "--widget",
            &shoes_widget,
        ],
        &[],
    );
    assert_eq!(taken.status.code(), Some(1));
    assert!(
        stderr(&taken).contains("already taken by store Acme Shoes"),
        "{}",
        stderr(&taken)
    );

    let list = f.deskmate(&["widgets", "list", "--account", &f.account, "--json"], &[]);
    assert!(list.status.success(), "{}", stderr(&list));
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let widgets = listed["widgets"].as_array().unwrap();
    assert_eq!(widgets.len(), 2);
    let shoes_row = widgets
        .iter()
        .find(|w| w["integration_id"] == shoes_widget.as_str())
        .unwrap();
    assert_eq!(shoes_row["store"], "shoes");
    assert_eq!(shoes_row["name"], "Shoes widget");
    assert!(
        widgets.iter().any(|w| w["store"].is_null()),
        "the Bags widget is unmapped"
    );
    let text = f.deskmate(&["widgets", "list", "--account", &f.account], &[]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("(unmapped)"));

    let unmapped = f.deskmate(&["widgets", "unmap", "--store", "shoes"], &[]);
    assert!(unmapped.status.success(), "{}", stderr(&unmapped));
    let remapped = f.deskmate(
        &[
            "widgets",
            "map",
            "--store",
            "bags",
            "--widget",
            &shoes_widget,
        ],
        &[],
    );
    assert!(
        remapped.status.success(),
        "the freed widget can go to another store: {}",
        stderr(&remapped)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchboard_register_takes_only_the_answered_widgets_and_leaves_the_app_default() {
    let f = fixture().await;
    let keys = f.sandbox.enable_messaging();
    let (integration, shared_secret) = f.sandbox.add_conversations_integration(
        "Deskmate",
        &format!(
            "https://api.example.test/webhooks/conversations/{}",
            f.account
        ),
        &["conversation:message"],
    );
    let secrets = [
        (
            "DESKMATE_CONVERSATIONS_KEY_SECRET",
            keys.key_secret.as_str(),
        ),
        (
            "DESKMATE_CONVERSATIONS_SHARED_SECRET",
            shared_secret.as_str(),
        ),
    ];
    let connect = f.deskmate(
        &[
            "conversations",
            "connect",
            "--account",
            &f.account,
            "--app-id",
            &keys.app_id,
            "--key-id",
            &keys.key_id,
            "--integration-id",
            &integration,
        ],
        &secrets,
    );
    assert!(connect.status.success(), "{}", stderr(&connect));
    // One store, mapped to the Shoes widget; the Bags widget and WhatsApp are nobody's.
    let store = f.connect(
        &f.account,
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &[],
    );
    assert!(store.status.success(), "{}", stderr(&store));
    let brand = f.sandbox.add_brand("Shoes");
    let shoes = f.sandbox.add_web_widget(brand, "Shoes widget");
    let bags = f.sandbox.add_web_widget(brand, "Bags widget");
    let whatsapp = f.sandbox.add_channel("whatsapp", "WhatsApp");
    let map = f.deskmate(
        &["widgets", "map", "--store", &f.id, "--widget", &shoes],
        &[],
    );
    assert!(map.status.success(), "{}", stderr(&map));
    assert_eq!(
        f.sandbox.switchboard().0.as_deref(),
        Some("zd-agentWorkspace"),
        "messaging starts with the Agent Workspace"
    );

    let mut outputs = Vec::new();
    for _ in 0..2 {
        let output = f.deskmate(
            &["switchboard", "register", "--account", &f.account, "--json"],
            &[],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        outputs.push(serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap());
    }
    let (default, next) = f.sandbox.switchboard();
    assert_eq!(
        default.as_deref(),
        Some("zd-agentWorkspace"),
        "the app's default responder (every other channel) is left as it was"
    );
    assert_eq!(
        f.sandbox.default_responder_of(&shoes).as_deref(),
        Some("deskmate")
    );
    assert_eq!(
        f.sandbox.default_responder_of(&bags),
        None,
        "no store answers it"
    );
    assert_eq!(f.sandbox.default_responder_of(&whatsapp), None);
    assert_eq!(
        next.len(),
        2,
        "one Deskmate switchboard integration: {next:?}"
    );
    assert!(
        next.contains(&("deskmate".to_owned(), Some("zd-agentWorkspace".to_owned()))),
        "{next:?}"
    );
    assert!(
        next.contains(&("zd-agentWorkspace".to_owned(), Some("deskmate".to_owned()))),
        "{next:?}"
    );
    assert_eq!(outputs[0]["before"]["default"], "zd-agentWorkspace");
    assert_eq!(outputs[0]["after"]["default"], "zd-agentWorkspace");
    let shoes_after = outputs[0]["after"]["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["widget"] == shoes.as_str())
        .cloned()
        .unwrap();
    assert_eq!(shoes_after["default_responder"], "deskmate");
    assert_eq!(
        outputs[1]["before"], outputs[1]["after"],
        "the second run changes nothing"
    );

    // With a store that has no widget (the account's fallback), every web widget is Deskmate's;
    // WhatsApp still is not. An app default an older register gave Deskmate goes back.
    let fallback_id = format!("{}-outlet", f.id);
    let fallback = f.connect(
        &f.account,
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &["--id", &fallback_id],
    );
    assert!(fallback.status.success(), "{}", stderr(&fallback));
    f.sandbox
        .make_default_responder(&integration, "deskmate-old");
    let output = f.deskmate(&["switchboard", "register", "--account", &f.account], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        f.sandbox.default_responder_of(&bags).as_deref(),
        Some("deskmate")
    );
    assert_eq!(f.sandbox.default_responder_of(&whatsapp), None);
    assert_eq!(
        f.sandbox.switchboard().0.as_deref(),
        Some("zd-agentWorkspace")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_brands_set_up_with_the_cli_are_each_answered_by_their_own_store() {
    let f = fixture().await;
    let stack = f.deployed_stack().await;
    let url = stack.url.clone();
    let dir = std::env::temp_dir().join(format!("{}-knowledge", f.id));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = f.sandbox.enable_messaging();
    let (integration, shared_secret) = f.sandbox.add_conversations_integration(
        "Deskmate",
        &format!("{url}/webhooks/conversations/{}", f.account),
        &[
            "conversation:message",
            "conversation:create",
            "switchboard:passControl",
            "switchboard:releaseControl",
        ],
    );
    // The stack's real URL goes into the Zendesk webhook and the Conversations integration.
    let api = [("DESKMATE_API_URL", url.as_str())];
    // (store suffix, brand, widget, the answer its knowledge file gives)
    let mut brands = Vec::new();
    for (brand_name, suffix, answer) in [
        ("Shoes", "shoes", "Shoes go back within 30 days."),
        ("Bags", "bags", "Bags go back within 14 days."),
    ] {
        let brand = f.sandbox.add_brand(brand_name);
        let widget = f
            .sandbox
            .add_web_widget(brand, &format!("{brand_name} widget"));
        let knowledge = dir.join(format!("{suffix}.md"));
        std::fs::write(&knowledge, format!("# Returns\n{answer}\n")).unwrap();
        let store_id = format!("{}-{suffix}", f.id);
        let brand_text = brand.to_string();
        let name = format!("Acme {brand_name}");
        let connect = [
            "store",
            "connect",
            "--name",
            &name,
            "--id",
            &store_id,
            "--subdomain",
            &f.account,
            "--bot-email",
            "bot@acme.test",
            "--brand-id",
            &brand_text,
            "--knowledge",
            knowledge.to_str().unwrap(),
        ];
        let output = f.deskmate(&connect, &api);
        assert!(output.status.success(), "{}", stderr(&output));
        let output = f.deskmate(&["zendesk", "setup", "--store", &store_id], &api);
        assert!(output.status.success(), "{}", stderr(&output));
        brands.push((store_id, name, brand, widget, answer));
    }
    let with_secrets = [
        api[0],
        (
            "DESKMATE_CONVERSATIONS_KEY_SECRET",
            keys.key_secret.as_str(),
        ),
        (
            "DESKMATE_CONVERSATIONS_SHARED_SECRET",
            shared_secret.as_str(),
        ),
    ];
    let connect = [
        "conversations",
        "connect",
        "--account",
        &f.account,
        "--app-id",
        &keys.app_id,
        "--key-id",
        &keys.key_id,
        "--integration-id",
        &integration,
    ];
    let output = f.deskmate(&connect, &with_secrets);
    assert!(output.status.success(), "{}", stderr(&output));
    for (store_id, _, _, widget, _) in &brands {
        let output = f.deskmate(
            &["widgets", "map", "--store", store_id, "--widget", widget],
            &api,
        );
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let output = f.deskmate(&["switchboard", "register", "--account", &f.account], &api);
    assert!(output.status.success(), "{}", stderr(&output));
    let whatsapp = f.sandbox.add_channel("whatsapp", "WhatsApp");
    let telegram = f.sandbox.add_channel("telegram", "Telegram");

    let customer = f
        .sandbox
        .add_user("Maria", "maria@example.test", Role::EndUser);
    let mut threads = Vec::new();
    for (_, name, brand, widget, answer) in &brands {
        let ticket = f.sandbox.customer_emails(
            customer,
            Some(*brand),
            "Returns",
            "Can I get returns on this?",
        );
        let conversation = f.sandbox.widget_visitor_opens(widget, "Lee");
        f.sandbox
            .widget_visitor_says(&conversation, "Can I get returns on this?");
        threads.push((ticket, conversation, name.clone(), *answer));
    }
    let mut other_channels = Vec::new();
    for channel in [&whatsapp, &telegram] {
        let conversation = f.sandbox.widget_visitor_opens(channel, "Noor");
        f.sandbox
            .widget_visitor_says(&conversation, "Can I get returns on this?");
        other_channels.push(conversation);
    }
    f.settle(&stack).await;

    // WhatsApp and Telegram go to the Agent Workspace, without a word from the bot.
    for conversation in &other_channels {
        assert_eq!(
            f.sandbox.in_control(conversation).as_deref(),
            Some("zd-agentWorkspace")
        );
        assert!(
            f.sandbox
                .conversation_messages(conversation)
                .iter()
                .all(|m| m.author_type == "user"),
            "no bot message on another channel"
        );
    }
    let bot = f
        .sandbox
        .ticket(threads[0].0)
        .unwrap()
        .assignee_id
        .expect("the bot has the ticket");
    for (ticket, conversation, name, answer) in threads {
        let replies: Vec<_> = f
            .sandbox
            .comments(ticket)
            .into_iter()
            .filter(|c| c.author_id == bot && c.public)
            .collect();
        assert_eq!(replies.len(), 1, "{name}: ticket {ticket}");
        assert!(
            replies[0].body.contains(answer),
            "{name}: {}",
            replies[0].body
        );
        let messages: Vec<_> = f
            .sandbox
            .conversation_messages(&conversation)
            .into_iter()
            .filter(|m| m.author_type == "business")
            .collect();
        assert_eq!(messages.len(), 1, "{name}: {messages:?}");
        assert!(
            messages[0].text.contains(answer),
            "{name}: {}",
            messages[0].text
        );
        assert_eq!(messages[0].display_name.as_deref(), Some(name.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_store_loses_its_secrets_and_items_and_its_webhook_answers_401() {
    let f = fixture().await;
    let connect = f.connect(
        "acme",
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &["--json"],
    );
    assert!(connect.status.success(), "{}", stderr(&connect));
    // Zendesk gets its webhook and triggers, so "left untouched" below means something.
    let setup = f.deskmate(&["zendesk", "setup", "--store", &f.id, "--json"], &[]);
    assert!(setup.status.success(), "{}", stderr(&setup));
    let setup: serde_json::Value = serde_json::from_slice(&setup.stdout).unwrap();
    let bearer = setup["webhook_bearer_token"].as_str().unwrap().to_owned();
    let signing_secret = DynamoState::new(f.dynamodb.clone(), &f.table)
        .store(&StoreId::parse(&f.id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .webhook_signing_secret
        .expect("setup stored the signing secret");

    let test = f.deskmate(&["store", "test", "--store", &f.id, "--json"], &[]);
    assert!(test.status.success(), "{}", stderr(&test));
    let list = f.deskmate(&["store", "list", "--json"], &[]);
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed["stores"][0]["store_id"], f.id.as_str());
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&bearer),
        "list never shows tokens"
    );

    let stack = f.deployed_stack().await;
    let endpoint = format!("{}/webhooks/zendesk/{}", stack.url, f.id);
    let deliver = |token: String| {
        let endpoint = endpoint.clone();
        let body = r#"{"event":"ticket_created","ticket_id":"7"}"#;
        let timestamp = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let signature =
            deskmate_shared::auth::zendesk_signature(&signing_secret, &timestamp, body.as_bytes());
        async move {
            reqwest::Client::new()
                .post(endpoint)
                .bearer_auth(token)
                .header("x-zendesk-webhook-signature-timestamp", timestamp)
                .header("x-zendesk-webhook-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        deliver(bearer.clone()).await,
        202,
        "connected: the webhook accepts its token"
    );

    let secret_name = format!("deskmate/{}/zendesk-api-token", f.id);
    let output = f.deskmate(&["store", "disconnect", "--store", &f.id, "--json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let remove = answer["remove_in_zendesk"].to_string();
    assert!(
        remove.contains(&format!("Deskmate events ({})", f.id))
            && remove.contains("Conversations integration"),
        "{remove}"
    );

    assert!(
        f.secrets
            .get_secret_value()
            .secret_id(&secret_name)
            .send()
            .await
            .is_err(),
        "the API token secret is gone"
    );
    let scan = f.dynamodb.scan().table_name(&f.table).send().await.unwrap();
    let left: Vec<_> = scan
        .items()
        .iter()
        .filter(|item| format!("{item:?}").contains(&f.id))
        .collect();
    assert!(left.is_empty(), "no item of the store is left: {left:?}");
    assert_eq!(
        deliver(bearer).await,
        401,
        "the webhook no longer knows the store"
    );
    assert_eq!(f.sandbox.webhooks().len(), 1, "Zendesk is left as it is");
    assert_eq!(f.sandbox.triggers().len(), 2, "Zendesk is left as it is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_test_accepts_only_roles_that_can_post_public_replies_and_names_the_others()
{
    let f = fixture().await;
    for (name, email, role) in [
        ("Chat", "chat@acme.test", Role::ChatAgent),
        ("Contributor", "contributor@acme.test", Role::Contributor),
        ("Custom", "custom@acme.test", Role::CustomAgent),
        ("Billing", "billing@acme.test", Role::BillingAdmin),
    ] {
        f.sandbox.add_user(name, email, role);
    }
    for (email, role) in [
        ("light@acme.test", "light agent (role_type 1)"),
        ("chat@acme.test", "chat-only agent (role_type 2)"),
        ("contributor@acme.test", "contributor (role_type 3)"),
        ("customer@acme.test", "end user"),
    ] {
        let output = f.connect("acme", email, &f.token, f.sandbox.base_url(), &[]);
        assert_eq!(output.status.code(), Some(1), "{email}");
        let message = stderr(&output);
        assert!(
            message.contains(&format!("is a {role}, which cannot post public replies"))
                && message.contains("the bot user must be a full Agent"),
            "{email}: {message}"
        );
    }
    let scan = f.dynamodb.scan().table_name(&f.table).send().await.unwrap();
    assert_eq!(scan.count(), 0, "no store was saved for those roles");

    for (email, suffix) in [
        ("custom@acme.test", "custom"),
        ("billing@acme.test", "billing"),
    ] {
        let id = format!("{}-{suffix}", f.id);
        let output = f.connect(
            "acme",
            email,
            &f.token,
            f.sandbox.base_url(),
            &["--id", &id],
        );
        assert!(output.status.success(), "{email}: {}", stderr(&output));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_setup_on_an_account_with_many_webhooks_and_triggers_makes_no_duplicates() {
    let f = fixture().await;
    // Other webhooks and triggers made before Deskmate's: the sandbox lists five a page, so
    // Deskmate's own come on the third page.
    let http = reqwest::Client::new();
    for i in 0..12 {
        for (path, body) in [
            (
                "/api/v2/webhooks",
                serde_json::json!({"webhook": {"name": format!("Slack relay {i}"), "endpoint": "https://hooks.example.test/relay", "http_method": "POST", "request_format": "json", "status": "active", "subscriptions": ["conditional_ticket_events"]}}),
            ),
            (
                "/api/v2/triggers",
                serde_json::json!({"trigger": {"title": format!("Route VIPs {i}"), "conditions": {"all": [{"field": "organization_id", "operator": "is", "value": "1"}], "any": []}, "actions": []}}),
            ),
        ] {
            let response = http
                .post(format!("{}{path}", f.sandbox.base_url()))
                .basic_auth("bot@acme.test/token", Some(&f.token))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 201, "{path}");
        }
    }
    let connect = f.connect("acme", "bot@acme.test", &f.token, f.sandbox.base_url(), &[]);
    assert!(connect.status.success(), "{}", stderr(&connect));
    let mut runs = Vec::new();
    for _ in 0..2 {
        let output = f.deskmate(&["zendesk", "setup", "--store", &f.id, "--json"], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        runs.push(serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap());
    }
    assert_eq!(
        runs[0]["webhook_id"], runs[1]["webhook_id"],
        "the same webhook, updated"
    );
    assert_eq!(
        runs[0]["trigger_ids"], runs[1]["trigger_ids"],
        "the same triggers, updated"
    );

    let webhooks = f.sandbox.webhooks();
    let ours = format!("Deskmate events ({})", f.id);
    assert_eq!(
        webhooks.iter().filter(|(_, name, _)| *name == ours).count(),
        1,
        "{webhooks:?}"
    );
    assert_eq!(webhooks.len(), 13);
    let triggers = f.sandbox.triggers();
    let prefix = format!("Deskmate ({}):", f.id);
    let deskmate: Vec<_> = triggers
        .iter()
        .filter(|t| t["title"].as_str().unwrap().starts_with(&prefix))
        .collect();
    assert_eq!(deskmate.len(), 2, "{triggers:?}");
    assert_eq!(triggers.len(), 14);
    for trigger in deskmate {
        let body = trigger["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["field"] == "notification_webhook")
            .map(|a| a["value"][1].as_str().unwrap().to_owned())
            .unwrap();
        assert!(
            !body.contains("requester") && !body.contains("ticket.via"),
            "only JSON-safe placeholders: {body}"
        );
    }
}

/// A Conversations API that lists an app's integrations as the spec describes (cursor
/// pagination: `page[size]`, default 25, `page[after]`; `meta.hasMore`, `meta.afterCursor`,
/// `links.next`), with pages of at most 10 so a short list already spans pages. Answers 401
/// to any other credentials; counts the pages it served.
async fn paginated_conversations_api(
    app_id: &str,
    key_id: &str,
    key_secret: &str,
    integrations: Vec<serde_json::Value>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::extract::Query;
    use axum::http::{HeaderMap, StatusCode};
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let expected = reqwest::Client::new()
        .get("http://127.0.0.1/")
        .basic_auth(key_id, Some(key_secret))
        .build()
        .unwrap()
        .headers()["authorization"]
        .clone();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let path = format!("/sc/v2/apps/{app_id}/integrations");
    let list_path = path.clone();
    let router = axum::Router::new().route(
        &path,
        axum::routing::get(
            move |headers: HeaderMap, Query(query): Query<HashMap<String, String>>| {
                let (expected, counter, integrations, list_path) = (
                    expected.clone(),
                    counter.clone(),
                    integrations.clone(),
                    list_path.clone(),
                );
                async move {
                    if headers.get("authorization") != Some(&expected) {
                        let body = serde_json::json!({"errors": [{"code": "unauthorized", "title": "Unauthorized"}]});
                        return (StatusCode::UNAUTHORIZED, axum::Json(body));
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let types: Vec<&str> = query
                        .get("filter[types]")
                        .map(|t| t.split(',').collect())
                        .unwrap_or_default();
                    let listed: Vec<&serde_json::Value> = integrations
                        .iter()
                        .filter(|i| types.is_empty() || types.contains(&i["type"].as_str().unwrap()))
                        .collect();
                    let size = query
                        .get("page[size]")
                        .and_then(|s| s.parse::<usize>().ok())
                        .unwrap_or(25)
                        .min(10);
                    let start = query.get("page[after]").map_or(0, |after| {
                        listed.iter().position(|i| i["id"] == after.as_str()).map_or(listed.len(), |p| p + 1)
                    });
                    let end = (start + size).min(listed.len());
                    let has_more = end < listed.len();
                    let mut body = serde_json::json!({
                        "integrations": listed[start..end],
                        "meta": {"hasMore": has_more},
                        "links": {},
                    });
                    if has_more {
                        let cursor = listed[end - 1]["id"].as_str().unwrap().to_owned();
                        body["links"]["next"] = serde_json::json!(format!(
                            "https://acme.zendesk.com{list_path}?page[after]={cursor}"
                        ));
                        body["meta"]["afterCursor"] = serde_json::json!(cursor);
                    }
                    (StatusCode::OK, axum::Json(body))
                }
            },
        ),
    );
    let url = deskmate_cli::server::serve(router, "127.0.0.1:0")
        .await
        .unwrap();
    (url, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_connect_finds_an_integration_past_the_first_page() {
    let f = fixture().await;
    let (app_id, key_id, key_secret) = ("5d8cff3cd55b040010928b5b", "app_5e4af71a81966", "s3cret");
    // 30 custom integrations (three web widgets between them); Deskmate's is the 29th.
    let integrations: Vec<serde_json::Value> = (0..33)
        .map(|i| {
            let kind = if i % 10 == 5 { "web" } else { "custom" };
            serde_json::json!({"id": format!("{i:024x}"), "type": kind, "status": "active", "displayName": format!("Integration {i}")})
        })
        .collect();
    let ours = format!("{:024x}", 31);
    assert_eq!(integrations[31]["type"], "custom");
    let (url, served) = paginated_conversations_api(app_id, key_id, key_secret, integrations).await;
    let connect = |integration: &str| {
        f.deskmate(
            &[
                "conversations",
                "connect",
                "--account",
                &f.account,
                "--app-id",
                app_id,
                "--key-id",
                key_id,
                "--integration-id",
                integration,
                "--json",
            ],
            &[
                ("DESKMATE_ZENDESK_URL", url.as_str()),
                ("DESKMATE_CONVERSATIONS_KEY_SECRET", key_secret),
                ("DESKMATE_CONVERSATIONS_SHARED_SECRET", "shared"),
            ],
        )
    };
    let output = connect(&ours);
    assert!(output.status.success(), "{}", stderr(&output));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["integration_id"], ours.as_str());
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "30 custom integrations, 10 a page"
    );

    let missing = connect(&format!("{:024x}", 99));
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("is not a Conversations integration of app"),
        "{}",
        stderr(&missing)
    );
}

fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_connect_refuses_a_store_that_exists_and_points_at_store_update() {
    let f = fixture().await;
    let first = f.connect("acme", "bot@acme.test", &f.token, f.sandbox.base_url(), &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let other_token = f.sandbox.add_api_token();
    let again = f.connect(
        "acme",
        "bot@acme.test",
        &other_token,
        f.sandbox.base_url(),
        &[],
    );
    assert_eq!(again.status.code(), Some(1));
    let message = stderr(&again);
    assert!(
        message.contains(&format!("store {} already exists", f.id))
            && message.contains(&format!("deskmate store update --store {}", f.id)),
        "{message}"
    );
    let secret = format!("deskmate/{}/zendesk-api-token", f.id);
    assert_eq!(
        f.secret(&secret).await.as_deref(),
        Some(f.token.as_str()),
        "the stored token is left as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_update_changes_only_what_is_given() {
    let f = fixture().await;
    let brand = f.sandbox.add_brand("Shoes");
    let brand_text = brand.to_string();
    let widget = f.sandbox.add_web_widget(brand, "Shoes widget");
    let keys = f.sandbox.enable_messaging();
    let (integration, shared_secret) = f.sandbox.add_conversations_integration(
        "Deskmate",
        &format!("{API_URL}/webhooks/conversations/{}", f.account),
        &["conversation:message"],
    );
    let dir = std::env::temp_dir().join(format!("{}-update", f.id));
    std::fs::create_dir_all(&dir).unwrap();
    let knowledge = dir.join("shoes.md");
    std::fs::write(&knowledge, "# Returns\nShoes go back within 30 days.\n").unwrap();
    let connect = f.connect(
        &f.account,
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &[
            "--brand-id",
            &brand_text,
            "--knowledge",
            knowledge.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(connect.status.success(), "{}", stderr(&connect));
    let card = stdout_json(&connect);
    let setup = f.deskmate(&["zendesk", "setup", "--store", &f.id, "--json"], &[]);
    assert!(setup.status.success(), "{}", stderr(&setup));
    let bearer = stdout_json(&setup)["webhook_bearer_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let conversations = f.deskmate(
        &[
            "conversations",
            "connect",
            "--account",
            &f.account,
            "--app-id",
            &keys.app_id,
            "--key-id",
            &keys.key_id,
            "--integration-id",
            &integration,
        ],
        &[
            (
                "DESKMATE_CONVERSATIONS_KEY_SECRET",
                keys.key_secret.as_str(),
            ),
            (
                "DESKMATE_CONVERSATIONS_SHARED_SECRET",
                shared_secret.as_str(),
            ),
        ],
    );
    assert!(conversations.status.success(), "{}", stderr(&conversations));
    let map = f.deskmate(
        &["widgets", "map", "--store", &f.id, "--widget", &widget],
        &[],
    );
    assert!(map.status.success(), "{}", stderr(&map));
    let before = f.store(&f.id).await.unwrap();
    let token_secret = before.zendesk_token_secret.clone();

    let update = f.deskmate(
        &[
            "store",
            "update",
            "--store",
            &f.id,
            "--instructions",
            "Answer as Acme Shoes; never promise refunds.",
            "--welcome-message",
            "Hi from Acme Shoes!",
            "--handoff-message",
            "A shoe expert will take it from here.",
            "--escalation-group-id",
            "360000123",
            "--display-name",
            "Shoe Helper",
            "--json",
        ],
        &[],
    );
    assert!(update.status.success(), "{}", stderr(&update));
    let answer = stdout_json(&update);
    assert_eq!(
        answer["changed"],
        serde_json::json!([
            "instructions",
            "welcome_message",
            "handoff_message",
            "escalation_group_id",
            "display_name"
        ])
    );
    let after = f.store(&f.id).await.unwrap();
    assert_eq!(
        after.instructions,
        "Answer as Acme Shoes; never promise refunds."
    );
    assert_eq!(after.welcome_message, "Hi from Acme Shoes!");
    assert_eq!(
        after.handoff_message,
        "A shoe expert will take it from here."
    );
    assert_eq!(after.escalation_group_id, Some(360000123));
    assert_eq!(after.display_name, "Shoe Helper");
    // Everything else is as it was.
    assert_eq!(after.name, before.name);
    assert_eq!(after.subdomain, before.subdomain);
    assert_eq!(after.bot_email, before.bot_email);
    assert_eq!(after.bot_user_id, before.bot_user_id);
    assert_eq!(after.brand_id, Some(brand));
    assert_eq!(
        after.widget_integration_id.as_deref(),
        Some(widget.as_str())
    );
    assert_eq!(after.zendesk_token_secret, token_secret);
    match &after.agent {
        deskmate_shared::domain::AgentSettings::Knowledge { knowledge_markdown } => {
            assert!(knowledge_markdown.contains("within 30 days"))
        }
        other => panic!("the agent changed: {other:?}"),
    }
    assert_eq!(
        after
            .webhook_signing_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        before
            .webhook_signing_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        "the signing secret is kept"
    );
    assert!(
        after.webhook_token_hash.matches(&bearer),
        "the bearer token still works"
    );
    assert!(
        after
            .tool_token_hash
            .as_ref()
            .unwrap()
            .matches(card["tool_token"].as_str().unwrap()),
        "the tool token still works"
    );
    assert_eq!(
        f.secret(&token_secret).await.as_deref(),
        Some(f.token.as_str())
    );

    // A knowledge file too large for the store's item is refused before anything is written.
    let big = dir.join("big.md");
    std::fs::write(
        &big,
        format!("# Returns\n{}\n", "Shoes go back. ".repeat(30_000)),
    )
    .unwrap();
    let refused = f.deskmate(
        &[
            "store",
            "update",
            "--store",
            &f.id,
            "--knowledge",
            big.to_str().unwrap(),
            "--display-name",
            "Other",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("may be at most 350 KB")
            && stderr(&refused).contains("Nothing was changed"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(f.store(&f.id).await.unwrap().display_name, "Shoe Helper");

    // A new knowledge file replaces the old one, and only it.
    let newer = dir.join("newer.md");
    std::fs::write(&newer, "# Returns\nShoes go back within 60 days.\n").unwrap();
    let update = f.deskmate(
        &[
            "store",
            "update",
            "--store",
            &f.id,
            "--knowledge",
            newer.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert!(update.status.success(), "{}", stderr(&update));
    assert_eq!(
        stdout_json(&update)["changed"],
        serde_json::json!(["knowledge"])
    );
    let after = f.store(&f.id).await.unwrap();
    assert!(
        matches!(&after.agent, deskmate_shared::domain::AgentSettings::Knowledge { knowledge_markdown } if knowledge_markdown.contains("60 days"))
    );
    assert_eq!(after.display_name, "Shoe Helper");

    // The OpenAI backend: the key is read from the environment and kept in Secrets Manager;
    // without it, the command fails at once and names the variable.
    let openai = [
        "store",
        "update",
        "--store",
        &f.id,
        "--agent",
        "openai",
        "--openai-base-url",
        "https://llm.acme.test/v1",
        "--openai-model",
        "small-1",
    ];
    let started = std::time::Instant::now();
    let no_key = f.deskmate(&openai, &[]);
    assert_eq!(no_key.status.code(), Some(1));
    assert!(
        stderr(&no_key).contains("DESKMATE_OPENAI_API_KEY"),
        "{}",
        stderr(&no_key)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "no waiting for input"
    );
    let key_secret = format!("deskmate/{}/openai-api-key", f.id);
    assert_eq!(f.secret(&key_secret).await, None, "nothing was written");
    let switched = f.deskmate(&openai, &[("DESKMATE_OPENAI_API_KEY", "sk-test-1")]);
    assert!(switched.status.success(), "{}", stderr(&switched));
    assert_eq!(f.secret(&key_secret).await.as_deref(), Some("sk-test-1"));
    let model_only = f.deskmate(
        &[
            "store",
            "update",
            "--store",
            &f.id,
            "--openai-model",
            "small-2",
        ],
        &[],
    );
    assert!(model_only.status.success(), "{}", stderr(&model_only));
    match f.store(&f.id).await.unwrap().agent {
        deskmate_shared::domain::AgentSettings::Openai {
            base_url,
            model,
            api_key_secret,
        } => {
            assert_eq!(base_url, "https://llm.acme.test/v1");
            assert_eq!(model, "small-2");
            assert_eq!(api_key_secret, key_secret);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f.secret(&key_secret).await.as_deref(),
        Some("sk-test-1"),
        "the key is kept"
    );
    let stray = f.deskmate(
        &[
            "store",
            "update",
            "--store",
            &f.id,
            "--knowledge",
            newer.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        stderr(&stray).contains("add --agent knowledge to switch"),
        "{}",
        stderr(&stray)
    );

    // A new Zendesk token is tested first: a wrong one is refused and the old one kept.
    let wrong = f.deskmate(
        &["store", "update", "--store", &f.id, "--zendesk-token"],
        &[("DESKMATE_ZENDESK_API_TOKEN", "not-a-token")],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("Zendesk refused the credentials (401)"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(
        f.secret(&token_secret).await.as_deref(),
        Some(f.token.as_str())
    );
    let new_token = f.sandbox.add_api_token();
    let rotated = f.deskmate(
        &["store", "update", "--store", &f.id, "--zendesk-token"],
        &[("DESKMATE_ZENDESK_API_TOKEN", &new_token)],
    );
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert_eq!(
        f.secret(&token_secret).await.as_deref(),
        Some(new_token.as_str())
    );
    let after = f.store(&f.id).await.unwrap();
    assert!(after.webhook_token_hash.matches(&bearer));
    assert_eq!(
        after.widget_integration_id.as_deref(),
        Some(widget.as_str())
    );
    assert_eq!(after.brand_id, Some(brand));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_knowledge_file_too_large_is_refused_before_any_secret_is_written() {
    let f = fixture().await;
    let big = std::env::temp_dir().join(format!("{}-big.md", f.id));
    std::fs::write(&big, "x".repeat(400 * 1024)).unwrap();
    let output = f.connect(
        "acme",
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &["--knowledge", big.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is 400 KB; a store's knowledge file may be at most 350 KB"),
        "{}",
        stderr(&output)
    );
    let secret = format!("deskmate/{}/zendesk-api-token", f.id);
    assert_eq!(f.secret(&secret).await, None, "no orphan secret");
    assert!(f.store(&f.id).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_setup_refuses_a_placeholder_or_missing_api_url() {
    let f = fixture().await;
    let connect = f.connect("acme", "bot@acme.test", &f.token, f.sandbox.base_url(), &[]);
    assert!(connect.status.success(), "{}", stderr(&connect));
    let setup = ["zendesk", "setup", "--store", f.id.as_str()];
    let missing = f.deskmate_without(&setup, &[], &["DESKMATE_API_URL"]);
    let mut refused = vec![missing];
    for url in [
        "https://YOUR-API-ID.execute-api.REGION.amazonaws.com",
        "https://api.example.com",
        "http://abc123def4.execute-api.us-east-1.amazonaws.com",
    ] {
        refused.push(f.deskmate(&setup, &[("DESKMATE_API_URL", url)]));
        refused.push(f.deskmate(
            &[&setup[..], &["--print"]].concat(),
            &[("DESKMATE_API_URL", url)],
        ));
    }
    for output in refused {
        assert_eq!(output.status.code(), Some(1));
        let message = stderr(&output);
        assert!(
            message.contains("pass --stack-name NAME") && message.contains("DESKMATE_API_URL"),
            "{message}"
        );
    }
    assert!(
        f.sandbox.webhooks().is_empty(),
        "nothing was created in Zendesk"
    );
    assert!(f.sandbox.triggers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_name_reads_the_table_and_api_url_from_the_stack_outputs() {
    let f = fixture().await;
    let sdk = sdk().await;
    let cloudformation = aws_sdk_cloudformation::Client::new(&sdk);
    let stack_name = format!("deskmate-{}", f.id);
    let api = "https://q1w2e3r4t5.execute-api.us-east-1.amazonaws.com";
    let template = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            "StateTableName": {"Value": f.table},
            "ApiUrl": {"Value": api},
        },
    });
    cloudformation
        .create_stack()
        .stack_name(&stack_name)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    // No DESKMATE_TABLE nor DESKMATE_API_URL: the stack says both.
    let unset = ["DESKMATE_TABLE", "DESKMATE_API_URL"];
    let with_stack = |args: &[&str], env: &[(&str, &str)], remove: &[&str]| {
        let args = [args, &["--stack-name", stack_name.as_str()]].concat();
        let remove = [&unset[..], remove].concat();
        f.deskmate_without(&args, env, &remove)
    };
    let connect = with_stack(
        &[
            "store",
            "connect",
            "--name",
            "Acme Shoes",
            "--id",
            &f.id,
            "--subdomain",
            "acme",
            "--bot-email",
            "bot@acme.test",
            "--json",
        ],
        &[],
        &[],
    );
    assert!(connect.status.success(), "{}", stderr(&connect));
    assert_eq!(
        stdout_json(&connect)["webhook_url"],
        format!("{api}/webhooks/zendesk/{}", f.id)
    );
    let setup = with_stack(&["zendesk", "setup", "--store", &f.id, "--json"], &[], &[]);
    assert!(setup.status.success(), "{}", stderr(&setup));
    assert_eq!(
        f.sandbox.webhooks()[0].2,
        format!("{api}/webhooks/zendesk/{}", f.id)
    );
    let list = with_stack(&["store", "list", "--json"], &[], &[]);
    assert!(list.status.success(), "{}", stderr(&list));
    assert_eq!(stdout_json(&list)["stores"][0]["store_id"], f.id.as_str());

    // --region in place of AWS_REGION; without either, a plain message.
    let config = [
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
    ];
    let regioned = with_stack(
        &["store", "list", "--region", "us-east-1"],
        &config,
        &["AWS_REGION", "AWS_DEFAULT_REGION"],
    );
    assert!(regioned.status.success(), "{}", stderr(&regioned));
    let no_region = with_stack(
        &["store", "list"],
        &config,
        &["AWS_REGION", "AWS_DEFAULT_REGION"],
    );
    assert_eq!(no_region.status.code(), Some(1));
    assert_eq!(
        stderr(&no_region).trim(),
        "deskmate: no AWS region: pass --region (e.g. --region eu-west-1) or set AWS_REGION"
    );
    let no_credentials = with_stack(
        &["store", "list"],
        &[config[0], config[1], ("AWS_EC2_METADATA_DISABLED", "true")],
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ],
    );
    assert_eq!(no_credentials.status.code(), Some(1));
    assert!(
        stderr(&no_credentials).starts_with("deskmate: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile"),
        "{}",
        stderr(&no_credentials)
    );
    let no_profile = with_stack(
        &["store", "list", "--profile", "nobody"],
        &[config[0], config[1], ("AWS_EC2_METADATA_DISABLED", "true")],
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ],
    );
    assert!(
        stderr(&no_profile).contains("no credentials: profile nobody"),
        "{}",
        stderr(&no_profile)
    );

    // A stack that is not there, a table that is not the stack's, a table that is not there.
    let unknown = f.deskmate_without(
        &["store", "list", "--stack-name", "no-such-stack"],
        &[],
        &unset,
    );
    assert!(
        stderr(&unknown).contains("no CloudFormation stack no-such-stack in region us-east-1"),
        "{}",
        stderr(&unknown)
    );
    let mismatch = with_stack(&["store", "list", "--table", "another-table"], &[], &[]);
    assert!(
        stderr(&mismatch).contains("is not stack"),
        "{}",
        stderr(&mismatch)
    );
    let no_table = f.deskmate(&["store", "list"], &[("DESKMATE_TABLE", "no-such-table")]);
    assert_eq!(
        stderr(&no_table).trim(),
        "deskmate: no table no-such-table in region us-east-1: pass --stack-name NAME (or --table with its StateTableName output) and the stack's --region"
    );
    let nothing = f.deskmate_without(&["store", "list"], &[], &unset);
    assert!(
        stderr(&nothing).contains("no table: pass --stack-name NAME"),
        "{}",
        stderr(&nothing)
    );
    cloudformation
        .delete_stack()
        .stack_name(&stack_name)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_asked_for_at_a_terminal_and_never_waited_for_silently() {
    let f = fixture().await;
    let connect = f.connect("acme", "bot@acme.test", &f.token, f.sandbox.base_url(), &[]);
    assert!(connect.status.success(), "{}", stderr(&connect));
    let update = [
        "store",
        "update",
        "--store",
        f.id.as_str(),
        "--zendesk-token",
    ];
    let new_token = f.sandbox.add_api_token();
    let secret = format!("deskmate/{}/zendesk-api-token", f.id);

    // No terminal and nothing given: at once, naming the variable.
    let started = std::time::Instant::now();
    let closed = f.deskmate_without(&update, &[], &["DESKMATE_ZENDESK_API_TOKEN"]);
    assert_eq!(closed.status.code(), Some(1));
    assert!(
        stderr(&closed).contains("set DESKMATE_ZENDESK_API_TOKEN"),
        "{}",
        stderr(&closed)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // A pipe that stays silent: the CLI says what it waits for.
    let mut command = f.command(&update, &[]);
    command
        .env_remove("DESKMATE_ZENDESK_API_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    drop(child.stdin.take());
    let waited = child.wait_with_output().unwrap();
    assert!(
        stderr(&waited).contains("waiting for the Zendesk API token on standard input (close it with Ctrl-D, or set DESKMATE_ZENDESK_API_TOKEN instead)"),
        "{}",
        stderr(&waited)
    );

    // Piped: read.
    let mut command = f.command(&update, &[]);
    command
        .env_remove("DESKMATE_ZENDESK_API_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{new_token}").unwrap();
    }
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_eq!(f.secret(&secret).await.as_deref(), Some(new_token.as_str()));

    // At a terminal: asked for, without echo. `script` gives the command a terminal.
    // util-linux's `script` is on every Debian machine; without it this check must fail, not
    // pass untested.
    Command::new("script")
        .arg("--version")
        .output()
        .expect("`script` (util-linux) gives the prompt a terminal");
    let typed = f.sandbox.add_api_token();
    let line = std::iter::once(env!("CARGO_BIN_EXE_deskmate"))
        .chain(update.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    // The fixture's environment, for `script` to hand on to the command.
    let mut command = Command::new("script");
    command.args(["-qec", &line, "/dev/null"]);
    for (name, value) in f.command(&[], &[]).get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command.env_remove("DESKMATE_ZENDESK_API_TOKEN");
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // What the terminal shows, as it comes; the token is typed once the prompt is there
    // (typed earlier, a terminal would still echo it).
    let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let shown = shown.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buffer = [0u8; 256];
            while let Ok(read @ 1..) = stdout.read(&mut buffer) {
                shown.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
        })
    };
    let prompt = "Enter the Zendesk API token (input hidden; or set DESKMATE_ZENDESK_API_TOKEN):";
    let asked = std::time::Instant::now();
    while !String::from_utf8_lossy(&shown.lock().unwrap()).contains(prompt) {
        assert!(
            asked.elapsed() < std::time::Duration::from_secs(30),
            "no prompt: {}",
            String::from_utf8_lossy(&shown.lock().unwrap())
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    {
        use std::io::Write;
        writeln!(stdin, "{typed}").unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    assert!(status.success());
    let prompted = Output {
        status,
        stdout: shown.lock().unwrap().clone(),
        stderr: Vec::new(),
    };
    let screen = String::from_utf8_lossy(&prompted.stdout).into_owned();
    assert!(screen.contains(prompt), "{screen}");
    assert!(
        !screen.contains(&typed),
        "the token is not echoed: {screen}"
    );
    assert_eq!(f.secret(&secret).await.as_deref(), Some(typed.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widgets_map_refuses_a_widget_the_account_does_not_have_and_lists_its_widgets() {
    let f = fixture().await;
    let keys = f.sandbox.enable_messaging();
    let (integration, shared_secret) = f.sandbox.add_conversations_integration(
        "Deskmate",
        &format!("{API_URL}/webhooks/conversations/{}", f.account),
        &["conversation:message"],
    );
    let brand = f.sandbox.add_brand("Shoes");
    let shoes = f.sandbox.add_web_widget(brand, "Shoes widget");
    let connect = f.connect(
        &f.account,
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &[],
    );
    assert!(connect.status.success(), "{}", stderr(&connect));
    // Without the account's Conversations settings there is no list to check against.
    let conversations = f.deskmate(
        &[
            "conversations",
            "connect",
            "--account",
            &f.account,
            "--app-id",
            &keys.app_id,
            "--key-id",
            &keys.key_id,
            "--integration-id",
            &integration,
        ],
        &[
            (
                "DESKMATE_CONVERSATIONS_KEY_SECRET",
                keys.key_secret.as_str(),
            ),
            (
                "DESKMATE_CONVERSATIONS_SHARED_SECRET",
                shared_secret.as_str(),
            ),
        ],
    );
    assert!(conversations.status.success(), "{}", stderr(&conversations));
    let typo = f.deskmate(
        &[
            "widgets",
            "map",
            "--store",
            &f.id,
            "--widget",
            "5ecff63ffc3ab25f4561c8a0",
        ],
        &[],
    );
    assert_eq!(typo.status.code(), Some(1));
    let message = stderr(&typo);
    assert!(
        message.contains(&format!(
            "5ecff63ffc3ab25f4561c8a0 is not a Web Widget of {}.zendesk.com",
            f.account
        )) && message.contains(&format!("its widgets are: {shoes} (Shoes widget)")),
        "{message}"
    );
    assert_eq!(f.store(&f.id).await.unwrap().widget_integration_id, None);
    let ok = f.deskmate(
        &["widgets", "map", "--store", &f.id, "--widget", &shoes],
        &[],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
}

/// What the test Zendesk in front of the sandbox has been told or asked.
#[derive(Default)]
struct ProxyState {
    /// Webhook and trigger ids deleted through the proxy (hidden from lists from then on).
    deleted: std::collections::HashSet<String>,
    /// Trigger ids shown as deactivated.
    inactive: std::collections::HashSet<String>,
    /// The bearer token the sandbox's webhook holds (the sandbox never shows it).
    bearer: Option<String>,
    /// Every DELETE, in order.
    deletions: Vec<String>,
}

/// The sandbox with what it lacks for these tests, as Zendesk has it: deleting webhooks and
/// triggers, deactivated triggers, and the webhook test (`POST /api/v2/webhooks/test`), which
/// sends one request through an existing webhook with its bearer token and signature.
/// Everything else goes to the sandbox as it is.
struct ZendeskProxy {
    url: String,
    state: std::sync::Arc<std::sync::Mutex<ProxyState>>,
}

impl ZendeskProxy {
    fn with<T>(&self, change: impl FnOnce(&mut ProxyState) -> T) -> T {
        change(&mut self.state.lock().unwrap())
    }
}

async fn zendesk_proxy(sandbox: &str) -> ZendeskProxy {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    let state = std::sync::Arc::new(std::sync::Mutex::new(ProxyState::default()));
    let upstream = sandbox.trim_end_matches('/').to_owned();
    let shared = state.clone();
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let (state, upstream) = (shared.clone(), upstream.clone());
        async move {
            let http = reqwest::Client::new();
            let path = uri.path().to_owned();
            let path_and_query = uri
                .path_and_query()
                .map_or(path.clone(), |p| p.as_str().to_owned());
            let auth = headers.get("authorization").cloned();
            let get = |path: String| {
                let mut request = http.get(format!("{upstream}{path}"));
                if let Some(auth) = &auth {
                    request = request.header("authorization", auth.clone());
                }
                request.send()
            };
            let json = |status: StatusCode, body: String| {
                (status, [("content-type", "application/json")], body)
            };
            if method == Method::DELETE
                && let Some(id) = path
                    .strip_prefix("/api/v2/webhooks/")
                    .or_else(|| path.strip_prefix("/api/v2/triggers/"))
            {
                let me = get("/api/v2/users/me".into()).await.unwrap();
                if !me.status().is_success() {
                    return json(me.status(), me.text().await.unwrap());
                }
                let mut state = state.lock().unwrap();
                state
                    .deleted
                    .insert(id.trim_end_matches(".json").to_owned());
                state.deletions.push(path.clone());
                return json(StatusCode::NO_CONTENT, String::new());
            }
            if method == Method::POST && path == "/api/v2/webhooks/test" {
                let id = uri
                    .query()
                    .and_then(|q| q.strip_prefix("webhook_id="))
                    .unwrap_or_default()
                    .to_owned();
                let secret = get(format!("/api/v2/webhooks/{id}/signing_secret"))
                    .await
                    .unwrap();
                if !secret.status().is_success() {
                    return json(secret.status(), secret.text().await.unwrap());
                }
                let secret: serde_json::Value = secret.json().await.unwrap();
                let secret = secrecy::SecretString::from(
                    secret["signing_secret"]["secret"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
                let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let payload = request["request"]["payload"].as_str().unwrap().to_owned();
                let timestamp = time::OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .unwrap()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap();
                let signature = deskmate_shared::auth::zendesk_signature(
                    &secret,
                    &timestamp,
                    payload.as_bytes(),
                );
                let bearer = state.lock().unwrap().bearer.clone();
                let mut delivery = http
                    .post(request["request"]["endpoint"].as_str().unwrap())
                    .header("content-type", "application/json")
                    .header("x-zendesk-webhook-signature-timestamp", timestamp)
                    .header("x-zendesk-webhook-signature", signature)
                    .body(payload);
                if let Some(bearer) = bearer {
                    delivery = delivery.bearer_auth(bearer);
                }
                let answer = delivery.send().await.unwrap();
                let status = answer.status().as_u16();
                let text = answer.text().await.unwrap();
                let body = serde_json::json!({"response": {"status": status, "headers": [], "body": text}});
                return json(StatusCode::OK, body.to_string());
            }
            let mut request = http.request(method.clone(), format!("{upstream}{path_and_query}"));
            if let Some(auth) = &auth {
                request = request.header("authorization", auth.clone());
            }
            if !body.is_empty() {
                request = request
                    .header("content-type", "application/json")
                    .body(body.to_vec());
            }
            let answer = request.send().await.unwrap();
            let status = answer.status();
            let text = answer.text().await.unwrap();
            let listed = ["/api/v2/webhooks", "/api/v2/triggers"]
                .iter()
                .find(|list| path == **list || path == format!("{list}.json"));
            let (Some(list), true) = (listed, method == Method::GET && status.is_success()) else {
                return json(status, text);
            };
            let key = list.trim_start_matches("/api/v2/");
            let mut page: serde_json::Value = serde_json::from_str(&text).unwrap();
            let state = state.lock().unwrap();
            let id =
                |record: &serde_json::Value| record["id"].to_string().trim_matches('"').to_owned();
            if let Some(records) = page[key].as_array_mut() {
                records.retain(|r| !state.deleted.contains(&id(r)));
                for record in records.iter_mut() {
                    if state.inactive.contains(&id(record)) {
                        record["active"] = serde_json::json!(false);
                    }
                }
            }
            json(status, page.to_string())
        }
    };
    let router = axum::Router::new().fallback(handler);
    let url = deskmate_cli::server::serve(router, "127.0.0.1:0")
        .await
        .unwrap();
    ZendeskProxy { url, state }
}

/// A store set up end to end on a local stack: email path (webhook, triggers), the
/// Conversations integration, the Shoes widget mapped and registered; a Bags widget nobody
/// answers. Zendesk is reached through a [`ZendeskProxy`].
struct Deployed {
    stack: LocalStack,
    proxy: ZendeskProxy,
    shoes_widget: String,
    queue_url: String,
    dead_letter_queue_url: String,
}

async fn deployed(f: &Fixture) -> Deployed {
    let stack = f.deployed_stack().await;
    let api = stack.url.clone();
    let keys = f.sandbox.enable_messaging();
    let (integration, shared_secret) = f.sandbox.add_conversations_integration(
        "Deskmate",
        &format!("{api}/webhooks/conversations/{}", f.account),
        &["conversation:message", "switchboard:passControl"],
    );
    let shoes = f.sandbox.add_brand("Shoes");
    let bags = f.sandbox.add_brand("Bags");
    let shoes_widget = f.sandbox.add_web_widget(shoes, "Shoes widget");
    f.sandbox.add_web_widget(bags, "Bags widget");
    let env = [("DESKMATE_API_URL", api.as_str())];
    let brand = shoes.to_string();
    let connect = f.connect(
        &f.account,
        "bot@acme.test",
        &f.token,
        f.sandbox.base_url(),
        &["--brand-id", &brand],
    );
    assert!(connect.status.success(), "{}", stderr(&connect));
    let setup = f.deskmate(&["zendesk", "setup", "--store", &f.id, "--json"], &env);
    assert!(setup.status.success(), "{}", stderr(&setup));
    let bearer = stdout_json(&setup)["webhook_bearer_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let conversations = f.deskmate(
        &[
            "conversations",
            "connect",
            "--account",
            &f.account,
            "--app-id",
            &keys.app_id,
            "--key-id",
            &keys.key_id,
            "--integration-id",
            &integration,
        ],
        &[
            env[0],
            (
                "DESKMATE_CONVERSATIONS_KEY_SECRET",
                keys.key_secret.as_str(),
            ),
            (
                "DESKMATE_CONVERSATIONS_SHARED_SECRET",
                shared_secret.as_str(),
            ),
        ],
    );
    assert!(conversations.status.success(), "{}", stderr(&conversations));
    let map = f.deskmate(
        &[
            "widgets",
            "map",
            "--store",
            &f.id,
            "--widget",
            &shoes_widget,
        ],
        &env,
    );
    assert!(map.status.success(), "{}", stderr(&map));
    let register = f.deskmate(&["switchboard", "register", "--account", &f.account], &env);
    assert!(register.status.success(), "{}", stderr(&register));
    let proxy = zendesk_proxy(f.sandbox.base_url()).await;
    proxy.with(|state| state.bearer = Some(bearer));
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let queue_url = sqs
        .get_queue_url()
        .queue_name(format!("{}-jobs", f.table))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dead_letter_queue_url = sqs
        .create_queue()
        .queue_name(format!("{}-dlq", f.table))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    Deployed {
        stack,
        proxy,
        shoes_widget,
        queue_url,
        dead_letter_queue_url,
    }
}

impl Deployed {
    fn doctor(&self, f: &Fixture, json: bool) -> Output {
        let mut args = vec![
            "doctor",
            "--store",
            f.id.as_str(),
            "--queue-url",
            self.queue_url.as_str(),
            "--dead-letter-queue-url",
            self.dead_letter_queue_url.as_str(),
        ];
        if json {
            args.push("--json");
        }
        f.deskmate(
            &args,
            &[
                ("DESKMATE_API_URL", self.stack.url.as_str()),
                ("DESKMATE_ZENDESK_URL", self.proxy.url.as_str()),
            ],
        )
    }

    /// The names of the checks doctor failed, and the report.
    fn failed(&self, f: &Fixture) -> (Vec<String>, serde_json::Value) {
        let output = self.doctor(f, true);
        let report = stdout_json(&output);
        let failed: Vec<String> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "failed")
            .map(|c| c["check"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(output.status.success(), failed.is_empty(), "{report:#}");
        (failed, report)
    }

    /// Runs `zendesk setup` again (as a doctor's fix says) and gives the proxy the new token.
    fn setup_again(&self, f: &Fixture) {
        let setup = f.deskmate(
            &["zendesk", "setup", "--store", &f.id, "--json"],
            &[("DESKMATE_API_URL", self.stack.url.as_str())],
        );
        assert!(setup.status.success(), "{}", stderr(&setup));
        let bearer = stdout_json(&setup)["webhook_bearer_token"]
            .as_str()
            .unwrap()
            .to_owned();
        self.proxy.with(|state| state.bearer = Some(bearer));
    }
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_healthy_store_from_the_stack_to_zendesk() {
    let f = fixture().await;
    let deployed = deployed(&f).await;
    let output = deployed.doctor(&f, false);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    for line in [
        format!("✓ table: {} in us-east-1 is reachable (ACTIVE)", f.table),
        format!("✓ API URL: {} answers", deployed.stack.url),
        format!(
            "✓ store: {} (Acme Shoes on {}.zendesk.com)",
            f.id, f.account
        ),
        format!(
            "✓ Zendesk token: works for {}.zendesk.com as Deskmate Bot",
            f.account
        ),
        "✓ bot user: Deskmate Bot is a full agent".to_owned(),
        format!("✓ webhook: \"Deskmate events ({})\"", f.id),
        "✓ signing secret:".to_owned(),
        "✓ bearer token: a test delivery through the webhook was accepted".to_owned(),
        format!(
            "✓ trigger: new ticket: \"Deskmate ({}): assign and notify on new ticket\"",
            f.id
        ),
        format!(
            "✓ trigger: customer reply: \"Deskmate ({}): notify on customer reply\"",
            f.id
        ),
        "✓ Conversations: the API key works".to_owned(),
        "✓ switchboard: Deskmate is on the switchboard with the Agent Workspace next".to_owned(),
        format!(
            "✓ widget: Shoes widget ({}) is mapped to this store and Deskmate is its default responder",
            deployed.shoes_widget
        ),
        "✓ job queue: 0 waiting".to_owned(),
        "✓ dead-letter queue: empty".to_owned(),
        "All checks passed.".to_owned(),
    ] {
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains('✗'), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_each_broken_piece_and_its_fix() {
    let f = fixture().await;
    let deployed = deployed(&f).await;
    let (failed, _) = deployed.failed(&f);
    assert!(failed.is_empty(), "{failed:?}");
    let setup_fix = format!("run `deskmate zendesk setup --store {}`", f.id);

    // The store's token rotated, Zendesk's webhook not updated.
    let rotate = f.deskmate(&["store", "rotate-token", "--store", &f.id], &[]);
    assert!(rotate.status.success(), "{}", stderr(&rotate));
    let (failed, report) = deployed.failed(&f);
    assert_eq!(failed, ["bearer token"], "{report:#}");
    assert_eq!(check(&report, "bearer token")["fix"], setup_fix.as_str());
    deployed.setup_again(&f);
    assert!(deployed.failed(&f).0.is_empty());

    // The webhook points elsewhere.
    let (webhook_id, _, _) = f.sandbox.webhooks().remove(0);
    let moved = reqwest::Client::new()
        .put(format!("{}/api/v2/webhooks/{webhook_id}", f.sandbox.base_url()))
        .basic_auth("bot@acme.test/token", Some(&f.token))
        .json(&serde_json::json!({"webhook": {"endpoint": "https://old-stack.execute-api.us-east-1.amazonaws.com/webhooks/zendesk/x"}}))
        .send()
        .await
        .unwrap();
    assert!(moved.status().is_success());
    let (failed, report) = deployed.failed(&f);
    assert!(failed.contains(&"webhook".to_owned()), "{report:#}");
    let webhook = check(&report, "webhook");
    assert!(
        webhook["detail"].as_str().unwrap().contains("it points at https://old-stack.execute-api.us-east-1.amazonaws.com/webhooks/zendesk/x, not this stack's"),
        "{webhook}"
    );
    assert_eq!(webhook["fix"], setup_fix.as_str());
    deployed.setup_again(&f);
    assert!(deployed.failed(&f).0.is_empty());

    // A trigger deactivated, then one deleted.
    let trigger_id = |title: &str| {
        f.sandbox
            .triggers()
            .iter()
            .find(|t| t["title"].as_str().unwrap().ends_with(title))
            .map(|t| t["id"].to_string())
            .unwrap()
    };
    let reply = trigger_id("notify on customer reply");
    deployed
        .proxy
        .with(|state| state.inactive.insert(reply.clone()));
    let (failed, report) = deployed.failed(&f);
    assert_eq!(failed, ["trigger: customer reply"], "{report:#}");
    let detail = check(&report, "trigger: customer reply")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.ends_with(&format!("(#{reply}) is deactivated")),
        "{detail}"
    );
    assert!(
        check(&report, "trigger: customer reply")["fix"]
            .as_str()
            .unwrap()
            .contains("activate it in Admin Center")
    );
    deployed.proxy.with(|state| state.inactive.clear());
    let created = trigger_id("assign and notify on new ticket");
    let deleted = reqwest::Client::new()
        .delete(format!("{}/api/v2/triggers/{created}", deployed.proxy.url))
        .basic_auth("bot@acme.test/token", Some(&f.token))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    let (failed, report) = deployed.failed(&f);
    assert_eq!(failed, ["trigger: new ticket"], "{report:#}");
    assert_eq!(
        check(&report, "trigger: new ticket")["detail"],
        format!(
            "Zendesk has no trigger \"Deskmate ({}): assign and notify on new ticket\"",
            f.id
        )
    );
    assert_eq!(
        check(&report, "trigger: new ticket")["fix"],
        setup_fix.as_str()
    );
    deployed.proxy.with(|state| state.deleted.clear());

    // The widget unmapped: the store now answers the Bags widget too, which does not come to
    // Deskmate.
    let unmap = f.deskmate(&["widgets", "unmap", "--store", &f.id], &[]);
    assert!(unmap.status.success(), "{}", stderr(&unmap));
    let (failed, report) = deployed.failed(&f);
    assert_eq!(failed, ["widget mapping"], "{report:#}");
    let mapping = check(&report, "widget mapping");
    assert!(
        mapping["detail"].as_str().unwrap().contains("Bags widget"),
        "{mapping}"
    );
    assert!(
        mapping["fix"]
            .as_str()
            .unwrap()
            .contains("deskmate widgets map --store"),
        "{mapping}"
    );
    let map = f.deskmate(
        &[
            "widgets",
            "map",
            "--store",
            &f.id,
            "--widget",
            &deployed.shoes_widget,
        ],
        &[],
    );
    assert!(map.status.success(), "{}", stderr(&map));
    assert!(deployed.failed(&f).0.is_empty());

    // A job that failed on every attempt.
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    sqs.send_message()
        .queue_url(&deployed.dead_letter_queue_url)
        .message_body("{}")
        .send()
        .await
        .unwrap();
    let (failed, report) = deployed.failed(&f);
    assert_eq!(failed, ["dead-letter queue"], "{report:#}");
    sqs.purge_queue()
        .queue_url(&deployed.dead_letter_queue_url)
        .send()
        .await
        .unwrap();

    // Every token revoked in Zendesk: the Zendesk token and the Conversations key.
    f.sandbox.revoke_credentials();
    let output = deployed.doctor(&f, false);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        text.contains(&format!("✗ Zendesk token: {}.zendesk.com refused the store's API token (401)", f.account))
            && text.contains(&format!("    fix: create an API token for the bot in Admin Center → Apps and integrations → APIs → API tokens, then `deskmate store update --store {} --zendesk-token`", f.id))
            && text.contains("– webhook and triggers: need a working Zendesk API token")
            && text.contains("✗ Conversations:")
            && text.contains("– switchboard and widget: need working Conversations credentials"),
        "{text}"
    );
    assert!(
        stderr(&output).contains("2 checks failed"),
        "{}",
        stderr(&output)
    );
    // The fix, as the doctor says.
    let token = f.sandbox.add_api_token();
    let update = f.deskmate(
        &["store", "update", "--store", &f.id, "--zendesk-token"],
        &[("DESKMATE_ZENDESK_API_TOKEN", token.as_str())],
    );
    assert!(update.status.success(), "{}", stderr(&update));
    let (failed, _) = deployed.failed(&f);
    assert_eq!(failed, ["Conversations"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_keeps_secrets_recoverable_and_can_remove_the_webhook_and_triggers() {
    let f = fixture().await;
    let connect = f.connect("acme", "bot@acme.test", &f.token, f.sandbox.base_url(), &[]);
    assert!(connect.status.success(), "{}", stderr(&connect));
    let setup = f.deskmate(&["zendesk", "setup", "--store", &f.id], &[]);
    assert!(setup.status.success(), "{}", stderr(&setup));
    // Someone else's webhook and trigger stay.
    let http = reqwest::Client::new();
    for (path, body) in [
        (
            "/api/v2/webhooks",
            serde_json::json!({"webhook": {"name": "Slack relay", "endpoint": "https://hooks.acme.test/relay", "http_method": "POST", "request_format": "json", "status": "active", "subscriptions": ["conditional_ticket_events"]}}),
        ),
        (
            "/api/v2/triggers",
            serde_json::json!({"trigger": {"title": "Route VIPs", "conditions": {"all": [], "any": []}, "actions": []}}),
        ),
    ] {
        let created = http
            .post(format!("{}{path}", f.sandbox.base_url()))
            .basic_auth("bot@acme.test/token", Some(&f.token))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 201);
    }
    let proxy = zendesk_proxy(f.sandbox.base_url()).await;
    let ours: Vec<String> = f
        .sandbox
        .triggers()
        .iter()
        .filter(|t| {
            t["title"]
                .as_str()
                .unwrap()
                .starts_with(&format!("Deskmate ({}):", f.id))
        })
        .map(|t| format!("/api/v2/triggers/{}", t["id"]))
        .collect();
    let webhook = f
        .sandbox
        .webhooks()
        .into_iter()
        .find(|(_, name, _)| *name == format!("Deskmate events ({})", f.id))
        .unwrap()
        .0;

    // With a revoked token nothing can be removed in Zendesk, so nothing is removed at all.
    let secret = format!("deskmate/{}/zendesk-api-token", f.id);
    f.secrets
        .put_secret_value()
        .secret_id(&secret)
        .secret_string("revoked-token")
        .send()
        .await
        .unwrap();
    let refused = f.deskmate(
        &["store", "disconnect", "--store", &f.id, "--remove-zendesk"],
        &[("DESKMATE_ZENDESK_URL", proxy.url.as_str())],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("Zendesk refused the store's API token (401)")
            && stderr(&refused).contains("nothing was removed; the store is still connected"),
        "{}",
        stderr(&refused)
    );
    assert!(f.store(&f.id).await.is_some());
    f.secrets
        .put_secret_value()
        .secret_id(&secret)
        .secret_string(&f.token)
        .send()
        .await
        .unwrap();

    let output = f.deskmate(
        &[
            "store",
            "disconnect",
            "--store",
            &f.id,
            "--remove-zendesk",
            "--json",
        ],
        &[("DESKMATE_ZENDESK_URL", proxy.url.as_str())],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let answer = stdout_json(&output);
    let deletions = proxy.with(|state| state.deletions.clone());
    let mut expected = ours.clone();
    expected.push(format!("/api/v2/webhooks/{webhook}"));
    assert_eq!(
        deletions, expected,
        "the store's triggers, then its webhook; nothing else"
    );
    assert_eq!(
        answer["removed_in_zendesk"].as_array().unwrap().len(),
        3,
        "{answer:#}"
    );
    assert!(
        !answer["remove_in_zendesk"]
            .to_string()
            .contains("Deskmate events"),
        "{answer:#}"
    );
    assert_eq!(answer["secrets_recoverable_for_days"], 7);

    // The secret is scheduled for deletion in 7 days, not gone.
    let described = f
        .secrets
        .describe_secret()
        .secret_id(&secret)
        .send()
        .await
        .unwrap();
    assert!(described.deleted_date().is_some(), "scheduled for deletion");
    assert_eq!(f.secret(&secret).await, None, "unreadable meanwhile");
    assert!(f.store(&f.id).await.is_none());

    // Connecting the store again restores the secret and writes the new token into it.
    let token = f.sandbox.add_api_token();
    let again = f.connect("acme", "bot@acme.test", &token, f.sandbox.base_url(), &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(f.secret(&secret).await.as_deref(), Some(token.as_str()));
}
