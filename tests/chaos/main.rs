//! The chaos suite: Deskmate's promises — exactly one reply per customer message, no customer
//! left without a reply or a human, every hand-off with exactly one summary note — under the
//! faults a hostile operator injects: duplicate and reordered deliveries, concurrent workers,
//! workers killed after any Zendesk call, writes that commit and then fail or time out, 4xx
//! and garbage answers, a revoked token, failing and slow agents, concurrent hand-offs, a
//! human taking over mid-thought, bursts. Both paths, every scenario on its own app (table,
//! queues, sandbox), with the clocks scaled down.
//!
//! One test runs every scenario and prints one summary table; it fails on any row with a
//! double reply, a silent customer or a hand-off without exactly one note.

mod harness;
mod scenarios;

use std::io::Write;

use futures::StreamExt;
use harness::Row;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deskmate_keeps_its_promises_under_faults() {
    let rows: Vec<Row> = futures::stream::iter(scenarios::all())
        .buffer_unordered(6)
        .collect()
        .await;
    let mut rows = rows;
    rows.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    let table = render(&rows);
    // Straight to the terminal: the summary is the suite's report, not test chatter.
    let _ = std::io::stdout().write_all(table.as_bytes());
    let _ = std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/chaos-summary.txt"),
        &table,
    );
    let broken: Vec<&str> = rows
        .iter()
        .filter(|row| !row.clean())
        .map(|row| row.scenario.as_str())
        .collect();
    assert!(broken.is_empty(), "promises broken in: {broken:?}\n{table}");
}

fn render(rows: &[Row]) -> String {
    let width = rows
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut table = format!(
        "\nchaos suite\n{:<width$} | runs | double replies | silent customers | hand-offs without exactly one note | alerts raised\n",
        "scenario"
    );
    table.push_str(&format!("{}\n", "-".repeat(width + 86)));
    for row in rows {
        table.push_str(&format!(
            "{:<width$} | {:>4} | {:>14} | {:>16} | {:>34} | {:>13}\n",
            row.scenario, row.runs, row.double_replies, row.silent, row.bad_notes, row.alerted
        ));
    }
    table
}
