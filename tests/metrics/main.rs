//! The metrics a deployment sees: after a reply and a hand-off, the worker's flush writes
//! CloudWatch embedded-metric lines with the replies posted and the hand-off by reason, per
//! store. Its own test binary: the metrics recorder is global to a process.

use deskmate_e2e_tests::TestApp;
use serde_json::Value;

#[tokio::test]
async fn a_reply_and_a_hand_off_are_counted_per_store() {
    let collector =
        deskmate_shared::measures::install("reply-worker").expect("the recorder installs");
    let app = TestApp::spawn().await;
    let ticket = app.customer_emails("How long do refunds take?");
    app.run_worker().await;
    app.sandbox
        .comment(app.customer, ticket, "Let me talk to a human please.", true);
    app.run_worker().await;

    let mut written = Vec::new();
    collector
        .flush(&mut written)
        .expect("the metrics are written");
    let lines: Vec<Value> = String::from_utf8(written)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each metric line is JSON"))
        .collect();
    let store = app.store.config.id.as_str();
    let named = |metric: &str| {
        lines.iter().find(|line| {
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["Name"] == metric))
                && line["store"] == store
        })
    };
    let replies = named("RepliesPosted").expect("a RepliesPosted line for the store");
    assert_eq!(replies["RepliesPosted"], 1);
    assert_eq!(
        replies["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Deskmate"
    );
    let handoffs = named("Handoffs").expect("a Handoffs line for the store");
    assert_eq!(handoffs["Handoffs"], 1);
    assert_eq!(handoffs["reason"], "customer_asked");
    assert!(named("AgentLatency").is_some(), "{lines:?}");
}
