use deskmate_e2e_tests::TestApp;

const SHOES: &str = "# Returns\nShoes can be returned within **30 days**.\n";
const BAGS: &str = "# Returns\nBags can be returned within 14 days, unused.\n";
const FORMATTED: &str = "# Returns\nReturns are **free**. Start at [our returns page](https://acme.test/returns).\n\n- Print the label\n- Drop the parcel\n";

async fn brand_store(app: &TestApp, name: &str, knowledge: &str) -> (String, String) {
    let brand = app.sandbox.add_brand(name);
    let widget = app.sandbox.add_web_widget(brand, &format!("{name} widget"));
    let store = app
        .add_store(&format!("{name} Assistant"), knowledge, Some(&widget))
        .await;
    (widget, store.display_name)
}

/// A visitor opens the widget (and is welcomed), then asks.
async fn visitor_asks(app: &TestApp, widget: &str, question: &str) -> String {
    let conversation = app.sandbox.widget_visitor_opens(widget, "Lee");
    app.run_worker().await;
    app.sandbox.widget_visitor_says(&conversation, question);
    app.run_worker().await;
    conversation
}

#[tokio::test]
async fn two_brands_are_each_answered_by_their_own_store() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let (shoes_widget, shoes_name) = brand_store(&app, "Shoes", SHOES).await;
    let (bags_widget, bags_name) = brand_store(&app, "Bags", BAGS).await;

    let shoes = visitor_asks(&app, &shoes_widget, "Can I get returns on these?").await;
    let bags = visitor_asks(&app, &bags_widget, "Can I get returns on these?").await;

    let shoes_reply = app.bot_messages(&shoes);
    assert_eq!(shoes_reply.len(), 2, "the welcome and one answer");
    assert!(
        shoes_reply
            .iter()
            .all(|m| m.display_name.as_deref() == Some(shoes_name.as_str()))
    );
    assert!(
        shoes_reply[1]
            .text
            .contains("Shoes can be returned within 30 days"),
        "{}",
        shoes_reply[1].text
    );
    let bags_reply = app.bot_messages(&bags);
    assert!(
        bags_reply
            .iter()
            .all(|m| m.display_name.as_deref() == Some(bags_name.as_str()))
    );
    assert!(
        bags_reply[1]
            .text
            .contains("Bags can be returned within 14 days"),
        "{}",
        bags_reply[1].text
    );
    assert!(
        app.sandbox.typing_indicators(&shoes) >= 1,
        "typing:start while the agent thinks"
    );
}

#[tokio::test]
async fn an_unmapped_widget_is_answered_by_the_fallback_store_or_by_no_one() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let brand = app.sandbox.add_brand("Outlet");
    let unmapped = app.sandbox.add_web_widget(brand, "Outlet widget");

    // The app's first store has no widget: it is the account's fallback.
    let answered = visitor_asks(&app, &unmapped, "How long do refunds take?").await;
    let replies = app.bot_messages(&answered);
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[1].display_name.as_deref(), Some("Acme Assistant"));

    // Once every store has its own widget, nobody answers the unmapped one.
    let other_brand = app.sandbox.add_brand("Main");
    let main_widget = app.sandbox.add_web_widget(other_brand, "Main widget");
    deskmate_shared::state::WidgetRoutes::map_widget(
        app.state.as_ref(),
        &app.store.config,
        &main_widget,
    )
    .await
    .unwrap();
    let silent = visitor_asks(&app, &unmapped, "How long do refunds take?").await;
    assert!(
        app.bot_messages(&silent).is_empty(),
        "silence rather than the wrong brand"
    );
    let statuses: Vec<Option<u16>> = app
        .sandbox
        .deliveries()
        .iter()
        .filter(|d| d.endpoint.contains("/webhooks/conversations/"))
        .map(|d| d.status)
        .collect();
    assert!(statuses.iter().all(|s| *s == Some(200)), "{statuses:?}");
    assert_eq!(app.aws.queue_depth().await, 0);
}

#[tokio::test]
async fn business_messages_are_never_answered() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let (widget, _) = brand_store(&app, "Shoes", SHOES).await;
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.run_worker().await;
    app.sandbox
        .workspace_agent_says(&conversation, "Sam", "Can I get returns on these?");
    app.run_worker().await;

    assert_eq!(app.bot_messages(&conversation).len(), 1, "only the welcome");
    let answers: Vec<String> = app
        .sandbox
        .deliveries()
        .iter()
        .filter(|d| d.body.contains("\"business\"") && d.body.contains("Sam"))
        .map(|d| d.body.clone())
        .collect();
    assert_eq!(
        answers.len(),
        1,
        "the agent's message reached Deskmate, which ignored it"
    );
}

#[tokio::test]
async fn the_bot_is_silent_while_the_agent_workspace_is_in_control_and_resumes_after_the_ticket_is_closed()
 {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let (widget, _) = brand_store(&app, "Shoes", SHOES).await;
    let conversation = visitor_asks(&app, &widget, "I want to talk to a human please").await;

    assert_eq!(
        app.sandbox.in_control(&conversation).as_deref(),
        Some("zd-agentWorkspace")
    );
    // The new-ticket trigger hands the messaging ticket to the bot, which gives it back.
    app.run_worker().await;
    let ticket = app
        .sandbox
        .messaging_ticket(&conversation)
        .expect("a messaging ticket");
    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.channel, "native_messaging");
    assert_eq!(view.assignee_id, None, "unassigned, for a human to pick up");
    assert!(view.tags.contains(&"deskmate_escalated".to_owned()));
    let told = app.bot_messages(&conversation);
    assert!(
        told.last().unwrap().text.contains("passed your request"),
        "{told:?}"
    );

    app.sandbox
        .widget_visitor_says(&conversation, "Can I get returns on these?");
    app.run_worker().await;
    let before = app.bot_messages(&conversation).len();
    assert_eq!(
        before,
        told.len(),
        "silent while a human has the conversation"
    );

    app.sandbox.solve(app.agent, ticket);
    app.run_worker().await;
    // Solving the ticket releases control; the customer's next message wakes the bot.
    assert_eq!(app.sandbox.in_control(&conversation), None);
    app.sandbox
        .widget_visitor_says(&conversation, "Can I get returns on these?");
    assert_eq!(
        app.sandbox.in_control(&conversation).as_deref(),
        Some("deskmate")
    );
    app.run_worker().await;
    let after = app.bot_messages(&conversation);
    assert_eq!(after.len(), before + 1);
    assert!(after.last().unwrap().text.contains("30 days"));
}

#[tokio::test]
async fn a_new_conversation_gets_the_welcome_message_once() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let (widget, _) = brand_store(&app, "Shoes", SHOES).await;
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.sandbox.settle().await;
    let create = app.sandbox.deliveries().len() - 1;
    for _ in 0..4 {
        assert_eq!(app.sandbox.redeliver(create).await, 200);
    }
    app.run_worker().await;
    let worker_again = app.run_worker().await;
    assert!(worker_again.batch_item_failures.is_empty());

    let welcome = app.bot_messages(&conversation);
    assert_eq!(welcome.len(), 1);
    assert!(
        welcome[0].text.contains("virtual assistant"),
        "{}",
        welcome[0].text
    );
}

#[tokio::test]
async fn one_payload_with_several_events_is_handled_event_by_event() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let (widget, _) = brand_store(&app, "Shoes", SHOES).await;
    app.sandbox.hold_conversation_events();
    let first = app.sandbox.widget_visitor_opens(&widget, "Lee");
    let second = app.sandbox.widget_visitor_opens(&widget, "Kim");
    app.sandbox
        .widget_visitor_says(&first, "Can I get returns on these?");
    app.sandbox
        .widget_visitor_says(&second, "Can I get returns on these?");
    app.sandbox.flush_conversation_events();
    app.sandbox.settle().await;

    let payloads: Vec<_> = app
        .sandbox
        .deliveries()
        .into_iter()
        .filter(|d| d.endpoint.contains("/webhooks/conversations/"))
        .collect();
    assert_eq!(payloads.len(), 1, "one payload");
    let answer: serde_json::Value = serde_json::from_str(&payloads[0].body).unwrap();
    assert_eq!(answer["events"].as_array().unwrap().len(), 4);
    app.run_worker().await;
    for conversation in [&first, &second] {
        let replies = app.bot_messages(conversation);
        assert_eq!(
            replies.len(),
            1,
            "the customer already wrote: one answer, no welcome: {replies:?}"
        );
        assert!(replies[0].text.contains("30 days"));
    }
}

#[tokio::test]
async fn the_same_payload_five_times_and_the_same_job_on_two_workers_yield_one_reply() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let (widget, _) = brand_store(&app, "Shoes", SHOES).await;
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.run_worker().await;
    app.sandbox
        .widget_visitor_says(&conversation, "Can I get returns on these?");
    app.sandbox.settle().await;
    let message_delivery = app.sandbox.deliveries().len() - 1;
    for _ in 0..4 {
        assert_eq!(app.sandbox.redeliver(message_delivery).await, 200);
    }
    let messages = app.aws.receive_all().await;
    assert_eq!(messages.len(), 1, "four redeliveries were recognised");
    let event = deskmate_e2e_tests::sqs_event(messages.clone());
    let (first, second) = (app.worker(), app.worker());
    let (a, b) = tokio::join!(
        first.handle_batch(event.clone()),
        second.handle_batch(event)
    );
    // At most one worker found the other's live claim and kept the message for later.
    assert!(a.batch_item_failures.len() + b.batch_item_failures.len() <= 1);
    for response in [&a, &b] {
        app.aws
            .event_source()
            .acknowledge(&messages, response)
            .await;
    }
    app.run_worker().await;

    assert_eq!(
        app.bot_messages(&conversation).len(),
        2,
        "welcome and one answer"
    );
    assert_eq!(app.aws.queue_depth().await, 0);
}

#[tokio::test]
async fn a_burst_of_three_messages_gets_one_reply() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let (widget, _) = brand_store(&app, "Shoes", SHOES).await;
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.run_worker().await;
    app.sandbox.widget_visitor_says(&conversation, "Hi");
    app.sandbox
        .widget_visitor_says(&conversation, "I bought shoes last week");
    app.sandbox
        .widget_visitor_says(&conversation, "Can I get returns on these?");
    app.run_worker().await;

    let replies = app.bot_messages(&conversation);
    assert_eq!(replies.len(), 2, "welcome and one answer");
    let messages = app.sandbox.conversation_messages(&conversation);
    assert_eq!(
        messages.last().unwrap().author_type,
        "business",
        "the answer follows the burst"
    );
}

#[tokio::test]
async fn formatted_replies_are_sent_as_markdown_and_long_ones_are_split() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let (widget, _) = brand_store(&app, "Shoes", FORMATTED).await;
    let conversation = visitor_asks(&app, &widget, "Can I get returns on these?").await;
    let reply = app.bot_messages(&conversation).pop().unwrap();
    let markdown = reply.markdown_text.expect("sent as markdownText");
    assert!(
        markdown.contains("**free**")
            && markdown.contains("[our returns page](https://acme.test/returns)")
    );
    let html = reply.html_text.unwrap();
    assert!(html.contains("<strong>free</strong>"), "{html}");
    assert!(
        html.contains(r#"<a href="https://acme.test/returns">"#),
        "{html}"
    );
    assert!(html.contains("<li>Print the label</li>"), "{html}");

    let long_section = format!(
        "# Returns\n{}",
        "Returns take a while to process, thank you for waiting. ".repeat(180)
    );
    assert!(long_section.len() > 10_000);
    let (long_widget, _) = brand_store(&app, "Long", &long_section).await;
    let long = visitor_asks(&app, &long_widget, "Can I get returns on these?").await;
    let parts: Vec<_> = app.bot_messages(&long).into_iter().skip(1).collect();
    assert!(parts.len() >= 3, "{} parts", parts.len());
    for part in &parts {
        assert!(part.markdown_text.as_ref().unwrap().chars().count() < 4096);
        assert!(part.html_text.as_ref().unwrap().chars().count() <= 4096);
    }
}
