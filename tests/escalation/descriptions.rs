//! The tool's OpenAPI description and LLM function schema are served, valid, and say what the
//! handler accepts.

use deskmate_e2e_tests::TestApp;
use serde_json::{Value, json};

async fn get(app: &TestApp, path: &str) -> Value {
    let response = reqwest::get(format!("{}{path}", app.deskmate_url))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_openapi_description_is_valid_openapi_3_for_the_served_endpoint() {
    let app = TestApp::spawn().await;
    let document = get(&app, "/tools/openapi.json").await;
    let parsed: openapiv3::OpenAPI =
        serde_json::from_value(document.clone()).expect("a valid OpenAPI 3 document");
    assert!(parsed.openapi.starts_with("3.0"), "{}", parsed.openapi);
    let operation = parsed
        .paths
        .paths
        .get("/tools/escalate")
        .and_then(|p| p.as_item())
        .and_then(|item| item.post.as_ref())
        .expect("POST /tools/escalate");
    for status in ["200", "400", "401", "403", "404", "413", "502"] {
        assert!(
            operation
                .responses
                .responses
                .contains_key(&openapiv3::StatusCode::Code(status.parse().unwrap())),
            "response {status} is described"
        );
    }
    let components = parsed.components.expect("components");
    for name in ["EscalateRequest", "EscalateResponse", "ErrorResponse"] {
        assert!(components.schemas.contains_key(name), "{name}");
    }
    assert!(components.security_schemes.contains_key("toolToken"));
    assert_eq!(
        parsed.servers[0].url, "/",
        "the server is the host that served the description"
    );
    // Every $ref points inside the document.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = &reference[..reference.find('"').unwrap()];
        assert!(
            document.pointer(target.trim_start_matches('#')).is_some(),
            "{target} resolves"
        );
    }
}

#[tokio::test]
async fn the_tool_schema_round_trips_through_the_handlers_own_request_type() {
    let app = TestApp::spawn().await;
    let tool = get(&app, "/tools/escalate/schema").await;
    assert_eq!(tool["function"]["name"], "escalate_to_human");
    let parameters = &tool["function"]["parameters"];
    let validator =
        jsonschema::validator_for(parameters).expect("the parameters are a JSON Schema");
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;

    // What the schema accepts, the handler accepts, and the other way round.
    let accepted = [
        json!({"ticket_id": ticket, "summary": "Wants a refund"}),
        json!({"ticket_id": ticket, "summary": "Wants a refund", "reason": "policy", "customer_message": "A person will help."}),
    ];
    let refused = [
        json!({"summary": "no target"}),
        json!({"ticket_id": ticket, "conversation_id": "abc", "summary": "both"}),
        json!({"ticket_id": ticket}),
        json!({"ticket_id": "7", "summary": "s"}),
        json!({"ticket_id": 0, "summary": "s"}),
        json!({"ticket_id": ticket, "summary": "x".repeat(4001)}),
        json!({"ticket_id": ticket, "summary": "s", "reason": "r".repeat(501)}),
    ];
    for call in &accepted {
        assert!(validator.is_valid(call), "the schema accepts {call}");
        let (status, answer) = app.call_tool(&app.store.tool_token, call).await;
        assert_eq!(status, 200, "the handler accepts {call}: {answer}");
    }
    for call in &refused {
        assert!(!validator.is_valid(call), "the schema refuses {call}");
        let (status, answer) = app.call_tool(&app.store.tool_token, call).await;
        assert_eq!(status, 400, "the handler refuses {call}: {answer}");
    }
}
