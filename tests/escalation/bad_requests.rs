//! Every kind of bad request to `/tools/escalate` gets the right status and a message naming
//! what is wrong, and changes nothing.

use deskmate_e2e_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn bad_tool_calls_get_clear_answers_and_change_nothing() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    let comments_before = app.sandbox.comments(ticket).len();
    let token = secrecy::ExposeSecret::expose_secret(&app.store.tool_token).to_owned();
    let long = |n: usize| "x".repeat(n);
    let body = |value: serde_json::Value| value.to_string().into_bytes();
    let unauthorized = "missing or invalid tool token";
    // (name, authorization header, body, status, message)
    type Case<'a> = (&'a str, Option<String>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no token",
            None,
            body(json!({"ticket_id": ticket, "summary": "s"})),
            401,
            unauthorized,
        ),
        (
            "wrong token",
            Some("Bearer dmt_wrong".into()),
            body(json!({"ticket_id": ticket, "summary": "s"})),
            401,
            unauthorized,
        ),
        (
            "webhook token instead",
            Some(format!(
                "Bearer {}",
                secrecy::ExposeSecret::expose_secret(&app.store.webhook_token)
            )),
            body(json!({"ticket_id": ticket, "summary": "s"})),
            401,
            unauthorized,
        ),
        (
            "basic scheme",
            Some(format!("Basic {token}")),
            body(json!({"ticket_id": ticket, "summary": "s"})),
            401,
            unauthorized,
        ),
        (
            "not JSON",
            Some(format!("Bearer {token}")),
            b"ticket_id=1".to_vec(),
            400,
            "body is not valid JSON",
        ),
        (
            "empty body",
            Some(format!("Bearer {token}")),
            Vec::new(),
            400,
            "body is not valid JSON",
        ),
        (
            "array",
            Some(format!("Bearer {token}")),
            body(json!([1])),
            400,
            "body must be a JSON object",
        ),
        (
            "no target",
            Some(format!("Bearer {token}")),
            body(json!({"summary": "s"})),
            400,
            "exactly one of `ticket_id` or `conversation_id`",
        ),
        (
            "both targets",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": ticket, "conversation_id": "abc", "summary": "s"})),
            400,
            "not both",
        ),
        (
            "ticket id zero",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": 0, "summary": "s"})),
            400,
            "field `ticket_id` must be a positive integer",
        ),
        (
            "ticket id negative",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": -4, "summary": "s"})),
            400,
            "field `ticket_id`",
        ),
        (
            "ticket id text",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": "seven", "summary": "s"})),
            400,
            "field `ticket_id`",
        ),
        (
            "conversation id empty",
            Some(format!("Bearer {token}")),
            body(json!({"conversation_id": " ", "summary": "s"})),
            400,
            "field `conversation_id` must be",
        ),
        (
            "conversation id with slashes",
            Some(format!("Bearer {token}")),
            body(json!({"conversation_id": "../../admin", "summary": "s"})),
            400,
            "field `conversation_id` must be",
        ),
        (
            "conversation id a number",
            Some(format!("Bearer {token}")),
            body(json!({"conversation_id": 5, "summary": "s"})),
            400,
            "field `conversation_id`",
        ),
        (
            "summary missing",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": ticket})),
            400,
            "missing field `summary`",
        ),
        (
            "summary blank",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": ticket, "summary": "   "})),
            400,
            "field `summary` must not be empty",
        ),
        (
            "summary too long",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": ticket, "summary": long(4001)})),
            400,
            "field `summary` is longer than 4000",
        ),
        (
            "reason too long",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": ticket, "summary": "s", "reason": long(501)})),
            400,
            "field `reason` is longer than 500",
        ),
        (
            "reason not text",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": ticket, "summary": "s", "reason": ["a"]})),
            400,
            "field `reason`",
        ),
        (
            "customer message too long",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": ticket, "summary": "s", "customer_message": long(1001)})),
            400,
            "field `customer_message` is longer than 1000",
        ),
        (
            "oversized body",
            Some(format!("Bearer {token}")),
            body(json!({"ticket_id": ticket, "summary": "s", "padding": long(65 * 1024)})),
            413,
            "larger than 65536 bytes",
        ),
    ];
    assert!(cases.len() >= 15);
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    for (name, authorization, body, status, message) in cases {
        let mut request = client
            .post(format!("{}/tools/escalate", app.deskmate_url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let answer: serde_json::Value = response.json().await.unwrap();
        let error = answer["error"].as_str().unwrap_or_default();
        if got != status || !error.contains(message) {
            failures.push(format!(
                "{name}: got {got} {answer}, want {status} ..{message}.."
            ));
        }
        assert!(!error.contains(&token), "{name}: the token leaked");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(
        app.sandbox.comments(ticket).len(),
        comments_before,
        "nothing changed in Zendesk"
    );
    assert_eq!(
        app.sandbox.ticket(ticket).unwrap().assignee_id,
        Some(app.bot)
    );
    assert_eq!(app.aws.queue_depth().await, 0, "nothing was queued");
}
