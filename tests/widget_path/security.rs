//! Events are not trusted further than Zendesk confirms them: a forged event cannot make one
//! brand's bot answer in another brand's conversation, ids cannot climb out of their API path,
//! and what an event says is logged escaped and echoed bounded.

use std::io::Write;
use std::sync::{Arc, Mutex};

use deskmate_e2e_tests::TestApp;
use deskmate_shared::domain::AgentSettings;
use deskmate_shared::state::WidgetRoutes;
use deskmate_shared::telemetry::{LogFormat, log_this_thread_to};
use serde_json::{Value, json};

const SHOES: &str = "# Returns\nShoes can be returned within **30 days**.\n";
const BAGS: &str = "# Returns\nBags can be returned within 14 days, unused.\n";

fn knowledge(markdown: &str) -> AgentSettings {
    AgentSettings::Knowledge {
        knowledge_markdown: markdown.into(),
    }
}

/// Posts a payload to the webhook with the account's shared secret; each event's outcome.
async fn post(app: &TestApp, shared_secret: &str, payload: &Value) -> Vec<Value> {
    let response = reqwest::Client::new()
        .post(app.conversations_url())
        .header("x-api-key", shared_secret)
        .json(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    answer["events"].as_array().unwrap().clone()
}

fn user_message(event_id: &str, conversation: &str, message: &str, widget: &str) -> Value {
    json!({
        "id": event_id,
        "type": "conversation:message",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "payload": {
            "conversation": {"id": conversation, "type": "personal"},
            "message": {
                "id": message,
                "received": "2026-01-01T00:00:00.000Z",
                "author": {"type": "user", "userId": "5f0c0a0b0c0d0e0f10111213", "displayName": "Lee"},
                "content": {"type": "text", "text": "How do returns work?"},
                "source": {"type": "web", "integrationId": widget}
            }
        }
    })
}

#[tokio::test]
async fn a_forged_event_cannot_make_one_brand_answer_in_another_brands_conversation() {
    let app = TestApp::spawn().await;
    let setup = app.enable_messaging().await;
    let (shoes_widget, shoes) = app.brand_with_widget("Shoes", knowledge(SHOES)).await;
    let (bags_widget, bags) = app.brand_with_widget("Bags", knowledge(BAGS)).await;
    let conversation = app.sandbox.widget_visitor_opens(&bags_widget, "Lee");
    app.run_worker().await;
    // The customer's next message waits (its event is held back) while a forged event, signed
    // with the account's shared secret, says it came from the Shoes widget.
    app.sandbox.hold_conversation_events();
    app.sandbox
        .widget_visitor_says(&conversation, "Can I get returns on these?");
    let forged = json!({"app": {"id": "a"}, "webhook": {"id": "w", "version": "v2"}, "events": [
        user_message("forged-1", &conversation, "65a1f0c2e4b0c1d2e3f4a5b6", &shoes_widget),
        {"id": "forged-2", "type": "conversation:create", "payload": {
            "conversation": {"id": conversation, "type": "personal"},
            "source": {"type": "web", "integrationId": shoes_widget}}},
    ]});
    let outcomes = post(&app, &setup.shared_secret, &forged).await;
    assert!(
        outcomes.iter().all(|o| o["status"] == "queued"),
        "the webhook cannot tell: {outcomes:?}"
    );
    app.run_worker().await;
    let by = |name: &str| {
        app.bot_messages(&conversation)
            .into_iter()
            .filter(|m| m.display_name.as_deref() == Some(name))
            .count()
    };
    assert_eq!(
        by(&shoes.config.display_name),
        0,
        "the Shoes bot stayed silent in a Bags conversation"
    );

    // The real event still gets the real store's answer.
    app.sandbox.flush_conversation_events();
    app.run_worker().await;
    let replies = app.bot_messages(&conversation);
    assert_eq!(replies.len(), 2, "the welcome and one answer: {replies:?}");
    assert!(
        replies
            .iter()
            .all(|m| m.display_name.as_deref() == Some(bags.config.display_name.as_str()))
    );
    assert!(
        replies[1]
            .text
            .contains("Bags can be returned within 14 days"),
        "{}",
        replies[1].text
    );
}

#[tokio::test]
async fn ids_that_would_climb_out_of_their_api_path_are_refused_at_the_webhook() {
    let app = TestApp::spawn().await;
    let setup = app.enable_messaging().await;
    let (shoes_widget, _) = app.brand_with_widget("Shoes", knowledge(SHOES)).await;
    let (bags_widget, _) = app.brand_with_widget("Bags", knowledge(BAGS)).await;
    let victim = app.sandbox.widget_visitor_opens(&bags_widget, "Lee");
    app.run_worker().await;
    let message = "65a1f0c2e4b0c1d2e3f4a5b6";
    let climbing = [
        (format!("x/../{victim}"), message.to_owned()),
        (format!("../{victim}"), message.to_owned()),
        (format!("{victim}/..%2F{victim}"), message.to_owned()),
        (format!("{victim}?x=1"), message.to_owned()),
        (String::new(), message.to_owned()),
        ("x".repeat(65), message.to_owned()),
        (victim.clone(), "../../messages".to_owned()),
        (victim.clone(), "m#1".to_owned()),
    ];
    let events: Vec<Value> = climbing
        .iter()
        .enumerate()
        .map(|(i, (conversation, message))| {
            user_message(&format!("e{i}"), conversation, message, &shoes_widget)
        })
        .collect();
    let outcomes = post(
        &app,
        &setup.shared_secret,
        &json!({"app": {"id": "a"}, "events": events}),
    )
    .await;
    for ((conversation, message), outcome) in climbing.iter().zip(&outcomes) {
        assert_eq!(
            outcome["status"], "ignored",
            "{conversation:?} / {message:?}: {outcome}"
        );
        assert!(
            outcome["reason"]
                .as_str()
                .unwrap()
                .contains("a Conversations id is 1-64 characters"),
            "{outcome}"
        );
    }
    assert_eq!(app.aws.queue_depth().await, 0, "nothing was queued");
    // A well-formed id still works.
    let fine = post(
        &app,
        &setup.shared_secret,
        &json!({"events": [user_message("ok", &victim, message, &bags_widget)]}),
    )
    .await;
    assert_eq!(fine[0]["status"], "queued", "{fine:?}");
}

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

#[tokio::test]
async fn what_an_event_says_is_logged_escaped_and_echoed_bounded() {
    let captured = Captured::default();
    let writer = captured.clone();
    let guard = log_this_thread_to(LogFormat::Text, Some("info"), "info", move || {
        writer.clone()
    });
    let app = TestApp::spawn().await;
    let setup = app.enable_messaging().await;
    let long_id = format!(
        "e1\nFORGED INFO escalate: escalated by tool call{}",
        "i".repeat(20_000)
    );
    let long_type = format!("x:y\r\nFORGED INFO webhook accepted{}", "t".repeat(20_000));
    // Every store has a widget, so an unknown widget is answered by no store.
    let widget = app.sandbox.add_web_widget(app.brand, "Acme widget");
    app.state
        .map_widget(&app.store.config, &widget)
        .await
        .unwrap();
    let unknown_widget = format!("w\nFORGED widget{}", "w".repeat(20_000));
    let mut unknown = user_message(
        "e3",
        "65a1f0c2e4b0c1d2e3f4a5b6",
        "65a1f0c2e4b0c1d2e3f4a5b7",
        &unknown_widget,
    );
    // A human holds the conversation: Deskmate has nothing to do with it.
    unknown["payload"]["conversation"]["activeSwitchboardIntegration"] = json!({
        "id": "5f0c0a0b0c0d0e0f10111299", "name": "zd-agentWorkspace",
        "integrationId": "5f0c0a0b0c0d0e0f10111298", "integrationType": "zd:agentWorkspace"});
    let payload = json!({"events": [
        {"id": long_id, "type": long_type},
        {"id": "e2", "type": "conversation:message", "payload": "p".repeat(20_000)},
        unknown,
    ]});
    let response = reqwest::Client::new()
        .post(app.conversations_url())
        .header("x-api-key", &setup.shared_secret)
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer = response.text().await.unwrap();
    drop(guard);

    assert!(answer.len() < 2_000, "{} bytes: {answer}", answer.len());
    let outcomes: Value = serde_json::from_str(&answer).unwrap();
    let outcomes = outcomes["events"].as_array().unwrap();
    assert_eq!(outcomes.len(), 3);
    for outcome in outcomes {
        assert_eq!(outcome["status"], "ignored", "{outcome}");
        assert!(outcome["id"].as_str().unwrap().chars().count() <= 100);
        assert!(outcome["reason"].as_str().unwrap().chars().count() <= 501);
    }
    assert!(
        outcomes[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("e1\nFORGED"),
        "the start of what was sent is echoed"
    );
    assert!(
        outcomes[1]["reason"]
            .as_str()
            .unwrap()
            .contains("expected struct MessagePayload"),
        "the end of a long complaint is kept: {}",
        outcomes[1]["reason"]
    );

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("event handled"), "{logs}");
    for line in logs.lines() {
        assert!(
            !line.trim_start().starts_with("FORGED"),
            "a forged log line: {line}"
        );
        assert!(
            line.len() < 2_000,
            "a {} byte log line: {}",
            line.len(),
            &line[..300]
        );
    }
    assert!(logs.contains(r#"e1\nFORGED"#), "logged escaped: {logs}");
    // Held by another integration, it is ignored before its (forged) widget is even read.
    assert_eq!(
        outcomes[2]["reason"],
        "another switchboard integration holds the conversation"
    );
}
