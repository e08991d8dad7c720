//! The webhook agent backend against a local agent service that checks Standard Webhooks
//! signatures itself.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use deskmate_e2e_tests::{AppOptions, TestApp};
use deskmate_shared::domain::AgentSettings;
use deskmate_shared::secrets::SecretVault;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;

const AGENT_SECRET: &str = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLWFnZW50LXNlcnZpY2U=";

/// What the local agent service answers once a signature checks out.
#[derive(Clone, Copy)]
enum Behaviour {
    Replies,
    Malformed,
}

fn verify(headers: &HeaderMap, body: &str) -> bool {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let key = STANDARD
        .decode(AGENT_SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(
        format!(
            "{}.{}.{}",
            header("webhook-id"),
            header("webhook-timestamp"),
            body
        )
        .as_bytes(),
    );
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

async fn agent_service(behaviour: Behaviour, turns: Arc<Mutex<Vec<serde_json::Value>>>) -> String {
    let app = axum::Router::new().route(
        "/turn",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let turns = turns.clone();
            async move {
                if !verify(&headers, &body) {
                    return (
                        StatusCode::UNAUTHORIZED,
                        r#"{"error":"bad signature"}"#.to_owned(),
                    );
                }
                turns
                    .lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap());
                match behaviour {
                    Behaviour::Replies => (
                        StatusCode::OK,
                        r#"{"reply":"**Refunds** take 5 days.","escalate":null}"#.to_owned(),
                    ),
                    Behaviour::Malformed => (
                        StatusCode::OK,
                        r#"{"answer":"I am not your format"}"#.to_owned(),
                    ),
                }
            }
        }),
    );
    let base = deskmate_cli::server::serve(app, "127.0.0.1:0")
        .await
        .unwrap();
    format!("{base}/turn")
}

async fn app_with_agent(
    behaviour: Behaviour,
    stored_secret: &str,
) -> (TestApp, Arc<Mutex<Vec<serde_json::Value>>>) {
    let turns = Arc::new(Mutex::new(Vec::new()));
    let url = agent_service(behaviour, turns.clone()).await;
    let secret_name = format!(
        "deskmate/test/{}/agent-signing",
        deskmate_e2e_tests::unique_name("s")
    );
    let app = TestApp::spawn_with(AppOptions {
        agent: AgentSettings::Webhook {
            url,
            signing_secret: secret_name.clone(),
        },
        ..AppOptions::default()
    })
    .await;
    app.secrets
        .put_secret(&secret_name, &SecretString::from(stored_secret.to_owned()))
        .await
        .unwrap();
    (app, turns)
}

#[tokio::test]
async fn the_agent_service_gets_a_signed_turn_and_its_reply_is_posted() {
    let (app, turns) = app_with_agent(Behaviour::Replies, AGENT_SECRET).await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;

    let replies = app.public_replies_by_bot(ticket);
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0]
            .html_body
            .contains("<strong>Refunds</strong> take 5 days."),
        "{}",
        replies[0].html_body
    );
    let turns = turns.lock().unwrap();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["channel"], "email");
    assert_eq!(turns[0]["transcript"][0]["role"], "customer");
    assert_eq!(
        turns[0]["transcript"][0]["text"],
        "How long do refunds take?"
    );
    assert_eq!(turns[0]["customer"]["email"], "maria@example.test");
}

#[tokio::test]
async fn a_signature_the_agent_rejects_ends_in_an_escalation_not_silence() {
    let (app, turns) = app_with_agent(Behaviour::Replies, "whsec_d3Jvbmcta2V5").await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;

    assert!(
        turns.lock().unwrap().is_empty(),
        "the agent refused the turn"
    );
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("The AI agent failed"),
        "{}",
        notes[0].body
    );
    assert!(notes[0].body.contains("401"), "{}", notes[0].body);
    assert_eq!(
        app.public_replies_by_bot(ticket).len(),
        1,
        "the customer is told"
    );
}

#[tokio::test]
async fn a_malformed_agent_answer_ends_in_an_escalation_not_silence() {
    let (app, _) = app_with_agent(Behaviour::Malformed, AGENT_SECRET).await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;

    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("answer Deskmate cannot use"),
        "{}",
        notes[0].body
    );
    assert_eq!(app.sandbox.ticket(ticket).unwrap().assignee_id, None);
}
