//! What Deskmate counts, as CloudWatch metrics in the embedded metric format: replies posted
//! and hand-offs by reason (per store), the agent's latency, Zendesk errors by class, dead
//! letters and customers left without a human. The functions' mains install the collector and
//! flush it to standard output after each invocation (CloudWatch Logs turns the lines into
//! metrics); elsewhere the counts go nowhere.

use std::time::Duration;

use metrics::{counter, histogram};
use metrics_cloudwatch_embedded::Collector;

use crate::domain::StoreId;

/// The CloudWatch namespace of every Deskmate metric.
pub const NAMESPACE: &str = "Deskmate";

/// Installs the collector for `function` (once per cold start).
pub fn install(function: &'static str) -> Option<&'static Collector> {
    match metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension("function", function)
        .init()
    {
        Ok(collector) => Some(collector),
        Err(err) => {
            tracing::warn!(error = %err, "metrics are off");
            None
        }
    }
}

/// Writes what was counted since the last flush as metric lines on standard output.
pub fn flush(collector: Option<&'static Collector>) {
    if let Some(collector) = collector
        && let Err(err) = collector.flush(std::io::stdout().lock())
    {
        tracing::warn!(error = %err, "metrics were not written");
    }
}

/// A job of `store` (empty when it has none) finished with the outcome named `outcome`
/// (`Outcome::kind`).
pub fn job_done(store: &str, outcome: &str) {
    let store = store.to_owned();
    match outcome {
        "replied" | "welcomed" => counter!("RepliesPosted", "store" => store).increment(1),
        "handed_back" => counter!("HandedBack", "store" => store).increment(1),
        _ => {}
    }
}

/// A hand-off was recorded (it then runs to its end, whoever finishes it).
pub fn handoff(store: &StoreId, reason: &str) {
    counter!("Handoffs", "store" => store.to_string(), "reason" => reason_kind(reason))
        .increment(1);
}

/// Why a human was needed, in a few words a dashboard can group by.
fn reason_kind(reason: &str) -> &'static str {
    if reason.starts_with("The AI agent failed") || reason.starts_with("The AI agent gave no") {
        "agent_failed"
    } else if reason.starts_with("Deskmate could not answer") {
        "dead_letter"
    } else if reason == crate::domain::CUSTOMER_ASKED {
        "customer_asked"
    } else {
        "agent_decided"
    }
}

pub fn agent_latency(store: &StoreId, took: Duration) {
    histogram!("AgentLatency", "store" => store.to_string()).record(took.as_secs_f64() * 1000.0);
}

/// Zendesk answered with an error (or not at all) after the client's own retries.
pub fn zendesk_error(class: &'static str) {
    counter!("ZendeskErrors", "class" => class).increment(1);
}

pub fn dead_lettered(store: &str) {
    counter!("DeadLetters", "store" => store.to_owned()).increment(1);
}

/// A thread could not be handed to a human at all (the alert).
pub fn unanswered(store: &str) {
    counter!("CustomersUnanswered", "store" => store.to_owned()).increment(1);
}

/// A bridge event never reached its caller's webhook (it waits in the session's log).
pub fn bridge_undelivered(account: &str) {
    counter!("BridgeUndelivered", "account" => account.to_owned()).increment(1);
}
