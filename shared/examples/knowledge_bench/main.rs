//! Retrieval benchmark for the knowledge agent: a synthetic Help Center, customer questions
//! (typos, several questions at once, other words than the articles', and questions nothing
//! answers), scored at the shipped answer rule.
//!
//! `cargo run -p deskmate-shared --example knowledge_bench [--release] [-- --verbose | --sweep]`

mod held_out;
mod help_center;

use std::time::Instant;

use deskmate_shared::knowledge_index::{
    KnowledgeIndex, MARGIN_COVERAGE_SLACK, MIN_COVERAGE, MIN_MARGIN, MIN_SCORE, Passage, Verdict,
    article_passages,
};

const BASE: &str = "https://help.northwind.example/hc/en-us/articles";

fn url_of(id: usize, slug: &str) -> String {
    format!("{BASE}/{}-{slug}", 360_000 + id)
}

fn slug_of(url: &str) -> &str {
    url.rsplit('/')
        .next()
        .and_then(|last| last.split_once('-'))
        .map_or("", |(_, slug)| slug)
}

#[derive(Default)]
struct Tally {
    answerable: usize,
    unanswerable: usize,
    top1: usize,
    answered_right: usize,
    answerable_escalated: usize,
    wrong_topic: usize,
    unanswerable_escalated: usize,
}

fn run(
    index: &KnowledgeIndex,
    questions: &[help_center::Question],
    rule: (f64, f64, f64),
    verbose: bool,
) -> Tally {
    let mut tally = Tally::default();
    for question in questions {
        let expected = question.answers;
        let ranked = index.search(question.text);
        let top = ranked
            .first()
            .and_then(|hit| hit.passage.url.as_deref())
            .map(slug_of);
        let verdict = index.answer_with(question.text, rule.0, rule.1, rule.2);
        let answered = match &verdict {
            Verdict::Answer(hit) => hit.passage.url.as_deref().map(slug_of),
            Verdict::NoMatch { .. } => None,
        };
        let outcome;
        if expected.is_empty() {
            tally.unanswerable += 1;
            if answered.is_some() {
                tally.wrong_topic += 1;
                outcome = "WRONG (answered)";
            } else {
                tally.unanswerable_escalated += 1;
                outcome = "ok (escalated)";
            }
        } else {
            tally.answerable += 1;
            if top.is_some_and(|slug| expected.contains(&slug)) {
                tally.top1 += 1;
            }
            match answered {
                Some(slug) if expected.contains(&slug) => {
                    tally.answered_right += 1;
                    outcome = "ok";
                }
                Some(_) => {
                    tally.wrong_topic += 1;
                    outcome = "WRONG topic";
                }
                None => {
                    tally.answerable_escalated += 1;
                    outcome = "escalated";
                }
            }
        }
        if verbose {
            let detail = match &verdict {
                Verdict::Answer(hit) | Verdict::NoMatch { best: Some(hit) } => format!(
                    "{} (score {:.2}, coverage {:.2})",
                    hit.passage.title, hit.score, hit.coverage
                ),
                Verdict::NoMatch { best: None } => "-".into(),
            };
            println!(
                "{outcome:18} {:70} -> {detail}",
                question.text.chars().take(70).collect::<String>()
            );
        }
    }
    tally
}

fn percent(part: usize, whole: usize) -> String {
    format!("{:.1}%", 100.0 * part as f64 / whole.max(1) as f64)
}

fn main() {
    let verbose = std::env::args().any(|a| a == "--verbose");
    let sweep = std::env::args().any(|a| a == "--sweep");
    let articles = help_center::articles();
    let topics: std::collections::BTreeSet<&str> = articles.iter().map(|a| a.topic).collect();
    let started = Instant::now();
    let passages: Vec<Passage> = articles
        .iter()
        .enumerate()
        .flat_map(|(i, a)| article_passages(&a.title, &a.html, &url_of(i, &a.slug), a.topic))
        .collect();
    let passage_count = passages.len();
    let index = KnowledgeIndex::build(passages);
    let build = started.elapsed();
    let json = serde_json::to_string(&index).expect("the index serialises");
    let started = Instant::now();
    let index: KnowledgeIndex = serde_json::from_str(&json).expect("the index loads");
    let load = started.elapsed();

    if sweep {
        println!("| min score | min coverage | margin | top-1 answered right | wrong topic |");
        println!("|---|---|---|---|---|");
        for score in [0.5, 1.0, 2.0, 3.0, 4.0, 5.0] {
            for coverage in [0.3, 0.4, 0.5, 0.6] {
                for margin in [1.0, 1.1, 1.25, 1.4, 1.6] {
                    let t = run(
                        &index,
                        help_center::QUESTIONS,
                        (score, coverage, margin),
                        false,
                    );
                    println!(
                        "| {score} | {coverage} | {margin} | {} | {} |",
                        percent(t.answered_right, t.answerable),
                        t.wrong_topic
                    );
                }
            }
        }
        return;
    }

    let rule = (MIN_SCORE, MIN_COVERAGE, MIN_MARGIN);
    let started = Instant::now();
    let tally = run(&index, help_center::QUESTIONS, rule, verbose);
    let per_question = started.elapsed() / help_center::QUESTIONS.len() as u32;
    if verbose {
        println!("\nHeld-out questions (not used for tuning):");
    }
    let held_out = run(&index, held_out::HELD_OUT, rule, verbose);
    if verbose {
        println!();
    }

    println!(
        "Help Center: {} articles in {} topics, {passage_count} passages; index {} KB as JSON, built in {:.1} ms, loaded in {:.1} ms",
        articles.len(),
        topics.len(),
        json.len() / 1024,
        build.as_secs_f64() * 1000.0,
        load.as_secs_f64() * 1000.0,
    );
    println!(
        "Answer rule: score >= {MIN_SCORE}, coverage >= {MIN_COVERAGE}, margin over another topic >= {MIN_MARGIN} (one matching within {MARGIN_COVERAGE_SLACK} of the coverage)\n"
    );
    print_table(&tally);
    println!(
        "| time per question | {:.0} µs |",
        per_question.as_secs_f64() * 1e6
    );
    println!("\nHeld-out questions (`held_out.rs`; held-out, not used for tuning):\n");
    print_table(&held_out);
}

fn print_table(tally: &Tally) {
    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| questions | {} ({} answerable, {} that no article answers) |",
        tally.answerable + tally.unanswerable,
        tally.answerable,
        tally.unanswerable
    );
    println!(
        "| top-1 ranking right (answerable) | {}/{} ({}) |",
        tally.top1,
        tally.answerable,
        percent(tally.top1, tally.answerable)
    );
    println!(
        "| answered with the right article (answerable) | {}/{} ({}) |",
        tally.answered_right,
        tally.answerable,
        percent(tally.answered_right, tally.answerable)
    );
    println!(
        "| answerable but escalated | {} |",
        tally.answerable_escalated
    );
    println!(
        "| unanswerable and escalated | {}/{} |",
        tally.unanswerable_escalated, tally.unanswerable
    );
    println!("| wrong-topic answers | {} |", tally.wrong_topic);
}
