//! The create-ticket tool: idempotent by the caller's key, tied to the caller's store, and
//! never answered by the bot.

use deskmate_e2e_tests::TestApp;
use deskmate_shared::domain::AgentSettings;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

async fn create_ticket(app: &TestApp, token: &SecretString, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/tools/create-ticket", app.deskmate_url))
        .bearer_auth(token.expose_secret())
        .json(body)
        .send()
        .await
        .expect("the tool answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

fn request(source: Value, key: &str) -> Value {
    let mut body = json!({
        "subject": "Replacement for a broken kettle",
        "description": "Maria's kettle (order 1234) arrived broken; she wants a replacement.",
        "requester": {"email": "maria@example.test", "name": "Maria Customer"},
        "priority": "high",
        "tags": ["kettle"],
        "idempotency_key": key,
    });
    for (name, value) in source.as_object().unwrap() {
        body[name] = value.clone();
    }
    body
}

#[tokio::test]
async fn one_key_creates_one_ticket_that_the_bot_never_answers() {
    let app = TestApp::spawn().await;
    let source = app.customer_emails("My kettle arrived broken, can I get a new one?");
    app.run_worker().await;
    let call = request(json!({"ticket_id": source}), "kettle-1234");

    let (status, first) = create_ticket(&app, &app.store.tool_token, &call).await;
    assert_eq!(
        (status, first["status"].as_str()),
        (200, Some("created")),
        "{first}"
    );
    let ticket = first["ticket_id"].as_u64().expect("a ticket id");
    assert_eq!(
        first["url"],
        format!("https://{}.zendesk.com/agent/tickets/{ticket}", app.account)
    );
    let (status, second) = create_ticket(&app, &app.store.tool_token, &call).await;
    assert_eq!(
        (
            status,
            second["status"].as_str(),
            second["ticket_id"].as_u64()
        ),
        (200, Some("already_created"), Some(ticket)),
        "{second}"
    );
    assert_eq!(app.sandbox.tickets_tagged("deskmate_created"), [ticket]);

    let view = app.sandbox.ticket(ticket).unwrap();
    assert!(
        view.tags.contains(&"deskmate_created".to_owned()),
        "{:?}",
        view.tags
    );
    assert!(view.tags.contains(&"kettle".to_owned()));
    assert_eq!(view.priority.as_deref(), Some("high"));
    assert_eq!(view.brand_id, Some(app.brand));
    assert_eq!(view.requester_id, app.customer, "found by email");
    assert_eq!(view.submitter_id, app.bot, "created as the bot");
    // The new-ticket trigger leaves it alone: not the bot's, no job, no bot reply.
    app.run_worker().await;
    let view = app.sandbox.ticket(ticket).unwrap();
    assert_ne!(
        view.assignee_id,
        Some(app.bot),
        "the trigger did not give it to the bot"
    );
    app.enqueue_ticket_job(ticket).await;
    app.run_worker().await;
    assert!(app.public_replies_by_bot(ticket).is_empty());
    assert_eq!(
        app.sandbox.comments(ticket).len(),
        1,
        "only its description"
    );
}

#[tokio::test]
async fn another_stores_token_cannot_create_from_a_foreign_conversation_or_ticket() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let agent = AgentSettings::Knowledge {
        knowledge_markdown: "# Shoes\nReturns within 30 days.\n".into(),
    };
    let (widget, shoes) = app.brand_with_widget("Shoes", agent).await;
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.sandbox
        .widget_visitor_says(&conversation, "Please open a ticket for my return.");
    let email_ticket = app.customer_emails("Where is my order?");

    let foreign = request(json!({"conversation_id": conversation}), "c-1");
    let (status, answer) = create_ticket(&app, &app.store.tool_token, &foreign).await;
    assert_eq!(status, 403, "{answer}");
    let foreign = request(json!({"ticket_id": email_ticket}), "t-1");
    let (status, answer) = create_ticket(&app, &shoes.tool_token, &foreign).await;
    assert_eq!(status, 403, "{answer}");
    assert!(app.sandbox.tickets_tagged("deskmate_created").is_empty());

    // Its own store may.
    let own = request(json!({"conversation_id": conversation}), "c-1");
    let (status, answer) = create_ticket(&app, &shoes.tool_token, &own).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("created")),
        "{answer}"
    );
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let source = app.customer_emails("Hello");
    let good = request(json!({"ticket_id": source}), "k");
    let cases = [
        ("subject", json!(null), "subject"),
        ("idempotency_key", json!(""), "idempotency_key"),
        ("priority", json!("asap"), "priority"),
        (
            "requester",
            json!({"email": "not an email", "name": "M"}),
            "requester.email",
        ),
    ];
    for (field, value, named) in cases {
        let mut body = good.clone();
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        let (status, answer) = create_ticket(&app, &app.store.tool_token, &body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(&format!("`{named}`")), "{message}");
    }
    let mut huge = good.clone();
    huge["description"] = json!("x".repeat(70 * 1024));
    let (status, _) = create_ticket(&app, &app.store.tool_token, &huge).await;
    assert_eq!(status, 413);
    let (status, _) = create_ticket(&app, &SecretString::from("dmt_wrong"), &good).await;
    assert_eq!(status, 401);
    assert!(app.sandbox.tickets_tagged("deskmate_created").is_empty());

    let schema: Value = reqwest::get(format!("{}/tools/create-ticket/schema", app.deskmate_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(schema["function"]["name"], "create_zendesk_ticket");
    let required = schema["function"]["parameters"]["required"].to_string();
    assert!(required.contains("idempotency_key"), "{required}");
}

#[tokio::test]
async fn a_lost_answer_or_a_call_in_flight_never_makes_a_second_ticket() {
    use zendesk_sandbox::{Call, Fault, FaultRule};
    let app = TestApp::spawn().await;
    let source = app.customer_emails("My kettle arrived broken, can I get a new one?");
    app.run_worker().await;

    // Zendesk creates the ticket but the answer is lost: the caller hears 502, and its retry
    // with the same key gets that same ticket (Zendesk's Idempotency-Key), not a second one.
    app.sandbox.inject(FaultRule::once(
        Call::CreateTicket,
        Fault::CommitThenStatus { status: 500 },
    ));
    let call = request(json!({"ticket_id": source}), "kettle-lost");
    let (status, lost) = create_ticket(&app, &app.store.tool_token, &call).await;
    assert_eq!(status, 502, "{lost}");
    assert_eq!(app.sandbox.tickets_tagged("deskmate_created").len(), 1);
    let (status, retried) = create_ticket(&app, &app.store.tool_token, &call).await;
    assert_eq!(status, 200, "{retried}");
    let made = app.sandbox.tickets_tagged("deskmate_created");
    assert_eq!(made.len(), 1, "one ticket: {made:?}");
    assert_eq!(retried["ticket_id"].as_u64(), Some(made[0]));

    // A second call while the first is still creating gets 409; the first finishes alone.
    app.sandbox.inject(FaultRule::once(
        Call::CreateTicket,
        Fault::Latency { millis: 1500 },
    ));
    let call = request(json!({"ticket_id": source}), "kettle-slow");
    let (first, second) = tokio::join!(create_ticket(&app, &app.store.tool_token, &call), async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        create_ticket(&app, &app.store.tool_token, &call).await
    });
    assert_eq!(second.0, 409, "{}", second.1);
    assert_eq!(
        (first.0, first.1["status"].as_str()),
        (200, Some("created")),
        "{}",
        first.1
    );
    assert_eq!(app.sandbox.tickets_tagged("deskmate_created").len(), 2);
}
