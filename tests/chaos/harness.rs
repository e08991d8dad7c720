//! The chaos world: one test app with scaled-down clocks, a worker that can be killed after
//! any Zendesk call, a drain loop that plays the Lambda event sources of the job queue and the
//! dead-letter queue until both are empty, and the checks of Deskmate's promises.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use deskmate_e2e_tests::{AwsResources, TestApp, sqs_event, worker_config};
use deskmate_shared::config::WorkerConfig;
use deskmate_shared::conversation_thread::{PART_KEY, REPLY_TO_KEY};
use deskmate_shared::domain::AgentSettings;
use deskmate_shared::failure::RetrySchedule;
use deskmate_shared::handoff::NOTE_HEADLINE;
use reply_worker::ReplyWorker;
use zendesk_sandbox::{Call, Fault, FaultRule};

/// How long a killed worker runs before it dies: past the call that hangs, never past the
/// client's own timeout.
const KILL_AFTER: Duration = Duration::from_millis(600);
/// Leases (claims, hand-offs) of the chaos world: longer than any live attempt takes on a
/// loaded machine (as 120 s outlasts the worker's 60 s timeout in production); a killed
/// worker's lease must run out before its message is retried.
const LEASE: Duration = Duration::from_secs(2);

/// What one run showed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub double_replies: usize,
    pub silent: bool,
    /// A hand-off whose summary note is missing or doubled.
    pub bad_note: bool,
}

pub struct Chaos {
    pub app: TestApp,
    pub config: WorkerConfig,
    /// Threads the dead-letter consumer could not hand to a human (each raised the alert).
    pub alerts: Arc<AtomicUsize>,
}

impl Chaos {
    /// A world whose app's first store (the email path's) answers with `agent`.
    pub async fn with_agent(agent: AgentSettings) -> Self {
        Self::around(
            TestApp::spawn_with(deskmate_e2e_tests::AppOptions {
                agent,
                ..Default::default()
            })
            .await,
        )
    }

    fn around(app: TestApp) -> Self {
        let mut config = worker_config(app.sandbox.base_url(), &app.aws);
        config.claim_lease = LEASE;
        config.http_timeout = Duration::from_secs(1);
        config.agent_timeout = Duration::from_millis(2_500);
        config.retries = RetrySchedule {
            first_retry: Duration::ZERO,
            max_retry: Duration::ZERO,
            human_within: Duration::from_secs(30),
        };
        Self {
            app,
            config,
            alerts: Arc::default(),
        }
    }

    pub fn worker(&self) -> ReplyWorker {
        self.app.worker_with(self.config.clone())
    }

    /// Plays both event sources until the job queue and the dead-letter queue are empty.
    pub async fn drain(&self) {
        let worker = self.worker();
        let mut dead_letters = self.app.dead_letter_consumer();
        dead_letters.failures.unanswered = self.alerts.clone();
        for _ in 0..200 {
            self.app.sandbox.settle().await;
            let jobs = self.app.aws.receive_all().await;
            let dead = AwsResources::receive_all_from(&self.app.aws.dead_letter_source()).await;
            if jobs.is_empty() && dead.is_empty() {
                let aws = &self.app.aws;
                if aws.depth_of(&aws.queue_url).await + aws.depth_of(&aws.dead_letter_url).await
                    == 0
                {
                    return;
                }
                // Messages waiting out a retry back-off.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let response = worker.handle_batch(sqs_event(jobs.clone())).await;
            self.app
                .aws
                .event_source()
                .acknowledge(&jobs, &response)
                .await;
            let dead_response = dead_letters.handle_batch(sqs_event(dead.clone())).await;
            self.app
                .aws
                .dead_letter_source()
                .acknowledge(&dead, &dead_response)
                .await;
            if !response.batch_item_failures.is_empty()
                || !dead_response.batch_item_failures.is_empty()
            {
                // Someone's lease is live (a killed worker's): let it run out.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!("the queues never drained");
    }

    /// Takes the jobs queued now and runs them on `workers` workers at once (SQS handing the
    /// same messages to several), each acknowledging what it finished; returns how many
    /// messages were left to retry in all.
    pub async fn run_on_workers(&self, workers: usize, reorder: bool) -> usize {
        self.app.sandbox.settle().await;
        let mut jobs = self.app.aws.receive_all().await;
        if reorder {
            jobs.reverse();
        }
        let workers: Vec<ReplyWorker> = (0..workers).map(|_| self.worker()).collect();
        let responses = futures::future::join_all(
            workers
                .iter()
                .map(|worker| worker.handle_batch(sqs_event(jobs.clone()))),
        )
        .await;
        let mut left = 0;
        for response in &responses {
            self.app
                .aws
                .event_source()
                .acknowledge(&jobs, response)
                .await;
            left += response.batch_item_failures.len();
        }
        left
    }

    /// Runs the queued jobs with a worker that dies right after the `nth` Zendesk call of the
    /// run (the call is done in Zendesk; its answer never arrives). The messages it held come
    /// back as after a Lambda timeout. Returns whether the worker got that far.
    pub async fn run_killed_after(&self, nth: usize) -> bool {
        self.app.sandbox.settle().await;
        let messages = self.app.aws.receive_all().await;
        self.app.sandbox.inject(FaultRule {
            call: Call::Any,
            skip: nth - 1,
            times: 1,
            fault: Fault::CommitThenTimeout { millis: 3_000 },
        });
        let worker = self.worker();
        let run =
            tokio::time::timeout(KILL_AFTER, worker.handle_batch(sqs_event(messages.clone())));
        let killed = match run.await {
            Err(_) => true,
            Ok(response) => {
                self.app
                    .aws
                    .event_source()
                    .acknowledge(&messages, &response)
                    .await;
                false
            }
        };
        self.app.sandbox.clear_faults();
        if killed {
            make_visible(&self.app, &messages).await;
            tokio::time::sleep(LEASE).await;
        }
        killed
    }

    pub fn inject(&self, call: Call, skip: usize, fault: Fault) {
        self.app.sandbox.inject(FaultRule {
            call,
            skip,
            times: 1,
            fault,
        });
    }

    /// The email promises on `ticket`: no two bot replies to one customer comment; the last
    /// customer comment answered, or the ticket with a human; a hand-off note exactly once.
    pub fn check_ticket(&self, ticket: u64) -> Verdict {
        let app = &self.app;
        let comments = app.sandbox.comments(ticket);
        let view = app.sandbox.ticket(ticket).expect("the ticket exists");
        let with_human = view.assignee_id != Some(app.bot);
        let last_public = comments.iter().rev().find(|c| c.public);
        Verdict {
            double_replies: answers_without_a_question(
                comments
                    .iter()
                    .filter(|c| c.public)
                    .map(|c| (c.author_id == app.customer, c.author_id == app.bot)),
            ),
            silent: !with_human && last_public.is_some_and(|c| c.author_id == app.customer),
            bad_note: note_missing_or_doubled(app, ticket),
        }
    }

    /// The widget promises on `conversation`: no part of a reply (or notice) posted twice;
    /// while Deskmate holds the conversation, the customer's last message is answered and no
    /// hand-off notice is left hanging; a messaging ticket carries the summary exactly once.
    pub fn check_conversation(&self, conversation: &str) -> Verdict {
        let app = &self.app;
        let messages = app.sandbox.conversation_messages(conversation);
        let mut verdict = Verdict::default();
        let mut seen = Vec::new();
        for message in &messages {
            let Some(meta) = &message.metadata else {
                continue;
            };
            let Some(reply_to) = meta.get(REPLY_TO_KEY).and_then(|v| v.as_str()) else {
                continue;
            };
            let part = meta.get(PART_KEY).and_then(|v| v.as_u64()).unwrap_or(1);
            let key = (reply_to.to_owned(), part);
            if seen.contains(&key) {
                verdict.double_replies += 1;
            }
            seen.push(key);
        }
        // A reply counts once here, by its first part (its parts are checked above).
        verdict.double_replies += answers_without_a_question(messages.iter().filter_map(|m| {
            let meta = m.metadata.as_ref();
            let ours = meta.is_some_and(|meta| meta.contains_key(REPLY_TO_KEY));
            let part = meta
                .and_then(|meta| meta.get(PART_KEY))
                .and_then(|v| v.as_u64());
            match (m.author_type == "user", ours, part.unwrap_or(1)) {
                (false, true, part) if part > 1 => None,
                (user, ours, _) => Some((user, ours)),
            }
        }));
        let deskmate_holds = app.sandbox.in_control(conversation).as_deref() == Some("deskmate");
        let last = messages.last();
        let customer_waits = last.is_some_and(|m| m.author_type == "user");
        let notice_hangs = seen
            .iter()
            .any(|(reply_to, _)| reply_to.starts_with("handoff:"));
        verdict.silent = deskmate_holds && (customer_waits || notice_hangs);
        if let Some(ticket) = app.sandbox.messaging_ticket(conversation) {
            verdict.bad_note = note_missing_or_doubled(app, ticket);
        }
        verdict
    }
}

/// Deskmate's answers given with no customer message since the last answer, its own or a
/// human's: a second reply to one message, or the bot talking over a human. Takes
/// `(customer wrote, bot wrote)` per message in order.
fn answers_without_a_question(messages: impl Iterator<Item = (bool, bool)>) -> usize {
    let mut doubles = 0;
    let mut answered = false;
    for (by_customer, by_bot) in messages {
        if by_customer {
            answered = false;
            continue;
        }
        if by_bot && answered {
            doubles += 1;
        }
        answered = true;
    }
    doubles
}

/// A ticket Deskmate handed off (it carries the escalation tag) has exactly one summary note;
/// no ticket has two.
fn note_missing_or_doubled(app: &TestApp, ticket: u64) -> bool {
    let notes = app
        .sandbox
        .comments(ticket)
        .iter()
        .filter(|c| !c.public && c.body.starts_with(NOTE_HEADLINE))
        .count();
    let handed_off = app
        .sandbox
        .ticket(ticket)
        .is_some_and(|t| t.tags.iter().any(|tag| tag == "deskmate_escalated"));
    (handed_off && notes != 1) || notes > 1
}

/// What SQS does when a consumer dies holding messages: they become visible again.
async fn make_visible(app: &TestApp, messages: &[SqsMessage]) {
    for message in messages {
        if let Some(handle) = &message.receipt_handle {
            app.aws
                .sqs
                .change_message_visibility()
                .queue_url(&app.aws.queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .expect("visibility changes");
        }
    }
}

/// Counts a scenario's runs and what they showed.
#[derive(Debug, Default)]
pub struct Row {
    pub scenario: String,
    pub runs: usize,
    pub double_replies: usize,
    pub silent: usize,
    pub bad_notes: usize,
    /// Runs where the customer could not be answered nor handed over, and the alert was raised.
    pub alerted: usize,
}

impl Row {
    pub fn new(scenario: impl Into<String>) -> Self {
        Self {
            scenario: scenario.into(),
            ..Self::default()
        }
    }

    pub fn add(&mut self, verdict: Verdict) {
        self.runs += 1;
        self.double_replies += verdict.double_replies;
        self.silent += usize::from(verdict.silent);
        self.bad_notes += usize::from(verdict.bad_note);
    }

    /// A silent customer is acceptable only when the alert was raised for them (Zendesk
    /// refused every credential Deskmate holds).
    pub fn add_alerted(&mut self, verdict: Verdict, chaos: &Chaos) {
        let alerts = chaos.alerts.swap(0, Ordering::SeqCst);
        if verdict.silent && alerts > 0 {
            self.alerted += 1;
            self.add(Verdict {
                silent: false,
                ..verdict
            });
        } else {
            self.add(verdict);
        }
    }

    pub fn clean(&self) -> bool {
        self.double_replies == 0 && self.silent == 0 && self.bad_notes == 0 && self.runs > 0
    }
}
