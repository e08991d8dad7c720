//! A session's life: opened with its context, the customer's messages in, the agent's text and
//! files out (signed), solved and ended; idempotent opening; tenancy.

use deskmate_shared::bridge::{PART_KEY, SESSION_KEY};
use deskmate_shared::domain::AgentSettings;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{BridgeApp, session_request};

fn conversation_of(answer: &Value) -> String {
    answer["conversation_id"]
        .as_str()
        .expect("the answer names the conversation")
        .to_owned()
}

#[tokio::test]
async fn the_agent_gets_the_context_and_the_caller_gets_the_agent() {
    let bridge = BridgeApp::spawn().await;
    let sandbox = &bridge.app.sandbox;
    let (status, opened) = bridge.open(&session_request("chat-1")).await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["status"], "opened");
    let conversation = conversation_of(&opened);

    // The conversation carries the session and is with the Agent Workspace; its messaging
    // ticket starts at the summary and holds the transcript, tagged as asked.
    let metadata = sandbox
        .conversation_metadata(&conversation)
        .expect("metadata");
    assert_eq!(
        metadata[SESSION_KEY],
        json!(format!("{}/chat-1", bridge.app.store.config.id))
    );
    assert_eq!(
        sandbox.in_control(&conversation).as_deref(),
        Some("zd-agentWorkspace")
    );
    let messages = sandbox.conversation_messages(&conversation);
    assert!(
        messages[0].text.contains("wants an exchange before Friday"),
        "{:?}",
        messages[0].text
    );
    assert!(
        messages.len() >= 3,
        "the long transcript takes two messages: {messages:#?}"
    );
    assert!(messages.iter().all(|m| m.text.chars().count() <= 4096));
    let ticket = sandbox
        .conversation(&conversation)
        .and_then(|c| c.ticket_id)
        .expect("a messaging ticket");
    let first = &sandbox.comments(ticket)[0].body;
    assert!(first.contains("wants an exchange before Friday"), "{first}");
    assert!(
        first.contains("Please hurry") || first.contains("please hurry"),
        "{first}"
    );
    let tags = sandbox.ticket(ticket).expect("the ticket").tags;
    assert!(
        tags.contains(&"deskmate_bridge".to_owned()) && tags.contains(&"vip".to_owned()),
        "{tags:?}"
    );

    // The customer's messages reach the agent, once per message id.
    let path = "/bridge/sessions/chat-1/messages";
    let hello = json!({"message_id": "m1", "text": "Are you there?"});
    let (status, sent) = bridge.call(Method::POST, path, Some(&hello), None).await;
    assert_eq!(
        (status, sent["status"].as_str()),
        (200, Some("sent")),
        "{sent}"
    );
    let (_, again) = bridge.call(Method::POST, path, Some(&hello), None).await;
    assert_eq!(again["status"], "already_sent");
    let photo = json!({"message_id": "m2", "attachment": {"url": "https://cdn.example.test/label.png", "kind": "image", "alt_text": "label"}});
    let (status, _) = bridge.call(Method::POST, path, Some(&photo), None).await;
    assert_eq!(status, 200);
    let from_customer: Vec<_> = sandbox
        .conversation_messages(&conversation)
        .into_iter()
        .filter(|m| m.author_type == "user")
        .collect();
    assert_eq!(from_customer.len(), 2, "{from_customer:#?}");
    assert_eq!(from_customer[0].text, "Are you there?");
    assert_eq!(
        from_customer[1].media_url.as_deref(),
        Some("https://cdn.example.test/label.png")
    );
    assert!(
        sandbox
            .comments(ticket)
            .iter()
            .any(|c| c.body.contains("Are you there?")),
        "the agent sees the customer's message on the ticket"
    );

    // Deskmate's own messages and the customer's are not relayed back; the widget bot never
    // answers or passes the conversation on.
    bridge.relay().await;
    assert!(
        bridge.receiver.deliveries().is_empty(),
        "{:?}",
        bridge.receiver.deliveries()
    );
    assert!(bridge.app.bot_messages(&conversation).is_empty());

    // The agent's text and file, and an automated message, reach the caller, signed.
    sandbox.workspace_agent_says(
        &conversation,
        "Sam Agent",
        "Hi Ana, I'm arranging the exchange.",
    );
    bridge.relay().await;
    let label = b"%PDF-1.4 return label".to_vec();
    sandbox.workspace_agent_sends_file(
        &conversation,
        "Sam Agent",
        "return-label.pdf",
        "application/pdf",
        label.clone(),
        Some("Your return label"),
    );
    bridge.relay().await;
    sandbox.automation_says(&conversation, "Rate your chat, please.");
    bridge.relay().await;
    let deliveries = bridge.receiver.deliveries();
    assert_eq!(deliveries.len(), 3, "{deliveries:#?}");
    assert!(
        deliveries.iter().all(|d| d.signed),
        "every delivery is signed"
    );
    let text = &deliveries[0].body;
    assert_eq!(text["type"], "agent.message");
    assert_eq!(text["data"]["author"]["role"], "agent");
    assert_eq!(text["data"]["author"]["name"], "Sam Agent");
    assert_eq!(text["data"]["text"], "Hi Ana, I'm arranging the exchange.");
    let file = &deliveries[1].body["data"];
    assert_eq!(file["author"]["role"], "agent");
    assert_eq!(file["attachment"]["media_type"], "application/pdf");
    assert!(
        file["attachment"].get("media_url").is_none(),
        "Zendesk's own URL stays inside"
    );
    let link = file["attachment"]["url"]
        .as_str()
        .expect("a signed link")
        .to_owned();
    let download = reqwest::get(&link).await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().to_vec(), label);
    let tampered = link.replace("/bridge/attachments/", "/bridge/attachments/x");
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), 403);
    assert_eq!(deliveries[2].body["data"]["author"]["role"], "automated");

    // Solving the ticket releases the conversation: the session ends, and the caller hears.
    sandbox.solve(bridge.app.agent, ticket);
    bridge.relay().await;
    let deliveries = bridge.receiver.deliveries();
    let ended = &deliveries.last().unwrap().body;
    assert_eq!(ended["type"], "session.ended", "{deliveries:#?}");
    assert_eq!(ended["data"]["reason"], "ticketClosed");
    let (_, state) = bridge
        .call(Method::GET, "/bridge/sessions/chat-1", None, None)
        .await;
    assert_eq!(state["status"], "ended");
    let late = json!({"message_id": "m3", "text": "One more thing"});
    let (status, refused) = bridge.call(Method::POST, path, Some(&late), None).await;
    assert_eq!(status, 409, "{refused}");

    // The polling fallback has the same events, in order, under the same ids.
    let polled = bridge.events("chat-1", 0).await;
    let polled = polled["events"].as_array().unwrap().clone();
    let ids: Vec<&str> = polled.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let delivered: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, delivered);
    let seqs: Vec<u64> = polled.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    let rest = bridge.events("chat-1", 2).await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 2);
    assert_eq!(rest["next_after"], 4);
}

#[tokio::test]
async fn opening_a_session_twice_makes_one_conversation() {
    let bridge = BridgeApp::spawn().await;
    let request = session_request("chat-twice");
    let (first_status, first) = bridge.open(&request).await;
    let (second_status, second) = bridge.open(&request).await;
    assert_eq!(
        (first_status, second_status),
        (201, 200),
        "{first} {second}"
    );
    assert_eq!(second["status"], "already_open");
    assert_eq!(conversation_of(&first), conversation_of(&second));
    let (user, _) = bridge
        .app
        .sandbox
        .messaging_user("cust-chat-twice")
        .expect("the messaging user");
    assert_eq!(bridge.app.sandbox.conversations_of_user(&user).len(), 1);
    let context: Vec<_> = bridge
        .app
        .sandbox
        .conversation_messages(&conversation_of(&first))
        .into_iter()
        .filter(|m| {
            m.metadata
                .as_ref()
                .is_some_and(|md| md.get(PART_KEY) == Some(&json!("part-0")))
        })
        .collect();
    assert_eq!(context.len(), 1);

    // The same id with another summary is a different session: refused, nothing made.
    let mut other = request.clone();
    other["summary"] = json!("Something else entirely.");
    let (status, answer) = bridge.open(&other).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("different session")
    );
    assert_eq!(bridge.app.sandbox.conversations_of_user(&user).len(), 1);
}

#[tokio::test]
async fn another_stores_token_gets_403() {
    let bridge = BridgeApp::spawn().await;
    let (status, _) = bridge.open(&session_request("chat-owned")).await;
    assert_eq!(status, 201);
    let other = bridge
        .app
        .add_store_with(
            "Shoes",
            AgentSettings::Knowledge {
                knowledge_markdown: "# Shoes\nWe sell shoes.".into(),
            },
            None,
            None,
        )
        .await;
    let token = Some(&other.tool_token);
    let message = json!({"message_id": "x1", "text": "hijack"});
    for (method, path, body) in [
        (Method::GET, "/bridge/sessions/chat-owned", None),
        (
            Method::POST,
            "/bridge/sessions/chat-owned/messages",
            Some(&message),
        ),
        (Method::GET, "/bridge/sessions/chat-owned/events", None),
        (Method::DELETE, "/bridge/sessions/chat-owned", None),
    ] {
        let (status, answer) = bridge.call(method.clone(), path, body, token).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
    }
    let (status, answer) = bridge
        .call(
            Method::POST,
            "/bridge/sessions",
            Some(&session_request("chat-owned")),
            token,
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    // Nothing reached the conversation, and the owner's session is still open.
    let (_, state) = bridge
        .call(Method::GET, "/bridge/sessions/chat-owned", None, None)
        .await;
    assert_eq!(state["status"], "already_open");
    let conversation = conversation_of(&state);
    assert!(
        !bridge
            .app
            .sandbox
            .conversation_messages(&conversation)
            .iter()
            .any(|m| m.text.contains("hijack"))
    );
    // No token at all.
    let (status, _) = bridge
        .call(
            Method::GET,
            "/bridge/sessions/chat-owned",
            None,
            Some(&"nope".to_owned().into()),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_caller_ending_the_session_tells_the_agent_once() {
    let bridge = BridgeApp::spawn().await;
    let (_, opened) = bridge.open(&session_request("chat-bye")).await;
    let conversation = conversation_of(&opened);
    let (status, ended) = bridge
        .call(Method::DELETE, "/bridge/sessions/chat-bye", None, None)
        .await;
    assert_eq!(
        (status, ended["status"].as_str()),
        (200, Some("ended")),
        "{ended}"
    );
    assert_eq!(ended["ended_reason"], "ended_by_caller");
    let (status, _) = bridge
        .call(Method::DELETE, "/bridge/sessions/chat-bye", None, None)
        .await;
    assert_eq!(status, 200);
    let told: Vec<_> = bridge
        .app
        .sandbox
        .conversation_messages(&conversation)
        .into_iter()
        .filter(|m| m.text.contains("left the chat"))
        .collect();
    assert_eq!(told.len(), 1);
    // The agent then solves the ticket: the session stays ended once.
    let ticket = bridge
        .app
        .sandbox
        .conversation(&conversation)
        .unwrap()
        .ticket_id
        .unwrap();
    bridge.app.sandbox.solve(bridge.app.agent, ticket);
    bridge.relay().await;
    let events = bridge.events("chat-bye", 0).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["session.ended"]);
    assert_eq!(events["events"][0]["data"]["reason"], "ended_by_caller");
}

#[tokio::test]
async fn bad_requests_get_a_clear_400_and_open_nothing() {
    let bridge = BridgeApp::spawn().await;
    for (body, field) in [
        (
            json!({"session_id": "s/1", "customer": {"external_id": "c", "name": "A"}, "summary": "x"}),
            "session_id",
        ),
        (
            json!({"session_id": "s1", "customer": {"external_id": "c", "name": "A"}, "summary": " "}),
            "summary",
        ),
        (
            json!({"session_id": "s1", "customer": {"external_id": "c"}, "summary": "x"}),
            "customer",
        ),
        (
            json!({"session_id": "s1", "customer": {"external_id": "c", "name": "A"}, "summary": "x", "ticket_fields": {"7": [1]}}),
            "ticket_fields.7",
        ),
    ] {
        let (status, answer) = bridge.open(&body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(field), "{error} should name {field}");
    }
    let (status, answer) = bridge
        .call(
            Method::POST,
            "/bridge/sessions/nope/messages",
            Some(&json!({"message_id": "m", "text": "hi"})),
            None,
        )
        .await;
    assert_eq!(status, 404, "{answer}");
    assert!(bridge.app.sandbox.messaging_user("c").is_none());
}
