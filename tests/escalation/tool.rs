use deskmate_e2e_tests::TestApp;
use deskmate_shared::domain::AgentSettings;
use serde_json::json;

const SHOES: &str = "# Returns\nShoes can be returned within **30 days**.\n";

#[tokio::test]
async fn a_tool_call_escalates_a_ticket_once_and_the_bot_then_stays_silent() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    let call = json!({"ticket_id": ticket, "summary": "Maria wants a refund for order 1234 today.", "reason": "Refund over the bot's limit"});

    let (status, answer) = app.call_tool(&app.store.tool_token, &call).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("escalated")),
        "{answer}"
    );
    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.assignee_id, None);
    assert!(view.tags.contains(&"deskmate_escalated".to_owned()));
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("Why: Refund over the bot's limit"),
        "{}",
        notes[0].body
    );
    assert!(
        notes[0]
            .body
            .contains("Summary: Maria wants a refund for order 1234 today.")
    );
    assert!(
        notes[0]
            .body
            .contains("Customer: How long do refunds take?"),
        "the transcript excerpt"
    );
    let public_by_bot = app.public_replies_by_bot(ticket).len();
    assert_eq!(
        public_by_bot, 2,
        "the answer, then the notice to the customer"
    );

    let comments_before = app.sandbox.comments(ticket).len();
    let (status, answer) = app.call_tool(&app.store.tool_token, &call).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("already_escalated"))
    );
    assert_eq!(
        app.sandbox.comments(ticket).len(),
        comments_before,
        "nothing changed"
    );

    app.sandbox
        .comment(app.customer, ticket, "Hello? Do you ship worldwide?", true);
    app.enqueue_ticket_job(ticket).await;
    app.run_worker().await;
    assert_eq!(
        app.public_replies_by_bot(ticket).len(),
        public_by_bot,
        "silent after escalation"
    );
}

#[tokio::test]
async fn a_tool_call_hands_a_conversation_to_the_agent_workspace_with_the_summary_on_its_ticket() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let agent = AgentSettings::Knowledge {
        knowledge_markdown: SHOES.into(),
    };
    let (widget, store) = app.brand_with_widget("Shoes", agent).await;
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.sandbox
        .widget_visitor_says(&conversation, "Can I get returns on these?");
    app.run_worker().await;
    let call = json!({"conversation_id": conversation, "summary": "Lee got a damaged pair and wants a replacement.", "customer_message": "A teammate will take it from here, Lee."});

    let (status, answer) = app.call_tool(&store.tool_token, &call).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("escalated")),
        "{answer}"
    );
    assert_eq!(
        app.sandbox.in_control(&conversation).as_deref(),
        Some("zd-agentWorkspace")
    );
    let told = app.bot_messages(&conversation);
    assert_eq!(
        told.last().unwrap().text,
        "A teammate will take it from here, Lee."
    );

    app.run_worker().await;
    let ticket = app
        .sandbox
        .messaging_ticket(&conversation)
        .expect("Zendesk opened a messaging ticket");
    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.assignee_id, None, "unassigned for a human");
    assert!(
        app.public_replies_by_bot(ticket).is_empty(),
        "never a public word on a messaging ticket"
    );
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].body.contains("Summary: Lee got a damaged pair"),
        "{}",
        notes[0].body
    );
    assert!(notes[0].body.contains("Customer: Lee"), "{}", notes[0].body);

    let (status, answer) = app.call_tool(&store.tool_token, &call).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("already_escalated"))
    );
    assert_eq!(
        app.bot_messages(&conversation).len(),
        told.len(),
        "no second notice"
    );
    app.run_worker().await;
    assert_eq!(app.internal_notes(ticket).len(), 1, "no second note");

    app.sandbox
        .widget_visitor_says(&conversation, "Can I get returns on these?");
    app.run_worker().await;
    assert_eq!(
        app.bot_messages(&conversation).len(),
        told.len(),
        "silent while a human has it"
    );
}

#[tokio::test]
async fn a_token_of_one_store_cannot_escalate_another_stores_ticket_or_conversation() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let agent = AgentSettings::Knowledge {
        knowledge_markdown: SHOES.into(),
    };
    let (other_widget, other) = app.brand_with_widget("Bags", agent).await;
    let other_brand = other.config.brand_id.unwrap();

    let bags_ticket = app.sandbox.customer_emails(
        app.customer,
        Some(other_brand),
        "Bag",
        "My bag strap broke.",
    );
    let (status, answer) = app
        .call_tool(
            &app.store.tool_token,
            &json!({"ticket_id": bags_ticket, "summary": "s"}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("does not belong to store")
    );
    assert!(
        app.sandbox.comments(bags_ticket).len() == 1
            && app.sandbox.ticket(bags_ticket).unwrap().tags.is_empty()
    );

    let conversation = app.sandbox.widget_visitor_opens(&other_widget, "Kim");
    app.run_worker().await;
    let (status, answer) = app
        .call_tool(
            &app.store.tool_token,
            &json!({"conversation_id": conversation, "summary": "s"}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        app.sandbox.in_control(&conversation).as_deref(),
        Some("deskmate"),
        "nothing changed"
    );

    let (status, _) = app
        .call_tool(
            &other.tool_token,
            &json!({"ticket_id": 999_999, "summary": "s"}),
        )
        .await;
    assert_eq!(status, 404, "Zendesk has no such ticket");
    let (status, _) = app
        .call_tool(
            &other.tool_token,
            &json!({"conversation_id": "ffffffffffffffffffffffff", "summary": "s"}),
        )
        .await;
    assert_eq!(status, 404, "Zendesk has no such conversation");
}

#[tokio::test]
async fn zendesk_failing_after_retries_is_a_502_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    app.sandbox.inject_faults(std::iter::repeat_n(
        zendesk_sandbox::Fault::Status { status: 503 },
        4,
    ));
    let (status, answer) = app
        .call_tool(
            &app.store.tool_token,
            &json!({"ticket_id": ticket, "summary": "s"}),
        )
        .await;
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("Zendesk kept failing"),
        "{answer}"
    );
    assert!(app.internal_notes(ticket).is_empty());
}

#[tokio::test]
async fn an_agent_outage_in_the_widget_ends_in_a_hand_off_whose_note_says_why() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let agent = AgentSettings::Openai {
        base_url: "http://127.0.0.1:9/v1".into(),
        model: "gpt-test".into(),
        api_key_secret: format!("deskmate/{}/openai", app.account),
    };
    let (widget, _) = app.brand_with_widget("Shoes", agent).await;
    deskmate_shared::secrets::SecretVault::put_secret(
        app.secrets.as_ref(),
        &format!("deskmate/{}/openai", app.account),
        &secrecy::SecretString::from("sk-test"),
    )
    .await
    .unwrap();
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.sandbox
        .widget_visitor_says(&conversation, "Where is my order?");
    app.run_worker().await;
    app.run_worker().await;

    assert_eq!(
        app.sandbox.in_control(&conversation).as_deref(),
        Some("zd-agentWorkspace")
    );
    assert!(
        app.bot_messages(&conversation)
            .last()
            .unwrap()
            .text
            .contains("passed your request")
    );
    let ticket = app.sandbox.messaging_ticket(&conversation).unwrap();
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("The AI agent failed"),
        "{}",
        notes[0].body
    );
}
