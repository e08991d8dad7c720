//! Help Center sync: the knowledge agent answers from the brand's published, public articles
//! (citing them), and stops using an article once it is unpublished and synced again. Each
//! brand has its own Help Center on its own host, and a store reads only its brand's.

use deskmate_e2e_tests::TestApp;
use deskmate_shared::domain::{AgentSettings, StoreConfig};
use deskmate_shared::knowledge_sync::{SyncReport, sync_store_knowledge};
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

async fn sync(app: &TestApp) -> SyncReport {
    sync_store(app, &app.store.config).await
}

async fn sync_store(app: &TestApp, store: &StoreConfig) -> SyncReport {
    let store = app
        .state
        .store(&store.id)
        .await
        .unwrap()
        .expect("the store is connected");
    sync_store_knowledge(&store, &app.support(), app.state.as_ref())
        .await
        .expect("the sync succeeds")
}

/// An article's link on its brand's Help Center host.
fn html_url_of(app: &TestApp, brand: u64, id: u64, slug: &str) -> String {
    let subdomain = app
        .sandbox
        .brand_subdomain(brand)
        .expect("the brand exists");
    format!("https://{subdomain}.zendesk.com/hc/en-us/articles/{id}-{slug}")
}

fn html_url(app: &TestApp, id: u64, slug: &str) -> String {
    html_url_of(app, app.brand, id, slug)
}

/// Asks `question` by email and returns the bot's public replies (text and HTML) and whether
/// it escalated.
async fn ask(app: &TestApp, question: &str) -> (Vec<String>, bool) {
    ask_brand(app, app.brand, question).await
}

/// [`ask`], emailing `brand`'s support address.
async fn ask_brand(app: &TestApp, brand: u64, question: &str) -> (Vec<String>, bool) {
    let subject: String = question.chars().take(40).collect();
    let ticket = app
        .sandbox
        .customer_emails(app.customer, Some(brand), &subject, question);
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

const OUTLET_KNOWLEDGE: &str =
    "# Outlet returns\nOutlet items can be exchanged within 14 days for store credit.\n";

/// A second store of the account answering its own brand by email.
async fn brand_store(app: &TestApp, name: &str, brand: Option<u64>) -> StoreConfig {
    let agent = AgentSettings::Knowledge {
        knowledge_markdown: OUTLET_KNOWLEDGE.into(),
    };
    let mut store = app
        .add_store_with(&format!("{name} Assistant"), agent, None, brand)
        .await;
    deskmate_cli::setup::install_email_path(
        app.state.as_ref(),
        &app.support(),
        &mut store,
        &app.deskmate_url,
    )
    .await
    .expect("the store's webhook and triggers are created");
    store.config
}

/// The texts of the passages in the store's saved index.
async fn indexed_texts(app: &TestApp, store: &StoreConfig) -> Vec<String> {
    let stored = app
        .state
        .load_index(&store.id)
        .await
        .unwrap()
        .expect("an index was saved");
    stored
        .index
        .passages()
        .iter()
        .map(|p| p.text.clone())
        .collect()
}

#[tokio::test]
async fn each_brands_store_syncs_and_cites_only_its_own_brands_help_center() {
    let app = TestApp::spawn().await;
    let acme_portugal = app.sandbox.add_article(
        Some(app.brand),
        "Shipping to Portugal",
        "<p>Parcels to Portugal arrive in 3 to 5 business days.</p>",
        false,
        None,
    );
    let outlet = app.sandbox.add_brand("Acme Outlet");
    let outlet_portugal = app.sandbox.add_article(
        Some(outlet),
        "Shipping to Portugal",
        "<p>Outlet parcels to Portugal arrive in 7 to 10 business days.</p>",
        false,
        None,
    );
    app.sandbox.add_article(
        Some(outlet),
        "Outlet gift wrapping",
        "<p>Outlet orders are never gift wrapped.</p>",
        false,
        None,
    );
    app.sandbox.add_article(
        Some(outlet),
        "Outlet staff discount",
        "<p>Staff get 60 percent off outlet prices.</p>",
        false,
        Some(7_700),
    );
    let outlet_store = brand_store(&app, "Outlet", Some(outlet)).await;

    let report = sync_store(&app, &outlet_store).await;
    assert_eq!(
        report.help_center.as_deref(),
        Some("acme-outlet.zendesk.com"),
        "{report:?}"
    );
    assert_eq!(report.articles, 2, "the outlet's public articles only");
    assert_eq!(report.markdown_sections, 1);
    let texts = indexed_texts(&app, &outlet_store).await;
    assert!(texts.iter().any(|t| t.contains("7 to 10 business days")));
    assert!(
        texts.iter().all(|t| !t.contains("3 to 5 business days")),
        "nothing of the default brand's Help Center: {texts:?}"
    );
    let brand_reads = app
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path == format!("/api/v2/brands/{outlet}"))
        .count();
    assert_eq!(brand_reads, 1, "the store's brand is looked up once");

    let report = sync(&app).await;
    assert_eq!(report.help_center.as_deref(), Some("acme.zendesk.com"));
    assert_eq!(report.articles, 1, "the default brand's article only");
    let texts = indexed_texts(&app, &app.store.config).await;
    assert!(
        texts
            .iter()
            .all(|t| !t.contains("7 to 10") && !t.contains("gift wrapped")),
        "{texts:?}"
    );

    // Each brand's customer is answered from, and pointed to, its own brand's Help Center.
    let (replies, escalated) =
        ask_brand(&app, outlet, "How long does delivery to Portugal take?").await;
    assert!(!escalated, "{replies:?}");
    assert_eq!(replies.len(), 1);
    assert!(
        replies[0].contains("7 to 10 business days"),
        "{}",
        replies[0]
    );
    let outlet_url = html_url_of(&app, outlet, outlet_portugal, "Shipping-to-Portugal");
    assert!(
        outlet_url.starts_with("https://acme-outlet.zendesk.com/hc/"),
        "{outlet_url}"
    );
    assert!(replies[0].contains(&outlet_url), "{}", replies[0]);

    let (replies, escalated) = ask(&app, "How long does delivery to Portugal take?").await;
    assert!(!escalated, "{replies:?}");
    assert!(
        replies[0].contains("3 to 5 business days"),
        "{}",
        replies[0]
    );
    assert!(
        replies[0].contains(&html_url(&app, acme_portugal, "Shipping-to-Portugal")),
        "{}",
        replies[0]
    );
    assert!(!replies[0].contains("acme-outlet"), "{}", replies[0]);
}

#[tokio::test]
async fn a_brand_without_a_help_center_syncs_only_the_markdown() {
    let app = TestApp::spawn().await;
    let gifts = app.sandbox.add_brand("Acme Gifts");
    app.sandbox.add_article(
        Some(gifts),
        "Gift wrapping",
        "<p>Every gift is wrapped in recycled paper.</p>",
        false,
        None,
    );
    assert!(app.sandbox.set_help_center(gifts, false));
    app.sandbox.add_article(
        Some(app.brand),
        "Store opening hours",
        "<p>Our stores open Monday to Saturday, 10:00 to 20:00.</p>",
        false,
        None,
    );
    let store = brand_store(&app, "Gifts", Some(gifts)).await;

    let before = app.sandbox.requests().len();
    let report = sync_store(&app, &store).await;
    assert_eq!(report.help_center, None, "{report:?}");
    assert_eq!(report.articles, 0);
    assert_eq!(report.markdown_sections, 1);
    assert_eq!(report.passages, 1);
    let asked_articles = app.sandbox.requests()[before..]
        .iter()
        .any(|r| r.path.contains("/help_center/"));
    assert!(!asked_articles, "no Help Center to read");
    let texts = indexed_texts(&app, &store).await;
    assert!(
        texts
            .iter()
            .all(|t| !t.contains("opening hours") && !t.contains("10:00")),
        "not the default brand's Help Center either: {texts:?}"
    );

    let (replies, escalated) = ask_brand(&app, gifts, "Can I exchange outlet items?").await;
    assert!(!escalated, "{replies:?}");
    assert!(replies[0].contains("store credit"), "{}", replies[0]);
}

#[tokio::test]
async fn a_store_without_a_brand_reads_the_accounts_help_center() {
    let app = TestApp::spawn().await;
    app.sandbox.add_article(
        Some(app.brand),
        "Store opening hours",
        "<p>Our stores open Monday to Saturday, 10:00 to 20:00.</p>",
        false,
        None,
    );
    let outlet = app.sandbox.add_brand("Acme Outlet");
    app.sandbox.add_article(
        Some(outlet),
        "Outlet gift wrapping",
        "<p>Outlet orders are never gift wrapped.</p>",
        false,
        None,
    );
    let brandless = app
        .add_store_with(
            "Acme Everywhere",
            AgentSettings::Knowledge {
                knowledge_markdown: OUTLET_KNOWLEDGE.into(),
            },
            None,
            None,
        )
        .await
        .config;

    let report = sync_store(&app, &brandless).await;
    assert_eq!(
        report.help_center,
        Some(format!("{}.zendesk.com", app.account)),
        "the account's host"
    );
    assert_eq!(report.articles, 1, "the default brand's Help Center");
    let texts = indexed_texts(&app, &brandless).await;
    assert!(texts.iter().any(|t| t.contains("10:00 to 20:00")));
    assert!(
        texts.iter().all(|t| !t.contains("gift wrapped")),
        "{texts:?}"
    );
    let brand_reads = app
        .sandbox
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/api/v2/brands/"));
    assert!(!brand_reads, "no brand to look up");
}
