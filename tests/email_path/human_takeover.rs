//! The bot steps back as soon as a human replies: a public reply by an agent, by any route,
//! hands the ticket to that agent for good, without a word to the customer.

use deskmate_e2e_tests::TestApp;

#[tokio::test]
async fn after_a_human_replies_publicly_the_customers_next_message_is_theirs() {
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);

    // Sam answers from Zendesk while the ticket is still the bot's.
    app.sandbox.comment(
        app.agent,
        ticket,
        "Sam here: I've refunded you already.",
        true,
    );
    app.sandbox.comment(
        app.customer,
        ticket,
        "Thanks Sam! When will I see it?",
        true,
    );
    app.enqueue_ticket_job(ticket).await;
    app.run_worker().await;

    assert_eq!(
        app.public_replies_by_bot(ticket).len(),
        1,
        "no bot reply over the human"
    );
    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.assignee_id, Some(app.agent), "the ticket is Sam's now");
    assert!(
        app.internal_notes(ticket).is_empty(),
        "no hand-off note or notice: the human already has the customer"
    );
}
