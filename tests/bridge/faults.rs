//! Faults: a crash (or a lost answer) after each step of opening a session, then a retry,
//! leaves one conversation with one context message; deliveries the caller's webhook does not
//! take are retried, then dead-lettered, and never lost from the session's log.

use deskmate_shared::bridge::PART_KEY;
use serde_json::json;
use zendesk_sandbox::{Call, Fault, FaultRule};

use crate::{BridgeApp, session_request};

/// What opening left in Zendesk: the user's conversations, and per part mark how many
/// messages carry it.
fn made(bridge: &BridgeApp, session: &str) -> (usize, Vec<(String, usize)>, Option<String>) {
    let sandbox = &bridge.app.sandbox;
    let Some((user, _)) = sandbox.messaging_user(&format!("cust-{session}")) else {
        return (0, Vec::new(), None);
    };
    let conversations = sandbox.conversations_of_user(&user);
    let mut parts: Vec<(String, usize)> = Vec::new();
    for conversation in &conversations {
        for message in sandbox.conversation_messages(conversation) {
            if let Some(part) = message.metadata.as_ref().and_then(|m| m.get(PART_KEY)) {
                let part = part.as_str().unwrap_or_default().to_owned();
                match parts.iter_mut().find(|(p, _)| *p == part) {
                    Some((_, count)) => *count += 1,
                    None => parts.push((part, 1)),
                }
            }
        }
    }
    let in_control = conversations.first().and_then(|c| sandbox.in_control(c));
    (conversations.len(), parts, in_control)
}

#[tokio::test]
async fn a_crash_after_any_step_then_a_retry_leaves_one_conversation_and_one_context() {
    // (the call that fails, how many of its kind pass first, the fault, what the first call
    // answers): a user created by a call whose answer was lost is read back at once, and a
    // failed read is retried within the call; every lost write answers 502.
    let committed = Fault::CommitThenStatus { status: 500 };
    let cases = [
        (Call::CreateUser, 0, committed.clone(), 201),
        (Call::CreateConversation, 0, committed.clone(), 502),
        (Call::CreateConversation, 0, Fault::Garbage, 502),
        (Call::PostMessage, 0, committed.clone(), 502),
        (Call::PostMessage, 1, committed.clone(), 502),
        (Call::PassControl, 0, committed.clone(), 502),
        (Call::PassControl, 0, Fault::Status { status: 503 }, 502),
        (
            Call::ListConversations,
            0,
            Fault::Status { status: 500 },
            201,
        ),
    ];
    for (i, (call, skip, fault, first_status)) in cases.into_iter().enumerate() {
        let bridge = BridgeApp::spawn().await;
        let session = format!("chat-crash-{i}");
        bridge.app.sandbox.inject(FaultRule {
            call,
            skip,
            times: 1,
            fault: fault.clone(),
        });
        let (status, first) = bridge.open(&session_request(&session)).await;
        assert_eq!(status, first_status, "{call:?} {fault:?}: {first}");
        let (status, opened) = bridge.open(&session_request(&session)).await;
        assert!(matches!(status, 200 | 201), "{call:?} {fault:?}: {opened}");
        let (conversations, parts, in_control) = made(&bridge, &session);
        assert_eq!(conversations, 1, "{call:?} {fault:?}");
        assert!(
            parts.len() >= 2,
            "{call:?}: context and transcript: {parts:?}"
        );
        assert!(
            parts.iter().all(|(_, count)| *count == 1),
            "{call:?} {fault:?}: each message once: {parts:?}"
        );
        assert_eq!(parts[0].0, "part-0");
        assert_eq!(in_control.as_deref(), Some("zd-agentWorkspace"), "{call:?}");
        let conversation = opened["conversation_id"].as_str().unwrap();
        assert!(
            bridge
                .app
                .sandbox
                .conversation(conversation)
                .unwrap()
                .ticket_id
                .is_some(),
            "{call:?}: one messaging ticket"
        );
    }
}

#[tokio::test]
async fn a_delivery_the_receiver_fails_is_retried_under_the_same_id() {
    let bridge = BridgeApp::spawn().await;
    let (_, opened) = bridge.open(&session_request("chat-retry")).await;
    let conversation = opened["conversation_id"].as_str().unwrap().to_owned();
    bridge.relay().await;
    bridge.receiver.fail_next(1);
    bridge
        .app
        .sandbox
        .workspace_agent_says(&conversation, "Sam Agent", "Still there?");
    bridge.app.sandbox.settle().await;
    let response = bridge.app.run_worker().await;
    assert_eq!(response.batch_item_failures.len(), 1, "the job comes back");
    assert!(bridge.receiver.deliveries().is_empty());
    // Meanwhile the event is in the session's log.
    let polled = bridge.events("chat-retry", 0).await;
    let event_id = polled["events"][0]["id"].as_str().unwrap().to_owned();
    bridge.app.run_worker().await;
    let deliveries = bridge.receiver.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    assert_eq!(deliveries[0].id, event_id);
    assert_eq!(deliveries[0].body["data"]["text"], "Still there?");
    // A redelivered webhook event records nothing new.
    assert_eq!(
        bridge.events("chat-retry", 0).await["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_refused_delivery_is_dead_lettered_and_stays_in_the_log() {
    let bridge = BridgeApp::spawn().await;
    let (_, opened) = bridge.open(&session_request("chat-refused")).await;
    let conversation = opened["conversation_id"].as_str().unwrap().to_owned();
    bridge.relay().await;
    bridge.receiver.refuse(true);
    bridge.app.sandbox.workspace_agent_says(
        &conversation,
        "Sam Agent",
        "Your refund is on its way.",
    );
    bridge.relay().await;
    let aws = &bridge.app.aws;
    assert_eq!(
        aws.depth_of(&aws.dead_letter_url).await,
        1,
        "the job is dead-lettered"
    );
    let messages =
        deskmate_e2e_tests::AwsResources::receive_all_from(&aws.dead_letter_source()).await;
    let response = bridge
        .app
        .dead_letter_consumer()
        .handle_batch(deskmate_e2e_tests::sqs_event(messages.clone()))
        .await;
    assert!(response.batch_item_failures.is_empty());
    aws.dead_letter_source()
        .acknowledge(&messages, &response)
        .await;
    let polled = bridge.events("chat-refused", 0).await;
    assert_eq!(
        polled["events"][0]["data"]["text"],
        json!("Your refund is on its way.")
    );
}

#[tokio::test]
async fn a_customer_message_whose_answer_was_lost_is_posted_once() {
    let bridge = BridgeApp::spawn().await;
    let (_, opened) = bridge.open(&session_request("chat-lost")).await;
    let conversation = opened["conversation_id"].as_str().unwrap().to_owned();
    bridge.app.sandbox.inject(FaultRule::once(
        Call::PostMessage,
        Fault::CommitThenStatus { status: 500 },
    ));
    let path = "/bridge/sessions/chat-lost/messages";
    let message = json!({"message_id": "m-lost", "text": "Is anyone there?"});
    let (status, failed) = bridge
        .call(reqwest::Method::POST, path, Some(&message), None)
        .await;
    assert_eq!(status, 502, "{failed}");
    let (status, retried) = bridge
        .call(reqwest::Method::POST, path, Some(&message), None)
        .await;
    assert_eq!(
        (status, retried["status"].as_str()),
        (200, Some("already_sent")),
        "{retried}"
    );
    let posted = bridge
        .app
        .sandbox
        .conversation_messages(&conversation)
        .into_iter()
        .filter(|m| m.text == "Is anyone there?")
        .count();
    assert_eq!(posted, 1);
}
