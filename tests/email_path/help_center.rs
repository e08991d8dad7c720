//! Help Center sync: the knowledge agent answers from the brand's published, public articles
//! (citing them), and stops using an article once it is unpublished and synced again.

use deskmate_e2e_tests::TestApp;
use deskmate_shared::knowledge_sync::sync_store_knowledge;
use deskmate_shared::state::{KnowledgeIndexes, StoreDirectory};
use deskmate_shared::ticket_thread::ESCALATED_TAG;

struct Articles {
    portugal: u64,
    warranty: u64,
}

/// Eight articles (three pages at the sandbox's page size): six published and public, one
/// restricted to a user segment, one draft.
fn write_help_center(app: &TestApp) -> Articles {
    let brand = Some(app.brand);
    let portugal = app.sandbox.add_article(
        brand,
        "Shipping to Portugal",
        "<p>We send parcels to Portugal with a tracked courier.</p>\
         <h2>Delivery times</h2><p>Parcels to Portugal arrive in 3 to 5 business days.</p>",
        false,
        None,
    );
    app.sandbox.add_article(
        brand,
        "Gift cards",
        "<p>Gift cards are sold in amounts from 10 to 200 euros and never expire.</p>",
        false,
        None,
    );
    let warranty = app.sandbox.add_article(
        brand,
        "Watch warranty",
        "<p>Every watch carries a two-year warranty covering the movement and the strap clasp.</p>",
        false,
        None,
    );
    app.sandbox.add_article(
        brand,
        "Wholesale price list",
        "<p>Wholesale partners get 40 percent off the catalogue price on bulk orders.</p>",
        false,
        Some(7_700),
    );
    app.sandbox.add_article(
        brand,
        "Loyalty points",
        "<p>Loyalty points double on Fridays and buy vouchers at checkout.</p>",
        true,
        None,
    );
    app.sandbox.add_article(
        brand,
        "Changing your password",
        "<p>Open your account settings and choose a new password.</p>",
        false,
        None,
    );
    app.sandbox.add_article(
        brand,
        "Paying with PayPal",
        "<p>Choose PayPal at checkout; the payment is taken when the order ships.</p>",
        false,
        None,
    );
    app.sandbox.add_article(
        brand,
        "Store opening hours",
        "<p>Our Lisbon and Porto stores open Monday to Saturday, 10:00 to 20:00.</p>",
        false,
        None,
    );
    Articles { portugal, warranty }
}

async fn sync(app: &TestApp) -> deskmate_shared::knowledge_sync::SyncReport {
    let store = app
        .state
        .store(&app.store.config.id)
        .await
        .unwrap()
        .expect("the store is connected");
    sync_store_knowledge(&store, &app.support(), app.state.as_ref())
        .await
        .expect("the sync succeeds")
}

fn html_url(app: &TestApp, id: u64, slug: &str) -> String {
    format!("{}/hc/en-us/articles/{id}-{slug}", app.sandbox.base_url())
}

/// Asks `question` by email and returns the bot's public replies (text and HTML) and whether
/// it escalated.
async fn ask(app: &TestApp, question: &str) -> (Vec<String>, bool) {
    let ticket = app.customer_emails(question);
    let response = app.run_worker().await;
    assert!(response.batch_item_failures.is_empty());
    let replies = app
        .public_replies_by_bot(ticket)
        .into_iter()
        // The text, then the HTML (where the citation's link is).
        .map(|c| format!("{}\n{}", c.body, c.html_body))
        .collect();
    let escalated = app
        .sandbox
        .ticket(ticket)
        .unwrap()
        .tags
        .contains(&ESCALATED_TAG.to_owned());
    (replies, escalated)
}

#[tokio::test]
async fn answers_cite_the_synced_article_and_unpublished_ones_stop_being_used() {
    let app = TestApp::spawn().await;
    let articles = write_help_center(&app);

    let report = sync(&app).await;
    assert_eq!(
        report.articles, 6,
        "the draft and the restricted article are left out"
    );
    assert_eq!(
        report.markdown_sections, 2,
        "the store's markdown file is indexed too"
    );
    assert!(report.passages >= 8, "{report:?}");
    let pages = app
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path.contains("/help_center/en-us/articles"))
        .count();
    assert_eq!(pages, 3, "eight articles, three a page: every page is read");

    // Answered from the right article, with its html_url cited.
    let (replies, escalated) = ask(&app, "How long does delivery to Portugal take?").await;
    assert!(!escalated);
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0].contains("3 to 5 business days"),
        "{}",
        replies[0]
    );
    let portugal_url = html_url(&app, articles.portugal, "Shipping-to-Portugal");
    assert!(replies[0].contains(&portugal_url), "{}", replies[0]);

    // The markdown file still answers.
    let (replies, _) = ask(&app, "How long do refunds take?").await;
    assert!(
        replies[0].contains("Refunds reach your card in 5 days"),
        "{}",
        replies[0]
    );

    let (replies, escalated) = ask(&app, "What warranty does my watch have?").await;
    assert!(!escalated);
    assert!(replies[0].contains("two-year warranty"), "{}", replies[0]);
    assert!(replies[0].contains(&html_url(&app, articles.warranty, "Watch-warranty")));

    // Unpublished, then synced again: no longer used.
    assert!(app.sandbox.unpublish(articles.warranty));
    let report = sync(&app).await;
    assert_eq!(report.articles, 5);
    let (replies, escalated) = ask(&app, "What warranty does my watch have?").await;
    assert!(
        escalated || replies.iter().all(|r| !r.contains("two-year warranty")),
        "{replies:?}"
    );
    assert!(
        replies.iter().all(|r| !r.contains("two-year warranty")),
        "{replies:?}"
    );
    assert!(escalated, "nothing else answers it: {replies:?}");

    // Updated and synced again: the new text is used.
    assert!(app.sandbox.update_article(
        articles.portugal,
        "Shipping to Portugal",
        "<h2>Delivery times</h2><p>Parcels to Portugal now arrive in 2 business days.</p>",
    ));
    sync(&app).await;
    let (replies, _) = ask(&app, "How long does delivery to Portugal take?").await;
    assert!(replies[0].contains("2 business days"), "{}", replies[0]);
}

#[tokio::test]
async fn restricted_and_draft_articles_are_never_used() {
    let app = TestApp::spawn().await;
    write_help_center(&app);
    sync(&app).await;

    for (question, secret) in [
        (
            "Do wholesale partners get a discount on bulk orders?",
            "40 percent",
        ),
        ("How do loyalty points work?", "double on Fridays"),
    ] {
        let (replies, escalated) = ask(&app, question).await;
        assert!(
            replies.iter().all(|r| !r.contains(secret)),
            "{question}: {replies:?}"
        );
        assert!(escalated, "{question}: {replies:?}");
    }
    let stored = app
        .state
        .load_index(&app.store.config.id)
        .await
        .unwrap()
        .expect("an index was saved");
    assert!(
        stored
            .index
            .passages()
            .iter()
            .all(|p| !p.text.contains("40 percent") && !p.text.contains("double on Fridays"))
    );
}

#[tokio::test]
async fn a_store_without_a_sync_answers_from_its_markdown_and_deleting_it_removes_the_index() {
    let app = TestApp::spawn().await;
    write_help_center(&app);
    let (replies, _) = ask(&app, "How long do refunds take?").await;
    assert!(replies[0].contains("Refunds reach your card in 5 days"));
    // Not synced: the Help Center article is unknown to the bot, which says nothing from it.
    let (replies, _) = ask(&app, "How long does delivery to Portugal take?").await;
    assert!(replies.iter().all(|r| !r.contains("3 to 5 business days")));

    sync(&app).await;
    assert!(
        app.state
            .index_version(&app.store.config.id)
            .await
            .unwrap()
            .is_some()
    );
    app.state.delete_store(&app.store.config).await.unwrap();
    assert!(
        app.state
            .index_version(&app.store.config.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.state
            .load_index(&app.store.config.id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_scheduled_sync_rebuilds_the_index_of_every_knowledge_store() {
    let app = TestApp::spawn().await;
    let articles = write_help_center(&app);
    let config = deskmate_e2e_tests::worker_config(app.sandbox.base_url(), &app.aws);
    let scheduled = knowledge_sync::KnowledgeSync {
        stores: app.state.clone(),
        indexes: app.state.clone(),
        zendesk: std::sync::Arc::new(deskmate_shared::zendesk::ZendeskConnector::from_config(
            app.secrets.clone(),
            &config,
        )),
    };
    let summary = scheduled.run().await.expect("the scheduled sync succeeds");
    assert_eq!(
        summary["synced"][0]["store_id"],
        app.store.config.id.as_str()
    );
    let first = app.state.index_version(&app.store.config.id).await.unwrap();
    assert!(first.is_some(), "the store's index was saved");

    // The next run picks up an article unpublished since: it is no longer answered from.
    app.sandbox.unpublish(articles.warranty);
    scheduled.run().await.expect("the second run succeeds");
    let second = app.state.index_version(&app.store.config.id).await.unwrap();
    assert!(second > first, "a new version: {first:?} → {second:?}");
    let (_, escalated) = ask(&app, "What warranty does my watch have?").await;
    assert!(escalated, "the unpublished warranty article is not used");
}
