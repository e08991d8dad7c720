//! `deskmate store connect` run as an operator would: the real binary, moto for the stack's
//! table and Secrets Manager, the sandbox for Zendesk.

use std::process::{Command, Output, Stdio};

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
    assert_eq!(card["store_id"], "acme-shoes");
    assert_eq!(card["account"], "acme.zendesk.com");
    assert_eq!(
        card["webhook_url"],
        "https://api.example.test/webhooks/zendesk/acme-shoes"
    );
    assert_eq!(card["tool_url"], "https://api.example.test/tools/escalate");

    let state = DynamoState::new(f.dynamodb.clone(), &f.table);
    let store = state
        .store(&StoreId::parse("acme-shoes").unwrap())
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
