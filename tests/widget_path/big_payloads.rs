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

#[tokio::test]
async fn an_event_whose_id_cannot_be_recorded_is_ignored_and_the_others_are_taken() {
    let app = TestApp::spawn().await;
    let setup = app.enable_messaging().await;
    let message = |id: &str, conversation: &str| {
        serde_json::json!({"id": id, "type": "conversation:message", "payload": {
            "conversation": {"id": conversation, "type": "personal"},
            "message": {"id": format!("m{conversation}"), "author": {"type": "user"},
                "content": {"type": "text", "text": "Hi"},
                "source": {"type": "web", "integrationId": "65a1f0c2e4b0c1d2e3f4a500"}}}})
    };
    let payload = serde_json::json!({"events": [
        message(&"e".repeat(200), "65a1f0c2e4b0c1d2e3f4a501"),
        message("65a1f0c2e4b0c1d2e3f4a5ff", "65a1f0c2e4b0c1d2e3f4a502"),
    ]});
    let response = reqwest::Client::new()
        .post(app.conversations_url())
        .header("x-api-key", &setup.shared_secret)
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["events"][0]["status"], "ignored", "{answer}");
    assert!(
        answer["events"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("longer than 128")
    );
    assert_eq!(answer["events"][1]["status"], "queued", "{answer}");
}
