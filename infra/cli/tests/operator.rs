//! The operator commands run as an operator would: the real binary, moto for the stack's
//! table and Secrets Manager, the sandbox for Zendesk.

use std::process::{Command, Output, Stdio};

use deskmate_cli::local::{LocalStack, Services};
use deskmate_shared::domain::StoreId;
use deskmate_shared::secrets::{SecretStore, SecretsManagerStore};
use deskmate_shared::state::{DynamoState, StoreDirectory};
use secrecy::ExposeSecret;
use zendesk_sandbox::{Role, Sandbox};

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
        let mut command = Command::new(env!("CARGO_BIN_EXE_deskmate"));
        command
            .args(args)
            .env("DESKMATE_TABLE", &self.table)
            .env("DESKMATE_AWS_ENDPOINT", moto())
            .env("DESKMATE_ZENDESK_URL", self.sandbox.base_url())
            .env("DESKMATE_API_URL", "https://api.example.test")
            .env("DESKMATE_ZENDESK_API_TOKEN", &self.token)
            .stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().expect("the deskmate binary runs")
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
        format!("https://api.example.test/webhooks/zendesk/{}", f.id)
    );
    assert_eq!(card["tool_url"], "https://api.example.test/tools/escalate");

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
        format!("https://api.example.test/webhooks/zendesk/{}", f.id)
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
