//! What an attacker (or a careless `RUST_LOG`) can get out of Deskmate: no secret in the logs
//! of a whole session at `trace`, no escalation of another brand's ticket, a published request
//! schema that refuses what the handler refuses.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use deskmate_e2e_tests::{KNOWLEDGE, TestApp};
use deskmate_shared::domain::AgentSettings;
use deskmate_shared::secrets::SecretStore;
use deskmate_shared::state::WidgetRoutes;
use deskmate_shared::telemetry::{LogFormat, log_this_thread_to};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Everything logged, as written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The ways a secret can show up in a log line: as is, base64 (every alphabet, padded or
/// not) and hex.
fn forms(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        secret.to_owned(),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        hex.to_uppercase(),
        hex,
    ]
}

#[tokio::test]
async fn a_whole_session_at_trace_level_logs_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The production subscriber and filter, at the most verbose level an operator can set.
    let guard = log_this_thread_to(LogFormat::Json, Some("trace"), "info", move || {
        writer.clone()
    });

    // Setup as an operator does it: the store, its webhook and triggers, the Web Widget.
    let app = TestApp::spawn().await;
    let messaging = app.enable_messaging().await;
    let widget = app.sandbox.add_web_widget(app.brand, "Acme widget");
    app.state
        .map_widget(&app.store.config, &widget)
        .await
        .unwrap();

    // Email: a customer writes, the bot answers.
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1, "answered");

    // Web Widget: a visitor is welcomed, asks, the bot answers.
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.run_worker().await;
    app.sandbox
        .widget_visitor_says(&conversation, "Do you ship worldwide?");
    app.run_worker().await;
    assert_eq!(
        app.bot_messages(&conversation).len(),
        2,
        "welcomed, answered"
    );

    // The AI agent hands both to a human through the tool.
    for call in [
        json!({"ticket_id": ticket, "summary": "Wants a refund."}),
        json!({"conversation_id": conversation, "summary": "Wants to know about shipping."}),
    ] {
        let (status, answer) = app.call_tool(&app.store.tool_token, &call).await;
        assert_eq!(status, 200, "{answer}");
    }
    app.run_worker().await;
    let api_token = app
        .secrets
        .secret(&app.store.config.zendesk_token_secret)
        .await
        .unwrap();
    drop(guard);

    let keys = app.sandbox.messaging_keys().expect("messaging is on");
    let signing_secret = app
        .store
        .config
        .webhook_signing_secret
        .as_ref()
        .expect("the email path signs its deliveries")
        .expose_secret()
        .to_owned();
    let secrets = [
        (
            "webhook bearer token",
            app.store.webhook_token.expose_secret().to_owned(),
        ),
        ("webhook signing secret", signing_secret),
        (
            "tool token",
            app.store.tool_token.expose_secret().to_owned(),
        ),
        ("Conversations shared secret", messaging.shared_secret),
        ("Conversations key secret", keys.key_secret.clone()),
        (
            "Conversations basic credentials",
            format!("{}:{}", keys.key_id, keys.key_secret),
        ),
        ("Zendesk API token", api_token.expose_secret().to_owned()),
        (
            "Zendesk basic credentials",
            format!(
                "{}/token:{}",
                app.store.config.bot_email,
                api_token.expose_secret()
            ),
        ),
    ];
    let logs = captured.text();
    assert!(
        logs.contains("escalated by tool call"),
        "the capture saw the session: {logs}"
    );
    for (name, secret) in &secrets {
        assert!(secret.len() >= 16, "{name} is a real secret");
        for form in forms(secret) {
            if let Some(at) = logs.find(&form) {
                let line_start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
                let line: String = logs[line_start..].chars().take(600).collect();
                panic!("the {name} is in the logs ({form}):\n{line}");
            }
        }
    }
}

#[tokio::test]
async fn a_store_without_a_brand_cannot_escalate_another_stores_brand() {
    let app = TestApp::spawn().await;
    let agent = AgentSettings::Knowledge {
        knowledge_markdown: KNOWLEDGE.into(),
    };
    let brandless = app.add_store_with("Acme Outlet", agent, None, None).await;
    let summary = "Wants a refund.";

    // The app's store answers its brand: its tickets are not the brandless store's.
    let claimed = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    let comments = app.sandbox.comments(claimed).len();
    let (status, answer) = app
        .call_tool(
            &brandless.tool_token,
            &json!({"ticket_id": claimed, "summary": summary}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("which another store answers"),
        "{answer}"
    );
    assert_eq!(
        app.sandbox.comments(claimed).len(),
        comments,
        "nothing changed"
    );
    let view = app.sandbox.ticket(claimed).unwrap();
    assert!(!view.tags.contains(&"deskmate_escalated".to_owned()));
    assert_eq!(view.assignee_id, Some(app.bot), "still the bot's");

    // A brand no store claims is the brandless store's to hand over.
    let outlet = app.sandbox.add_brand("Outlet");
    let unclaimed = app.sandbox.customer_emails(
        app.customer,
        Some(outlet),
        "Outlet order",
        "Where is my outlet order?",
    );
    app.sandbox.settle().await;
    let (status, answer) = app
        .call_tool(
            &brandless.tool_token,
            &json!({"ticket_id": unclaimed, "summary": summary}),
        )
        .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("escalated")),
        "{answer}"
    );
    assert_eq!(app.internal_notes(unclaimed).len(), 1);

    // The branded store is held to its own brand, as before.
    let (status, answer) = app
        .call_tool(
            &app.store.tool_token,
            &json!({"ticket_id": unclaimed, "summary": summary}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
}

async fn get(app: &TestApp, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", app.deskmate_url))
        // Whatever a caller claims the host is, it does not reach the description.
        .header("host", "evil.example")
        .header("x-forwarded-proto", "javascript")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_openapi_description_is_strict_openapi_3_0_with_a_server_no_request_can_change() {
    let app = TestApp::spawn().await;
    let document = get(&app, "/tools/openapi.json").await;
    assert_eq!(document["servers"], json!([{"url": "/"}]));
    let parsed: openapiv3::OpenAPI =
        serde_json::from_value(document.clone()).expect("an OpenAPI 3 document");
    assert!(parsed.openapi.starts_with("3.0."), "{}", parsed.openapi);
    // openapiv3 models OpenAPI 3.0 and drops what it does not know: a document that comes back
    // unchanged holds nothing OpenAPI 3.0 does not define (like a schema's own `components`).
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        document,
        "the document survives openapiv3 unchanged"
    );
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        for key in ["components", "definitions", "$defs", "$schema"] {
            assert!(schema.get(key).is_none(), "{name} holds `{key}`");
        }
    }
}

#[tokio::test]
async fn the_published_request_schemas_refuse_what_the_handler_refuses() {
    let app = TestApp::spawn().await;
    let document = get(&app, "/tools/openapi.json").await;
    let tool = get(&app, "/tools/escalate/schema").await;
    // The OpenAPI schema read as JSON Schema ignores `nullable`: it only refuses more.
    let validators = [
        (
            "openapi",
            jsonschema::validator_for(&document["components"]["schemas"]["EscalateRequest"])
                .expect("a JSON Schema"),
        ),
        (
            "tool",
            jsonschema::validator_for(&tool["function"]["parameters"]).expect("a JSON Schema"),
        ),
    ];
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;

    let refused = [
        json!({"conversation_id": null, "summary": "names no target"}),
        json!({"ticket_id": null, "summary": "names no target"}),
        json!({"ticket_id": null, "conversation_id": null, "summary": "s"}),
        json!({"ticket_id": ticket, "summary": " "}),
        json!({"ticket_id": ticket, "summary": "\n\t  \r\n"}),
        json!({"conversation_id": "x/../65a1f0c2e4b0c1d2e3f4a5b6", "summary": "s"}),
        json!({"conversation_id": "a/b", "summary": "s"}),
        json!({"conversation_id": "a b", "summary": "s"}),
        json!({"conversation_id": "..", "summary": "s"}),
        json!({"conversation_id": "", "summary": "s"}),
        json!({"conversation_id": "x".repeat(65), "summary": "s"}),
        json!({"conversation_id": "ä", "summary": "s"}),
        json!({"ticket_id": ticket, "conversation_id": "abc", "summary": "both"}),
        json!({"ticket_id": 0, "summary": "s"}),
        json!({"ticket_id": -1, "summary": "s"}),
        json!({"ticket_id": 1.5, "summary": "s"}),
        json!({"ticket_id": "7", "summary": "s"}),
        json!({"ticket_id": ticket}),
        json!({"ticket_id": ticket, "summary": 5}),
        json!({"ticket_id": ticket, "summary": "x".repeat(4001)}),
        json!({"ticket_id": ticket, "summary": "s", "reason": "r".repeat(501)}),
        json!({"ticket_id": ticket, "summary": "s", "customer_message": "m".repeat(1001)}),
    ];
    for call in &refused {
        let (status, answer) = app.call_tool(&app.store.tool_token, call).await;
        assert_eq!(status, 400, "the handler refuses {call}: {answer}");
        for (name, validator) in &validators {
            assert!(
                !validator.is_valid(call),
                "the {name} schema refuses {call}"
            );
        }
    }
    let accepted = json!({"ticket_id": ticket, "summary": "Wants a refund", "reason": "policy", "customer_message": "A person will help."});
    for (name, validator) in &validators {
        assert!(
            validator.is_valid(&accepted),
            "the {name} schema accepts {accepted}"
        );
    }
    let (status, answer) = app.call_tool(&app.store.tool_token, &accepted).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn refusals_echo_at_most_a_bounded_part_of_the_body() {
    let app = TestApp::spawn().await;
    let huge = "A".repeat(60_000);
    for call in [
        json!({"ticket_id": huge, "summary": "s"}),
        json!({"ticket_id": 5, "summary": {"nested": huge}}),
        json!({"conversation_id": ["x", huge], "summary": "s"}),
    ] {
        let (status, answer) = app.call_tool(&app.store.tool_token, &call).await;
        assert_eq!(status, 400);
        let error = answer["error"].as_str().unwrap();
        assert!(error.len() < 300, "{} bytes: {error}", error.len());
        assert!(error.starts_with("field `"), "{error}");
    }
    let (_, answer) = app
        .call_tool(
            &app.store.tool_token,
            &json!({"ticket_id": huge, "summary": "s"}),
        )
        .await;
    assert!(
        answer["error"].as_str().unwrap().ends_with("expected u64"),
        "what the parser expected is kept: {answer}"
    );
}
