//! A job that fails on every attempt lands in the dead-letter queue (moto applies the redrive
//! policy), and the dead-letter consumer hands its customer to a human.

use aws_sdk_sqs::types::QueueAttributeName;
use deskmate_cli::local::SqsEventSource;
use deskmate_e2e_tests::{TestApp, sqs_event, unique_name};
use std::time::Duration;
use zendesk_sandbox::Fault;

#[tokio::test]
async fn a_ticket_job_that_keeps_failing_lands_in_the_dlq_and_is_escalated_with_a_note_saying_why()
{
    let app = TestApp::spawn().await;
    let sqs = &app.aws.sqs;
    // A job queue with a dead-letter queue after two receives, as template.yaml sets up (5 there).
    let dlq_url = sqs
        .create_queue()
        .queue_name(unique_name("dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let jobs_url = sqs
        .create_queue()
        .queue_name(unique_name("jobs"))
        .attributes(QueueAttributeName::VisibilityTimeout, "0")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}"#),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    let ticket = app.customer_emails("How long do refunds take?");
    app.sandbox.settle().await;
    let job = app.aws.receive_all().await.remove(0);
    sqs.send_message()
        .queue_url(&jobs_url)
        .message_body(job.body.clone().unwrap())
        .send()
        .await
        .unwrap();

    // Zendesk is down for the worker on every attempt.
    let jobs = SqsEventSource {
        client: sqs.clone(),
        queue_url: jobs_url.clone(),
    };
    let dead = SqsEventSource {
        client: sqs.clone(),
        queue_url: dlq_url.clone(),
    };
    let mut dead_lettered = Vec::new();
    for _ in 0..6 {
        let messages = jobs.receive(Duration::ZERO).await.unwrap();
        if !messages.is_empty() {
            app.sandbox
                .inject_faults(std::iter::repeat_n(Fault::Status { status: 503 }, 4));
            let response = app.worker().handle_batch(sqs_event(messages.clone())).await;
            assert_eq!(
                response.batch_item_failures.len(),
                1,
                "the failure is reported for a retry"
            );
            jobs.acknowledge(&messages, &response).await;
        }
        dead_lettered = dead.receive(Duration::ZERO).await.unwrap();
        if !dead_lettered.is_empty() {
            break;
        }
    }
    assert_eq!(
        dead_lettered.len(),
        1,
        "the job moved to the dead-letter queue"
    );
    assert!(
        app.public_replies_by_bot(ticket).is_empty(),
        "nobody has answered the customer yet"
    );

    let consumer = app.dead_letter_consumer();
    let response = consumer.handle_batch(sqs_event(dead_lettered)).await;
    assert!(response.batch_item_failures.is_empty());

    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.assignee_id, None);
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("dead-letter queue"),
        "{}",
        notes[0].body
    );
    assert!(notes[0].body.contains("failed"), "{}", notes[0].body);
    assert_eq!(
        app.public_replies_by_bot(ticket).len(),
        1,
        "the customer is told a person will answer"
    );
}

#[tokio::test]
async fn a_dead_lettered_widget_job_hands_the_conversation_to_a_human() {
    let app = TestApp::spawn().await;
    app.enable_messaging().await;
    let agent = deskmate_shared::domain::AgentSettings::Knowledge {
        knowledge_markdown: "# Returns\nFree.\n".into(),
    };
    let (widget, _) = app.brand_with_widget("Shoes", agent).await;
    let conversation = app.sandbox.widget_visitor_opens(&widget, "Lee");
    app.sandbox
        .widget_visitor_says(&conversation, "Where is my order?");
    app.sandbox.settle().await;
    // The message's job, as it would sit in the dead-letter queue after failing five times.
    let messages = app.aws.receive_all().await;
    let dead: Vec<_> = messages
        .into_iter()
        .filter(|m| {
            m.body
                .as_deref()
                .is_some_and(|b| b.contains("user_message"))
        })
        .collect();
    assert_eq!(dead.len(), 1);

    let consumer = app.dead_letter_consumer();
    assert!(
        consumer
            .handle_batch(sqs_event(dead))
            .await
            .batch_item_failures
            .is_empty()
    );
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
        notes[0].body.contains("dead-letter queue"),
        "{}",
        notes[0].body
    );
}
