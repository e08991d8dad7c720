//! Every request a bridge session sends to the Conversations API validates against Zendesk's
//! official spec: user and conversation creation, the business and user messages (text and
//! media), and the hand-over.

use reqwest::Method;
use serde_json::json;

use crate::spec_check::{check_requests, load_spec};
use crate::{BridgeApp, session_request};

#[tokio::test]
async fn every_request_a_session_sends_validates_against_the_spec() {
    let Some(spec) = load_spec() else { return };
    let bridge = BridgeApp::spawn().await;
    let (status, opened) = bridge.open(&session_request("chat-spec")).await;
    assert_eq!(status, 201, "{opened}");
    let path = "/bridge/sessions/chat-spec/messages";
    for body in [
        json!({"message_id": "t", "text": "Here is the photo"}),
        json!({"message_id": "i", "attachment": {"url": "https://cdn.example.test/a.png", "kind": "image"}, "text": "the box"}),
        json!({"message_id": "f", "attachment": {"url": "https://cdn.example.test/r.pdf", "alt_text": "receipt"}}),
    ] {
        let (status, answer) = bridge.call(Method::POST, path, Some(&body), None).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, _) = bridge
        .call(Method::DELETE, "/bridge/sessions/chat-spec", None, None)
        .await;
    assert_eq!(status, 200);

    let (failures, checked) = check_requests(&spec, &bridge.app.sandbox.requests());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    for expected in [
        "POST /v2/apps/{appId}/users",
        "POST /v2/apps/{appId}/conversations",
        "POST /v2/apps/{appId}/conversations/{conversationId}/messages",
        "POST /v2/apps/{appId}/conversations/{conversationId}/passControl",
    ] {
        assert!(
            checked.contains(expected),
            "{expected} was not exercised: {checked:?}"
        );
    }
}
