//! Draft mode: the agent's answer becomes an internal draft note for a human, the ticket
//! leaves the bot, and the customer hears nothing from the bot.

use deskmate_e2e_tests::TestApp;
use deskmate_shared::domain::StoreMode;
use deskmate_shared::state::StoreDirectory;

#[tokio::test]
async fn a_draft_store_leaves_an_internal_note_and_hands_the_ticket_to_humans() {
    let app = TestApp::spawn().await;
    let mut store = app
        .state
        .store(&app.store.config.id)
        .await
        .unwrap()
        .unwrap();
    store.mode = StoreMode::Draft;
    store.escalation_group_id = Some(4242);
    app.state.save_store(&store).await.unwrap();
    let saved = app.state.store(&store.id).await.unwrap().unwrap();
    assert_eq!(saved.mode, StoreMode::Draft, "the mode is persisted");

    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;

    assert!(
        app.public_replies_by_bot(ticket).is_empty(),
        "nothing sent to the customer"
    );
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].author_id, app.bot);
    assert!(
        notes[0]
            .body
            .starts_with("Deskmate draft — review and send:"),
        "{}",
        notes[0].body
    );
    assert!(
        notes[0].body.contains("5 days"),
        "the agent's answer: {}",
        notes[0].body
    );
    let view = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(view.assignee_id, None, "the ticket left the bot");
    assert_eq!(view.group_id, Some(4242), "to the escalation group");

    // The same comment is answered once: a redelivered job changes nothing.
    app.enqueue_ticket_job(ticket).await;
    app.run_worker().await;
    assert_eq!(app.internal_notes(ticket).len(), 1);
    assert!(app.public_replies_by_bot(ticket).is_empty());
}

#[tokio::test]
async fn stores_saved_without_a_mode_answer_on_their_own() {
    let app = TestApp::spawn().await;
    assert_eq!(app.store.config.mode, StoreMode::Auto);
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    let replies = app.public_replies_by_bot(ticket);
    assert_eq!(replies.len(), 1);
    assert!(replies[0].body.contains("5 days"), "{}", replies[0].body);
}
