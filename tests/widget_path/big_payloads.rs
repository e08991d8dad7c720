//! A payload with many events (Zendesk sends them together under load) is taken in batches:
//! its jobs travel packed in a few messages, and every customer still gets one answer.

use deskmate_e2e_tests::TestApp;

#[tokio::test]
async fn twelve_conversations_in_one_payload_are_each_answered_once() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let brand = app.sandbox.add_brand("Shoes");
    let widget = app.sandbox.add_web_widget(brand, "Shoes widget");
    app.add_store(
        "Shoes Assistant",
        "# Returns\nShoes go back within 30 days.\n",
        Some(&widget),
    )
    .await;
    app.sandbox.hold_conversation_events();
    let conversations: Vec<String> = (0..12)
        .map(|i| {
            let conversation = app
                .sandbox
                .widget_visitor_opens(&widget, &format!("Visitor {i}"));
            app.sandbox
                .widget_visitor_says(&conversation, "Can I get returns on these?");
            conversation
        })
        .collect();
    app.sandbox.flush_conversation_events();
    app.sandbox.settle().await;
    let messages = app.aws.receive_all().await;
    assert!(
        messages.len() < 24,
        "24 events' jobs travel packed: {} messages",
        messages.len()
    );
    let response = app
        .worker()
        .handle_batch(deskmate_e2e_tests::sqs_event(messages.clone()))
        .await;
    app.aws
        .event_source()
        .acknowledge(&messages, &response)
        .await;
    app.run_worker().await;
    for conversation in &conversations {
        let replies = app.bot_messages(conversation);
        assert_eq!(
            replies.len(),
            1,
            "one answer (the customer wrote before the welcome)"
        );
        assert!(replies[0].text.contains("30 days"), "{}", replies[0].text);
    }
}
