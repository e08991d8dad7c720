//! The operator commands run as an operator would: the real binary, moto for the stack's
//! table and Secrets Manager, the sandbox for Zendesk.

use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use deskmate_shared::domain::StoreId;
use deskmate_shared::queue::SqsQueue;
use deskmate_shared::secrets::{SecretStore, SecretsManagerStore};
use deskmate_shared::state::{DynamoState, StoreDirectory};
use deskmate_shared::zendesk::ZendeskConnector;
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
    fn connect(
        &self,
        subdomain: &str,
        email: &str,
        token: &str,
        zendesk: &str,
        extra: &[&str],
    ) -> Output {
        Command::new(env!("CARGO_BIN_EXE_deskmate"))
            .args([
                "store",
                "connect",
                "--name",
                "Acme Shoes",
                "--subdomain",
                subdomain,
                "--bot-email",
                email,
            ])
            .args(extra)
            .args(if extra.contains(&"--id") {
                vec![]
            } else {
                vec!["--id", self.id.as_str()]
            })
            .env("DESKMATE_TABLE", &self.table)
            .env("DESKMATE_AWS_ENDPOINT", moto())
            .env("DESKMATE_ZENDESK_URL", zendesk)
            .env("DESKMATE_API_URL", "https://api.example.test")
            .env("DESKMATE_ZENDESK_API_TOKEN", token)
            .stdin(Stdio::null())
            .output()
            .expect("the deskmate binary runs")
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

fn run(f: &Fixture, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskmate"))
        .args(args)
        .env("DESKMATE_TABLE", &f.table)
        .env("DESKMATE_AWS_ENDPOINT", moto())
        .env("DESKMATE_ZENDESK_URL", f.sandbox.base_url())
        .env("DESKMATE_API_URL", "https://api.example.test")
        .env("DESKMATE_ZENDESK_API_TOKEN", &f.token)
        .stdin(Stdio::null())
        .output()
        .expect("the deskmate binary runs")
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
        let output = run(&f, &["zendesk", "setup", "--store", &f.id, "--json"]);
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

    let state = Arc::new(DynamoState::new(f.dynamodb.clone(), &f.table));
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
    let url = ticket_webhook_server(&f).await;
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

fn run_with(f: &Fixture, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deskmate"));
    command
        .args(args)
        .env("DESKMATE_TABLE", &f.table)
        .env("DESKMATE_AWS_ENDPOINT", moto())
        .env("DESKMATE_ZENDESK_URL", f.sandbox.base_url())
        .env("DESKMATE_API_URL", "https://api.example.test")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the deskmate binary runs")
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
        let output = run_with(
            &f,
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
    let wrong_integration = run_with(&f, &[&connect[..], &["not-ours"]].concat(), &secrets);
    assert_eq!(wrong_integration.status.code(), Some(1));
    assert!(
        stderr(&wrong_integration).contains("is not a Conversations integration of app"),
        "{}",
        stderr(&wrong_integration)
    );
    let wrong_key = run_with(
        &f,
        &[&connect[..], &[integration.as_str()]].concat(),
        &[("DESKMATE_CONVERSATIONS_KEY_SECRET", "nope"), secrets[1]],
    );
    assert!(
        stderr(&wrong_key).contains("refused the Conversations API key"),
        "{}",
        stderr(&wrong_key)
    );
    let ok = run_with(
        &f,
        &[&connect[..], &[integration.as_str()]].concat(),
        &secrets,
    );
    assert!(ok.status.success(), "{}", stderr(&ok));

    let mapped = run_with(
        &f,
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
    let taken = run_with(
        &f,
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

    let list = run_with(
        &f,
        &["widgets", "list", "--account", &f.account, "--json"],
        &[],
    );
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
    let text = run_with(&f, &["widgets", "list", "--account", &f.account], &[]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("(unmapped)"));

    let unmapped = run_with(&f, &["widgets", "unmap", "--store", "shoes"], &[]);
    assert!(unmapped.status.success(), "{}", stderr(&unmapped));
    let remapped = run_with(
        &f,
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
async fn switchboard_register_twice_leaves_deskmate_default_with_next_pointers_both_ways() {
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
    let connect = run_with(
        &f,
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
    assert_eq!(
        f.sandbox.switchboard().0.as_deref(),
        Some("zd-agentWorkspace"),
        "messaging starts with the Agent Workspace"
    );

    let mut outputs = Vec::new();
    for _ in 0..2 {
        let output = run_with(
            &f,
            &["switchboard", "register", "--account", &f.account, "--json"],
            &[],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        outputs.push(serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap());
    }
    let (default, next) = f.sandbox.switchboard();
    assert_eq!(default.as_deref(), Some("deskmate"));
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
    assert_eq!(outputs[0]["after"]["default"], "deskmate");
    assert_eq!(
        outputs[1]["before"], outputs[1]["after"],
        "the second run changes nothing"
    );
}

/// Deskmate's routes over the fixture's table, as the deployed functions would serve them.
async fn ticket_webhook_server(f: &Fixture) -> String {
    deployed_functions(f).await.0
}

/// The routes' URL and the job queue's URL.
async fn deployed_functions(f: &Fixture) -> (String, String) {
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{}-jobs", f.table))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let (ingress, worker) =
        deskmate_cli::local::local_configs(Some(f.sandbox.base_url().to_owned()));
    let zendesk = Arc::new(ZendeskConnector::from_config(
        Arc::new(SecretsManagerStore::new(
            f.secrets.clone(),
            std::time::Duration::ZERO,
        )),
        &worker,
    ));
    let state = Arc::new(DynamoState::new(f.dynamodb.clone(), &f.table));
    let functions = deskmate_cli::server::Functions::new(
        state,
        Arc::new(SqsQueue::new(sqs, &queue_url)),
        zendesk,
        &ingress,
    );
    let url = deskmate_cli::server::serve(deskmate_cli::server::routes(functions), "127.0.0.1:0")
        .await
        .unwrap();
    (url, queue_url)
}

/// Runs the reply worker over every queued job until the queue is quiet, as Lambda would.
async fn run_worker(f: &Fixture, queue_url: &str) {
    let sdk = sdk().await;
    let (_, config) = deskmate_cli::local::local_configs(Some(f.sandbox.base_url().to_owned()));
    let secrets = Arc::new(SecretsManagerStore::new(
        f.secrets.clone(),
        std::time::Duration::ZERO,
    ));
    let queue = Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url));
    let state = Arc::new(DynamoState::new(f.dynamodb.clone(), &f.table));
    let worker = reply_worker::ReplyWorker::new(state, secrets, queue, &config);
    let source = deskmate_cli::local::SqsEventSource {
        client: aws_sdk_sqs::Client::new(&sdk),
        queue_url: queue_url.to_owned(),
    };
    loop {
        f.sandbox.settle().await;
        let messages = source.receive(std::time::Duration::ZERO).await.unwrap();
        if messages.is_empty() {
            return;
        }
        let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
        event.records = messages.clone();
        let response = worker.handle_batch(event).await;
        source.acknowledge(&messages, &response).await;
    }
}

fn run_env(f: &Fixture, args: &[&str], env: &[(&str, String)]) -> Output {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_with(f, args, &pairs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_brands_set_up_with_the_cli_are_each_answered_by_their_own_store() {
    let f = fixture().await;
    let (url, queue_url) = deployed_functions(&f).await;
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
    let env = |extra: &[(&'static str, String)]| {
        let mut all = vec![
            ("DESKMATE_API_URL", url.clone()),
            ("DESKMATE_ZENDESK_API_TOKEN", f.token.clone()),
        ];
        all.extend(extra.iter().cloned());
        all
    };
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
        let output = run_env(&f, &connect, &env(&[]));
        assert!(output.status.success(), "{}", stderr(&output));
        let output = run_env(&f, &["zendesk", "setup", "--store", &store_id], &env(&[]));
        assert!(output.status.success(), "{}", stderr(&output));
        brands.push((store_id, name, brand, widget, answer));
    }
    let secrets = [
        ("DESKMATE_CONVERSATIONS_KEY_SECRET", keys.key_secret.clone()),
        (
            "DESKMATE_CONVERSATIONS_SHARED_SECRET",
            shared_secret.clone(),
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
    let output = run_env(&f, &connect, &env(&secrets));
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run_env(
        &f,
        &["switchboard", "register", "--account", &f.account],
        &env(&[]),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    for (store_id, _, _, widget, _) in &brands {
        let output = run_env(
            &f,
            &["widgets", "map", "--store", store_id, "--widget", widget],
            &env(&[]),
        );
        assert!(output.status.success(), "{}", stderr(&output));
    }

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
    run_worker(&f, &queue_url).await;

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
    let card: serde_json::Value = serde_json::from_slice(&connect.stdout).unwrap();
    let bearer = card["webhook_bearer_token"].as_str().unwrap().to_owned();

    let test = run(&f, &["store", "test", "--store", &f.id, "--json"]);
    assert!(test.status.success(), "{}", stderr(&test));
    let list = run(&f, &["store", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed["stores"][0]["store_id"], f.id.as_str());
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&bearer),
        "list never shows tokens"
    );

    let endpoint = format!(
        "{}/webhooks/zendesk/{}",
        ticket_webhook_server(&f).await,
        f.id
    );
    let deliver = |token: String| {
        let endpoint = endpoint.clone();
        async move {
            reqwest::Client::new()
                .post(endpoint)
                .bearer_auth(token)
                .body(r#"{"event":"ticket_created","ticket_id":"7"}"#)
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
    let output = run(&f, &["store", "disconnect", "--store", &f.id, "--json"]);
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
    assert_eq!(
        f.sandbox.webhooks().len(),
        0,
        "Zendesk was left untouched (setup never ran here)"
    );
}
