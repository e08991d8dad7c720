//! Deskmate answers Web Widgets only, and only those a store answers. A conversation it holds
//! but will not answer — WhatsApp, Telegram, a widget no store claims — is passed on to the
//! Agent Workspace at once, without a word: "silent" means someone else answers.

use deskmate_e2e_tests::TestApp;

#[tokio::test]
async fn other_channels_and_unanswered_widgets_held_by_deskmate_go_to_the_agent_workspace() {
    let app = TestApp::spawn().await;
    // This app's switchboard makes Deskmate the app-wide default (what an older `switchboard
    // register` did), so it holds every new conversation of every channel.
    app.enable_messaging().await;
    let shoes = app.sandbox.add_brand("Shoes");
    let widget = app.sandbox.add_web_widget(shoes, "Shoes widget");
    app.add_store("Shoes Assistant", "# Returns\n30 days.\n", Some(&widget))
        .await;
    // The app's own store would answer unclaimed widgets; map it away so none does.
    let outlet = app.sandbox.add_brand("Outlet");
    let claimed = app.sandbox.add_web_widget(outlet, "Outlet widget");
    app.add_store("Outlet Assistant", "# Returns\n14 days.\n", Some(&claimed))
        .await;
    use deskmate_shared::state::WidgetRoutes;
    app.state
        .map_widget(
            &app.store.config,
            &app.sandbox.add_web_widget(outlet, "Spare"),
        )
        .await
        .expect("the first store takes a widget of its own");
    let unclaimed = app.sandbox.add_web_widget(outlet, "Nobody's widget");
    let whatsapp = app.sandbox.add_channel("whatsapp", "WhatsApp");
    let telegram = app.sandbox.add_channel("telegram", "Telegram");

    let mut conversations = Vec::new();
    for channel in [&whatsapp, &telegram, &unclaimed] {
        let conversation = app.sandbox.widget_visitor_opens(channel, "Noor");
        app.sandbox
            .widget_visitor_says(&conversation, "Can I get returns on this?");
        conversations.push(conversation);
    }
    for _ in 0..3 {
        app.run_worker().await;
    }
    for conversation in &conversations {
        assert_eq!(
            app.sandbox.in_control(conversation).as_deref(),
            Some("zd-agentWorkspace"),
            "passed on to the Agent Workspace"
        );
        assert!(
            app.bot_messages(conversation).is_empty(),
            "no bot message where Deskmate does not answer"
        );
        let ticket = app
            .sandbox
            .messaging_ticket(conversation)
            .expect("the Agent Workspace opened a messaging ticket");
        assert!(
            app.sandbox
                .ticket(ticket)
                .unwrap()
                .tags
                .contains(&"deskmate_passed_on".to_owned()),
            "the messaging ticket says Deskmate passed it on"
        );
    }
}

#[tokio::test]
async fn a_person_writing_in_a_conversation_deskmate_holds_makes_it_step_back_silently() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let brand = app.sandbox.add_brand("Shoes");
    let widget = app.sandbox.add_web_widget(brand, "Shoes widget");
    app.add_store("Shoes Assistant", "# Returns\n30 days.\n", Some(&widget))
        .await;
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.run_worker().await;
    let welcomed = app.bot_messages(&conversation).len();
    // Someone at the company answers through another integration while Deskmate holds it.
    app.sandbox
        .workspace_agent_says(&conversation, "Sam", "Hi Lee, Sam here.");
    app.run_worker().await;
    assert_eq!(
        app.sandbox.in_control(&conversation).as_deref(),
        Some("zd-agentWorkspace")
    );
    app.sandbox
        .widget_visitor_says(&conversation, "Can I get returns on this?");
    app.run_worker().await;
    assert_eq!(
        app.bot_messages(&conversation).len(),
        welcomed,
        "the bot said nothing more, not even a hand-off notice"
    );
}

#[tokio::test]
async fn register_reaches_a_widget_past_the_first_page_of_integrations() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let brand = app.sandbox.add_brand("Many");
    let widgets: Vec<String> = (0..130)
        .map(|i| app.sandbox.add_web_widget(brand, &format!("Widget {i}")))
        .collect();
    let last = widgets.last().expect("130 widgets");
    app.add_store("Last Assistant", "# Returns\n30 days.\n", Some(last))
        .await;
    use deskmate_shared::state::WidgetRoutes;
    app.state
        .map_widget(&app.store.config, &widgets[0])
        .await
        .expect("the first store takes the first widget, so no store is the fallback");
    let stack = deskmate_cli::admin::Stack {
        table: app.aws.table.clone(),
        aws_endpoint: Some(deskmate_e2e_tests::aws_endpoint()),
        zendesk_url: Some(app.sandbox.base_url().to_owned()),
        api_url: app.deskmate_url.clone(),
    };
    deskmate_cli::admin::switchboard_register(&stack, &app.account)
        .await
        .expect("the switchboard is registered");
    assert_eq!(
        app.sandbox.default_responder_of(last).as_deref(),
        Some("deskmate"),
        "the 130th widget is on the second page (100 a page at most)"
    );
    assert_eq!(app.sandbox.default_responder_of(&widgets[1]), None);
}
