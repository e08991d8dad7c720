//! Every kind of bad request to the conversations webhook gets the right status and message,
//! and nothing is queued for it.

use deskmate_e2e_tests::TestApp;
use serde_json::json;

struct Case {
    name: &'static str,
    account: &'static str,
    api_key: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    message: &'static str,
}

const GOOD_KEY: &str = "the-shared-secret";

fn body(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn cases() -> Vec<Case> {
    let envelope = |events: serde_json::Value| {
        body(json!({"app": {"id": "a"}, "webhook": {"id": "w", "version": "v2"}, "events": events}))
    };
    let case = |name, account, api_key, body, status, message| Case {
        name,
        account,
        api_key,
        body,
        status,
        message,
    };
    let unauthorized = "missing or invalid credentials";
    vec![
        case(
            "no X-API-Key",
            "acme",
            None,
            envelope(json!([])),
            401,
            unauthorized,
        ),
        case(
            "wrong X-API-Key",
            "acme",
            Some("guess"),
            envelope(json!([])),
            401,
            unauthorized,
        ),
        case(
            "empty X-API-Key",
            "acme",
            Some(""),
            envelope(json!([])),
            401,
            unauthorized,
        ),
        case(
            "unknown account",
            "globex",
            Some(GOOD_KEY),
            envelope(json!([])),
            401,
            unauthorized,
        ),
        case(
            "malformed account",
            "Acme.zendesk.com",
            Some(GOOD_KEY),
            envelope(json!([])),
            401,
            unauthorized,
        ),
        case(
            "not JSON",
            "acme",
            Some(GOOD_KEY),
            b"events=1".to_vec(),
            400,
            "invalid JSON",
        ),
        case(
            "empty body",
            "acme",
            Some(GOOD_KEY),
            Vec::new(),
            400,
            "invalid JSON",
        ),
        case(
            "JSON array",
            "acme",
            Some(GOOD_KEY),
            body(json!([{"id": "e"}])),
            400,
            "expected a JSON object",
        ),
        case(
            "JSON string",
            "acme",
            Some(GOOD_KEY),
            body(json!("events")),
            400,
            "expected a JSON object",
        ),
        case(
            "no events",
            "acme",
            Some(GOOD_KEY),
            body(json!({"app": {"id": "a"}})),
            400,
            "`events` is missing",
        ),
        case(
            "events is an object",
            "acme",
            Some(GOOD_KEY),
            body(json!({"events": {"id": "e"}})),
            400,
            "`events` must be an array",
        ),
        case(
            "event without id",
            "acme",
            Some(GOOD_KEY),
            envelope(json!([{"type": "conversation:message"}])),
            400,
            "events[0] has no string `id`",
        ),
        case(
            "event with numeric id",
            "acme",
            Some(GOOD_KEY),
            envelope(json!([{"id": 7, "type": "conversation:message"}])),
            400,
            "events[0] has no string `id`",
        ),
        case(
            "event without type",
            "acme",
            Some(GOOD_KEY),
            envelope(json!([{"id": "e1"}, {"id": "e2"}])),
            400,
            "events[0] has no string `type`",
        ),
        case(
            "second event is a string",
            "acme",
            Some(GOOD_KEY),
            envelope(json!([{"id": "e1", "type": "x"}, "e2"])),
            400,
            "events[1] has no string `id`",
        ),
        case(
            "oversized body",
            "acme",
            Some(GOOD_KEY),
            envelope(json!([{"id": "e", "type": "x", "pad": "x".repeat(257 * 1024)}])),
            413,
            "larger than 262144 bytes",
        ),
    ]
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_answers_and_queue_nothing() {
    let app = TestApp::spawn().await;
    let setup = app.enable_messaging().await;
    let client = reqwest::Client::new();
    let cases = cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for case in &cases {
        // "acme" stands for this test's own account.
        let account = if case.account == "acme" {
            app.account.as_str()
        } else {
            case.account
        };
        let mut request = client
            .post(format!(
                "{}/webhooks/conversations/{account}",
                app.deskmate_url
            ))
            .header("content-type", "application/json")
            .body(case.body.clone());
        if let Some(key) = case.api_key {
            let key = if key == GOOD_KEY {
                setup.shared_secret.as_str()
            } else {
                key
            };
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.json().await.unwrap();
        let error = answer["error"].as_str().unwrap_or_default();
        if status != case.status || !error.contains(case.message) {
            failures.push(format!(
                "{}: got {status} {answer}, want {} ..{}..",
                case.name, case.status, case.message
            ));
        }
        assert!(!error.contains(&setup.shared_secret));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(app.aws.queue_depth().await, 0, "nothing was queued");
}

#[tokio::test]
async fn unknown_events_and_fields_are_acknowledged_and_ignored() {
    let app = TestApp::spawn().await;
    let setup = app.enable_messaging().await;
    let payload = json!({
        "app": {"id": "a", "future": true},
        "webhook": {"id": "w", "version": "v2"},
        "events": [
            {"id": "e1", "type": "conversation:read", "createdAt": "2026-01-01T00:00:00.000Z", "payload": {}},
            {"id": "e2", "type": "some:future:event", "payload": {"x": 1}},
            {"id": "e3", "type": "conversation:message", "payload": {"conversation": {"id": "c"}, "message": {"id": "m", "author": {"type": "business"}, "content": {"type": "text", "text": "hi"}, "source": {"type": "api:conversations"}}}},
            {"id": "e4", "type": "conversation:message", "payload": {"nonsense": true}},
        ]
    });
    let response = reqwest::Client::new()
        .post(app.conversations_url())
        .header("x-api-key", &setup.shared_secret)
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    let statuses: Vec<&str> = answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ignored"; 4], "{answer}");
    assert!(
        answer["events"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("business")
    );
    assert!(
        answer["events"][3]["reason"]
            .as_str()
            .unwrap()
            .contains("malformed")
    );
    assert_eq!(app.aws.queue_depth().await, 0);
}
