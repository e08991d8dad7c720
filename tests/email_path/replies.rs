use deskmate_e2e_tests::{AppOptions, TestApp};
use deskmate_shared::domain::AgentSettings;
use deskmate_shared::secrets::SecretVault;
use deskmate_shared::ticket_thread::{ESCALATED_TAG, HANDED_BACK_TAG};
use secrecy::SecretString;
use zendesk_sandbox::{Fault, Role};

#[tokio::test]
async fn a_new_ticket_gets_exactly_one_reply_authored_by_the_bot() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    let response = app.run_worker().await;

    assert!(response.batch_item_failures.is_empty());
    let deliveries = app.sandbox.deliveries();
    assert_eq!(
        deliveries.len(),
        1,
        "trigger 1 fires once, trigger 2 not at all"
    );
    assert_eq!(
        deliveries[0].status,
        Some(202),
        "the signed delivery is accepted"
    );
    let replies = app.public_replies_by_bot(ticket);
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0]
            .body
            .contains("Refunds reach your card in 5 days"),
        "{}",
        replies[0].body
    );
    assert!(
        replies[0]
            .html_body
            .contains("<strong>Returns and refunds</strong>"),
        "{}",
        replies[0].html_body
    );
    assert_eq!(
        app.sandbox.ticket(ticket).unwrap().assignee_id,
        Some(app.bot)
    );
    assert_eq!(app.aws.queue_depth().await, 0);
}

#[tokio::test]
async fn a_customer_follow_up_gets_exactly_one_more_reply() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    app.sandbox.comment(
        app.customer,
        ticket,
        "Thanks! Do you ship worldwide with tracking?",
        true,
    );
    app.run_worker().await;

    let replies = app.public_replies_by_bot(ticket);
    assert_eq!(replies.len(), 2);
    assert!(
        replies[1].body.contains("We ship worldwide"),
        "{}",
        replies[1].body
    );
    // The bot's own replies do not fire trigger 2: one delivery per customer message.
    assert_eq!(app.sandbox.deliveries().len(), 2);
}

#[tokio::test]
async fn the_same_webhook_delivered_five_times_yields_one_reply() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.sandbox.settle().await;
    for _ in 0..4 {
        assert_eq!(
            app.sandbox.redeliver(0).await,
            200,
            "a redelivery is acknowledged, not queued"
        );
    }
    assert_eq!(app.aws.queue_depth().await, 1);
    app.run_worker().await;
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);
}

#[tokio::test]
async fn the_same_job_run_by_two_workers_at_once_yields_one_reply() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.sandbox.settle().await;
    let messages = app.aws.receive_all().await;
    assert_eq!(messages.len(), 1);
    let (first, second) = (app.worker(), app.worker());
    let event = deskmate_e2e_tests::sqs_event(messages.clone());
    let (a, b) = tokio::join!(
        first.handle_batch(event.clone()),
        second.handle_batch(event)
    );

    // The worker that found the other's live claim keeps the message in the queue (it would
    // be lost if the first one failed); its redelivery finds the comment answered.
    assert!(a.batch_item_failures.len() + b.batch_item_failures.len() <= 1);
    for response in [&a, &b] {
        app.aws
            .event_source()
            .acknowledge(&messages, response)
            .await;
    }
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);
    app.run_worker().await;
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);
    assert_eq!(app.aws.queue_depth().await, 0);
}

#[tokio::test]
async fn a_job_redelivered_after_its_claim_was_lost_posts_no_second_reply() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.sandbox.settle().await;
    let messages = app.aws.receive_all().await;
    app.worker()
        .handle_batch(deskmate_e2e_tests::sqs_event(messages.clone()))
        .await;
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);

    // A worker that died after posting, before recording: no claim is left in the table.
    let customer_comment = app.sandbox.comments(ticket)[0].id;
    app.aws
        .dynamodb
        .delete_item()
        .table_name(&app.aws.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "THREAD#{}#ticket:{ticket}",
                app.store.config.id
            )),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CLAIM#{customer_comment}")),
        )
        .send()
        .await
        .unwrap();
    // SQS redelivers the same message.
    let response = app
        .worker()
        .handle_batch(deskmate_e2e_tests::sqs_event(messages))
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        app.public_replies_by_bot(ticket).len(),
        1,
        "Zendesk shows the reply was posted"
    );
}

#[tokio::test]
async fn an_agents_comment_gets_no_reply() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    app.sandbox.comment(
        app.agent,
        ticket,
        "Hi Maria, Sam here: I'm looking into it.",
        true,
    );
    app.sandbox.settle().await;
    assert_eq!(
        app.sandbox.deliveries().len(),
        1,
        "trigger 2 ignores agents' comments"
    );

    app.enqueue_ticket_job(ticket).await;
    app.run_worker().await;
    assert_eq!(
        app.public_replies_by_bot(ticket).len(),
        1,
        "only the first reply"
    );
}

#[tokio::test]
async fn a_ticket_reassigned_to_a_human_gets_no_reply() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    app.sandbox.assign(app.agent, ticket, Some(app.agent));
    app.sandbox
        .comment(app.customer, ticket, "And do you ship worldwide?", true);
    app.enqueue_ticket_job(ticket).await;
    app.run_worker().await;

    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);
    assert_eq!(
        app.sandbox.ticket(ticket).unwrap().assignee_id,
        Some(app.agent)
    );
}

#[tokio::test]
async fn an_agent_created_ticket_is_handed_back_to_its_creator_silently() {
    let app = TestApp::spawn().await;
    let ticket = app.sandbox.agent_creates_ticket(
        app.agent,
        app.customer,
        "Your order",
        "Hi Maria, your order is delayed by two days.",
    );
    app.run_worker().await;

    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.assignee_id, Some(app.agent));
    assert!(view.tags.contains(&HANDED_BACK_TAG.to_owned()));
    assert!(
        app.comments_by(ticket, app.bot).is_empty(),
        "no comment of any kind"
    );

    app.sandbox
        .comment(app.customer, ticket, "How long do refunds take?", true);
    app.enqueue_ticket_job(ticket).await;
    app.run_worker().await;
    assert!(app.comments_by(ticket, app.bot).is_empty());
}

#[tokio::test]
async fn asking_for_a_human_escalates_and_the_bot_then_stays_silent() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("My parcel is damaged, I want to talk to a human.");
    app.run_worker().await;

    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.assignee_id, None, "unassigned for a human to pick up");
    assert!(view.tags.contains(&ESCALATED_TAG.to_owned()));
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].author_id, app.bot);
    assert!(
        notes[0]
            .body
            .contains("Why: The customer asked to talk to a person."),
        "{}",
        notes[0].body
    );
    assert!(
        notes[0]
            .body
            .contains("Maria Customer <maria@example.test>"),
        "{}",
        notes[0].body
    );
    let notices = app.public_replies_by_bot(ticket);
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0]
            .body
            .contains("passed your request to our support team")
    );

    app.sandbox
        .comment(app.customer, ticket, "How long do refunds take?", true);
    app.enqueue_ticket_job(ticket).await;
    app.run_worker().await;
    assert_eq!(
        app.public_replies_by_bot(ticket).len(),
        1,
        "silent after escalation"
    );
    assert_eq!(app.internal_notes(ticket).len(), 1);
}

#[tokio::test]
async fn an_agent_outage_ends_in_an_escalation_whose_note_says_why() {
    let options = AppOptions {
        agent: AgentSettings::Openai {
            // Nothing listens on the discard port: every call is refused.
            base_url: "http://127.0.0.1:9/v1".into(),
            model: "gpt-test".into(),
            api_key_secret: "deskmate/test/openai-key".into(),
        },
        ..AppOptions::default()
    };
    let app = TestApp::spawn_with(options).await;
    app.secrets
        .put_secret("deskmate/test/openai-key", &SecretString::from("sk-test"))
        .await
        .unwrap();
    let ticket = app.customer_emails("How long do refunds take?");
    let response = app.run_worker().await;

    assert!(response.batch_item_failures.is_empty());
    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.assignee_id, None);
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("The AI agent failed"),
        "{}",
        notes[0].body
    );
    assert!(notes[0].body.contains("unavailable"), "{}", notes[0].body);
    assert!(
        !notes[0].body.contains("sk-test"),
        "no credential in the note"
    );
    assert_eq!(
        app.public_replies_by_bot(ticket).len(),
        1,
        "the customer is told"
    );
}

#[tokio::test]
async fn a_burst_of_customer_comments_gets_one_reply() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("Hello there.");
    app.sandbox
        .comment(app.customer, ticket, "How long do refunds take?", true);
    app.sandbox.comment(
        app.customer,
        ticket,
        "Also, is there a return window?",
        true,
    );
    app.sandbox.settle().await;
    assert_eq!(app.sandbox.deliveries().len(), 3);
    app.run_worker().await;

    let replies = app.public_replies_by_bot(ticket);
    assert_eq!(replies.len(), 1);
    assert!(replies[0].body.contains("30 days"), "{}", replies[0].body);
    let comments = app.sandbox.comments(ticket);
    assert_eq!(
        comments.last().unwrap().author_id,
        app.bot,
        "the reply comes after the burst"
    );
}

#[tokio::test]
async fn zendesk_rate_limits_and_errors_are_retried_without_double_posting() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.sandbox.settle().await;
    app.sandbox.inject_faults([
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Fault::Status { status: 503 },
    ]);
    let response = app.run_worker().await;

    assert!(response.batch_item_failures.is_empty());
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);
}

#[tokio::test]
async fn a_zendesk_outage_leaves_the_job_for_sqs_to_retry() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.sandbox.settle().await;
    app.sandbox
        .inject_faults(std::iter::repeat_n(Fault::Status { status: 503 }, 4));
    let response = app.run_worker().await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "reported for redelivery"
    );
    assert!(app.public_replies_by_bot(ticket).is_empty());

    // The message becomes visible again; this time Zendesk is back.
    app.aws
        .sqs
        .purge_queue()
        .queue_url(&app.aws.queue_url)
        .send()
        .await
        .unwrap();
    app.enqueue_ticket_job(ticket).await;
    let response = app.run_worker().await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);
}

/// A local OpenAI-compatible endpoint: refuses a wrong key, rate-limits the first call, then
/// answers with markdown — or with the escalation tool when the customer asks for a person.
async fn fake_chat_completions(
    requests: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
) -> String {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use serde_json::json;
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap, axum::Json(body): axum::Json<serde_json::Value>| {
            let requests = requests.clone();
            async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk-test") {
                    return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"message": "bad key"}})));
                }
                let first_call = {
                    let mut seen = requests.lock().unwrap();
                    seen.push(body.clone());
                    seen.len() == 1
                };
                if first_call {
                    return (StatusCode::TOO_MANY_REQUESTS, axum::Json(json!({"error": {"message": "slow down"}})));
                }
                let last = body["messages"].as_array().unwrap().last().unwrap()["content"].to_string();
                let message = if last.contains("human") {
                    json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "escalate_to_human",
                                     "arguments": "{\"summary\":\"Parcel damaged, wants a person\",\"reason\":\"Damaged goods need a human\"}"}}]})
                } else {
                    json!({"role": "assistant", "content": "**Hello** from the model. See [our policy](https://acme.test/policy)."})
                };
                (StatusCode::OK, axum::Json(json!({"id": "cmpl-1", "object": "chat.completion",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})))
            }
        }),
    );
    deskmate_cli::server::serve(app, "127.0.0.1:0")
        .await
        .unwrap()
}

#[tokio::test]
async fn the_openai_backend_answers_and_escalates_through_its_tool() {
    let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let base_url = fake_chat_completions(requests.clone()).await;
    let app = TestApp::spawn_with(AppOptions {
        agent: AgentSettings::Openai {
            base_url: format!("{base_url}/v1"),
            model: "gpt-test".into(),
            api_key_secret: "deskmate/test/openai-key".into(),
        },
        ..AppOptions::default()
    })
    .await;
    app.secrets
        .put_secret("deskmate/test/openai-key", &SecretString::from("sk-test"))
        .await
        .unwrap();

    let ticket = app.customer_emails("Where is my order?");
    app.run_worker().await;
    let replies = app.public_replies_by_bot(ticket);
    assert_eq!(replies.len(), 1, "one reply after the 429 was retried");
    assert!(
        replies[0].html_body.contains("<strong>Hello</strong>"),
        "{}",
        replies[0].html_body
    );
    {
        let seen = requests.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let request = &seen[1];
        assert_eq!(request["model"], "gpt-test");
        assert_eq!(request["tools"][0]["function"]["name"], "escalate_to_human");
        assert_eq!(request["messages"][1]["content"], "Where is my order?");
    }

    app.sandbox.comment(
        app.customer,
        ticket,
        "It arrived broken, I need a human.",
        true,
    );
    app.run_worker().await;
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("Why: Damaged goods need a human"),
        "{}",
        notes[0].body
    );
    assert!(
        notes[0]
            .body
            .contains("Summary: Parcel damaged, wants a person"),
        "{}",
        notes[0].body
    );
    assert_eq!(app.sandbox.ticket(ticket).unwrap().assignee_id, None);
}

#[tokio::test]
async fn a_requester_whose_name_has_quotes_is_answered() {
    let app = TestApp::spawn().await;
    // Zendesk pastes placeholders into the webhook body unescaped; Deskmate's body holds none
    // that could carry this name.
    let ana = app
        .sandbox
        .add_user("Ana \"the best\" O'Neil", "ana@example.test", Role::EndUser);
    let ticket =
        app.sandbox
            .customer_emails(ana, Some(app.brand), "Refunds", "How long do refunds take?");
    app.run_worker().await;

    let deliveries = app.sandbox.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(202), "{}", deliveries[0].body);
    let replies = app.public_replies_by_bot(ticket);
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0]
            .body
            .contains("Refunds reach your card in 5 days"),
        "{}",
        replies[0].body
    );
}

#[tokio::test]
async fn the_same_words_written_twice_get_two_replies() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    for _ in 0..2 {
        app.sandbox
            .comment(app.customer, ticket, "Do you ship worldwide?", true);
        app.run_worker().await;
    }
    let deliveries = app.sandbox.deliveries();
    assert_eq!(deliveries.len(), 3);
    assert!(
        deliveries.iter().all(|d| d.status == Some(202)),
        "every invocation is queued: {:?}",
        deliveries.iter().map(|d| d.status).collect::<Vec<_>>()
    );
    assert_eq!(app.public_replies_by_bot(ticket).len(), 3);
}
