//! The fault classes, each written once and played on both paths.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deskmate_e2e_tests::TestApp;
use deskmate_shared::domain::{AgentSettings, Thread};
use deskmate_shared::state::ReplyClaims;
use secrecy::SecretString;
use serde_json::json;
use zendesk_sandbox::{Call, Fault};

use crate::harness::{Chaos, Row, Verdict};

type Scenario = Pin<Box<dyn Future<Output = Row>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Email,
    Widget,
}

/// A long answer: three parts in the widget (Conversations caps a message at 4096 characters).
fn long_knowledge() -> String {
    let paragraph = "Shoes can be returned within **30 days** of delivery, unworn, in the box. ";
    format!(
        "# Returns\n{}\n\n# Shipping\nWe ship worldwide within 3 business days.\n",
        paragraph.repeat(120)
    )
}

const QUESTION: &str = "Can I get returns on these shoes?";
const WANTS_HUMAN: &str = "Please let me talk to a human.";

/// What a customer writes on: a ticket or a widget conversation.
#[derive(Clone, Debug)]
pub enum Customer {
    Ticket(u64),
    Conversation(String),
}

/// A chaos world on one path, with a store ready to answer it.
pub struct World {
    pub chaos: Chaos,
    pub path: Path,
    widget: Option<String>,
    tool_token: SecretString,
}

impl World {
    pub async fn new(path: Path) -> Self {
        Self::with_agent(path, None).await
    }

    /// A world whose store uses `agent` (an OpenAI-compatible server) instead of knowledge.
    pub async fn with_agent(path: Path, agent: Option<AgentSettings>) -> Self {
        let knowledge = AgentSettings::Knowledge {
            knowledge_markdown: long_knowledge(),
        };
        let chaos = Chaos::with_agent(match path {
            Path::Email => agent.clone().unwrap_or(knowledge.clone()),
            Path::Widget => knowledge.clone(),
        })
        .await;
        let mut tool_token = chaos.app.store.tool_token.clone();
        let mut widget = None;
        if path == Path::Widget {
            chaos.app.enable_messaging().await;
            let (id, store) = chaos
                .app
                .brand_with_widget("Shoes", agent.unwrap_or(knowledge))
                .await;
            tool_token = store.tool_token;
            widget = Some(id);
        }
        Self {
            chaos,
            path,
            widget,
            tool_token,
        }
    }

    fn app(&self) -> &TestApp {
        &self.chaos.app
    }

    /// A new customer writes `text` (a widget customer is welcomed first, before any fault).
    pub async fn customer_writes(&self, text: &str) -> Customer {
        match &self.widget {
            None => Customer::Ticket(self.app().customer_emails(text)),
            Some(widget) => {
                let conversation = self.app().sandbox.widget_visitor_opens(widget, "Lee");
                self.chaos.drain().await;
                self.app().sandbox.widget_visitor_says(&conversation, text);
                Customer::Conversation(conversation)
            }
        }
    }

    pub fn customer_writes_again(&self, customer: &Customer, text: &str) {
        let app = self.app();
        match customer {
            Customer::Ticket(ticket) => app.sandbox.comment(app.customer, *ticket, text, true),
            Customer::Conversation(id) => {
                app.sandbox.widget_visitor_says(id, text);
            }
        }
    }

    /// A human agent answers the customer: a public comment, or control taken in the
    /// Agent Workspace and a message there.
    pub async fn human_answers(&self, customer: &Customer) {
        let app = self.app();
        match customer {
            Customer::Ticket(ticket) => {
                app.sandbox
                    .comment(app.agent, *ticket, "Sam here, I'll take this one.", true)
            }
            Customer::Conversation(id) => {
                app.sandbox.agent_workspace_takes_over(id);
                app.sandbox
                    .workspace_agent_says(id, "Sam", "Sam here, I'll take this one.");
            }
        }
    }

    /// One run: a new customer writes `text`, `disturb` does its harm, the queues drain, and
    /// the promises are checked into `row`.
    pub async fn play(
        &self,
        row: &mut Row,
        text: &str,
        mut disturb: impl AsyncFnMut(&World, &Customer),
    ) -> Customer {
        let customer = self.customer_writes(text).await;
        disturb(self, &customer).await;
        self.chaos.drain().await;
        self.app().sandbox.clear_faults();
        row.add(self.check(&customer));
        customer
    }

    /// Whether the thread ended with a human (handed off, not answered by the bot).
    pub fn with_human(&self, customer: &Customer) -> bool {
        let app = self.app();
        match customer {
            Customer::Ticket(ticket) => app
                .sandbox
                .ticket(*ticket)
                .is_some_and(|t| t.tags.iter().any(|tag| tag == "deskmate_escalated")),
            Customer::Conversation(id) => {
                app.sandbox.in_control(id).as_deref() == Some("zd-agentWorkspace")
            }
        }
    }

    pub fn check(&self, customer: &Customer) -> Verdict {
        match customer {
            Customer::Ticket(ticket) => self.chaos.check_ticket(*ticket),
            Customer::Conversation(id) => self.chaos.check_conversation(id),
        }
    }

    pub fn thread(&self, customer: &Customer) -> Thread {
        match customer {
            Customer::Ticket(ticket) => Thread::Ticket(*ticket),
            Customer::Conversation(id) => Thread::Conversation(id.clone()),
        }
    }

    /// The newest customer message's id, as Deskmate claims it.
    pub fn newest_customer_message(&self, customer: &Customer) -> String {
        let app = self.app();
        match customer {
            Customer::Ticket(ticket) => app
                .sandbox
                .comments(*ticket)
                .iter()
                .rev()
                .find(|c| c.author_id == app.customer)
                .map(|c| c.id.to_string())
                .expect("the customer wrote"),
            Customer::Conversation(id) => app
                .sandbox
                .conversation_messages(id)
                .iter()
                .rev()
                .find(|m| m.author_type == "user")
                .map(|m| m.id.clone())
                .expect("the customer wrote"),
        }
    }

    pub async fn call_tool(&self, customer: &Customer) -> u16 {
        let body = match customer {
            Customer::Ticket(ticket) => json!({"ticket_id": ticket, "summary": "Wants a person."}),
            Customer::Conversation(id) => {
                json!({"conversation_id": id, "summary": "Wants a person."})
            }
        };
        self.app().call_tool(&self.tool_token, &body).await.0
    }

    async fn store_id(&self) -> deskmate_shared::domain::StoreId {
        match &self.widget {
            None => self.app().store.config.id.clone(),
            Some(widget) => widget_owner(self.app(), widget).await,
        }
    }

    /// The Zendesk calls a reply or a hand-off makes on this path, writes first.
    fn writes(&self) -> Vec<Call> {
        match self.path {
            Path::Email => vec![Call::UpdateTicket],
            Path::Widget => vec![Call::PostMessage, Call::PassControl, Call::UpdateTicket],
        }
    }

    fn calls(&self) -> Vec<Call> {
        let mut calls = self.writes();
        calls.extend(match self.path {
            Path::Email => vec![Call::ShowTicket, Call::ListComments],
            Path::Widget => vec![
                Call::GetConversation,
                Call::ListMessages,
                Call::PostActivity,
                Call::Search,
                Call::ShowTicket,
                Call::ListComments,
            ],
        });
        calls
    }
}

async fn widget_owner(app: &TestApp, widget: &str) -> deskmate_shared::domain::StoreId {
    use deskmate_shared::state::WidgetRoutes;
    app.state
        .widget_owner(&app.account, widget)
        .await
        .expect("state")
        .expect("the widget is mapped")
}

fn name(path: Path, what: &str) -> String {
    let path = match path {
        Path::Email => "email",
        Path::Widget => "widget",
    };
    format!("{path}: {what}")
}

pub fn all() -> Vec<Scenario> {
    let mut scenarios: Vec<Scenario> = Vec::new();
    for path in [Path::Email, Path::Widget] {
        scenarios.push(Box::pin(duplicates_and_reordering(path)));
        scenarios.push(Box::pin(concurrent_workers(path)));
        scenarios.push(Box::pin(claimed_by_a_worker_that_fails(path)));
        scenarios.push(Box::pin(killed_after_every_call(path, QUESTION, "a reply")));
        scenarios.push(Box::pin(killed_after_every_call(
            path,
            WANTS_HUMAN,
            "a hand-off",
        )));
        scenarios.push(Box::pin(commit_then_error_on_every_write(path)));
        scenarios.push(Box::pin(client_errors_and_garbage_on_every_call(path)));
        scenarios.push(Box::pin(revoked_credentials(path)));
        scenarios.push(Box::pin(agent_failures(path)));
        scenarios.push(Box::pin(slow_agent_within_budget(path)));
        scenarios.push(Box::pin(concurrent_handoffs(path)));
        scenarios.push(Box::pin(human_takes_over_while_agent_thinks(path)));
        scenarios.push(Box::pin(burst(path)));
        scenarios.push(Box::pin(failing_zendesk_reaches_a_human(path)));
    }
    scenarios
}

async fn duplicates_and_reordering(path: Path) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(path, "duplicates x5 and reordering"));
    for _ in 0..2 {
        let first_delivery = world.app().sandbox.deliveries().len();
        world
            .play(&mut row, QUESTION, async |world, customer| {
                let sandbox = &world.app().sandbox;
                world.customer_writes_again(customer, "And do you ship to Portugal?");
                sandbox.settle().await;
                // Every delivery of this customer's messages five times more, newest first,
                // and the jobs taken off the queue in reverse order.
                for index in (first_delivery..sandbox.deliveries().len()).rev() {
                    for _ in 0..5 {
                        sandbox.redeliver(index).await;
                    }
                }
                world.chaos.run_on_workers(1, true).await;
            })
            .await;
    }
    row
}

async fn concurrent_workers(path: Path) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(path, "concurrent workers with redelivery"));
    for _ in 0..3 {
        world
            .play(&mut row, QUESTION, async |world, _| {
                world.chaos.run_on_workers(3, false).await;
            })
            .await;
    }
    row
}

/// SQS hands a message to a second worker while the first holds its claim; the first then
/// fails. The second must leave the message in the queue, or nobody answers.
async fn claimed_by_a_worker_that_fails(path: Path) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(path, "same message on two workers, the first fails"));
    for _ in 0..2 {
        world
            .play(&mut row, QUESTION, async |world, customer| {
                let app = world.app();
                app.sandbox.settle().await;
                let store = world.store_id().await;
                let thread = world.thread(customer);
                let message = world.newest_customer_message(customer);
                // The first worker holds the claim...
                app.state
                    .claim_reply(
                        &store,
                        &thread,
                        &message,
                        "first-worker",
                        Duration::from_secs(60),
                    )
                    .await
                    .expect("claim");
                let left = world.chaos.run_on_workers(1, false).await;
                assert_eq!(left, 1, "the second worker keeps the message for later");
                // ...and fails, giving the claim back.
                app.state
                    .release_reply(&store, &thread, &message, "first-worker")
                    .await
                    .expect("release");
            })
            .await;
    }
    row
}

async fn killed_after_every_call(path: Path, text: &'static str, what: &str) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(
        path,
        &format!("worker killed after every call of {what}"),
    ));
    for nth in 1..=40 {
        let mut killed = false;
        world
            .play(&mut row, text, async |world, _| {
                killed = world.chaos.run_killed_after(nth).await;
            })
            .await;
        if !killed {
            // The run got past every call: every call before it killed a worker once.
            assert!(
                nth > 1,
                "the first Zendesk call of {what} must kill the worker"
            );
            break;
        }
    }
    row
}

async fn commit_then_error_on_every_write(path: Path) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(
        path,
        "commit-then-500 and commit-then-timeout on every write",
    ));
    for text in [QUESTION, WANTS_HUMAN] {
        for call in world.writes() {
            for skip in 0..3 {
                for fault in [
                    Fault::CommitThenStatus { status: 500 },
                    Fault::CommitThenTimeout { millis: 1_500 },
                ] {
                    world
                        .play(&mut row, text, async |world, _| {
                            world.chaos.inject(call, skip, fault.clone())
                        })
                        .await;
                }
            }
        }
    }
    row
}

async fn client_errors_and_garbage_on_every_call(path: Path) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(path, "4xx and garbage on every call"));
    let faults = [
        Fault::Status { status: 400 },
        Fault::Status { status: 403 },
        Fault::Status { status: 404 },
        Fault::Status { status: 413 },
        Fault::Status { status: 422 },
        Fault::Garbage,
    ];
    for text in [QUESTION, WANTS_HUMAN] {
        for call in world.calls() {
            for fault in &faults {
                world
                    .play(&mut row, text, async |world, _| {
                        world.chaos.inject(call, 0, fault.clone())
                    })
                    .await;
            }
        }
    }
    row
}

/// Zendesk refuses every credential: nobody can be reached, so the alert must be raised.
async fn revoked_credentials(path: Path) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(path, "revoked token (alert raised)"));
    let customer = world.customer_writes(QUESTION).await;
    world.app().sandbox.revoke_credentials();
    world.chaos.drain().await;
    assert!(
        world.chaos.alerts.load(Ordering::SeqCst) > 0,
        "nobody can be reached: the alert is raised"
    );
    row.add_alerted(world.check(&customer), &world.chaos);
    row
}

/// A local OpenAI-compatible server: answers after `delay` with `status`, counting calls.
async fn chat_completions(delay: Duration, status: u16, calls: Arc<AtomicUsize>) -> String {
    use axum::http::StatusCode;
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let status = StatusCode::from_u16(status).expect("a status");
                if !status.is_success() {
                    return (status, "upstream failed".to_owned());
                }
                let last = body["messages"].as_array().and_then(|m| m.last()).cloned();
                let message = if last.is_some_and(|m| m["content"].to_string().contains("human")) {
                    json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "escalate_to_human", "arguments": "{\"summary\":\"Wants a person\",\"reason\":\"Asked for a human\"}"}}]})
                } else {
                    json!({"role": "assistant", "content": "Returns are free within **30 days**."})
                };
                let answer = json!({"id": "c", "object": "chat.completion",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]});
                (StatusCode::OK, answer.to_string())
            }
        }),
    );
    let url = deskmate_cli::server::serve(app, "127.0.0.1:0")
        .await
        .expect("a loopback port");
    format!("{url}/v1")
}

async fn openai_world(path: Path, delay: Duration, status: u16) -> (World, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let base_url = chat_completions(delay, status, calls.clone()).await;
    let secret = format!("deskmate/chaos/{}", deskmate_e2e_tests::unique_name("key"));
    let agent = AgentSettings::Openai {
        base_url,
        model: "chaos".into(),
        api_key_secret: secret.clone(),
    };
    let world = World::with_agent(path, Some(agent)).await;
    use deskmate_shared::secrets::SecretVault;
    world
        .app()
        .secrets
        .put_secret(&secret, &SecretString::from("sk-chaos"))
        .await
        .expect("the key is stored");
    (world, calls)
}

async fn agent_failures(path: Path) -> Row {
    let mut row = Row::new(name(path, "agent fails (500, timeout)"));
    for (delay, status) in [(Duration::ZERO, 500), (Duration::from_secs(4), 200)] {
        let (world, _) = openai_world(path, delay, status).await;
        let customer = world.customer_writes(QUESTION).await;
        world.chaos.drain().await;
        row.add(world.check(&customer));
    }
    row
}

/// The agent takes about half its budget (12 s of 25 s in production; 1.2 s of 2.5 s here, with
/// a 1 s HTTP timeout): it is asked once and its answer is posted.
async fn slow_agent_within_budget(path: Path) -> Row {
    let (world, calls) = openai_world(path, Duration::from_millis(1_200), 200).await;
    let mut row = Row::new(name(path, "agent answers in half its budget"));
    let customer = world.customer_writes(QUESTION).await;
    world.chaos.drain().await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the agent was asked once");
    let replied = match &customer {
        Customer::Ticket(ticket) => world
            .app()
            .public_replies_by_bot(*ticket)
            .iter()
            .any(|c| c.html_body.contains("30 days")),
        Customer::Conversation(id) => world
            .app()
            .bot_messages(id)
            .iter()
            .any(|m| m.text.contains("30 days")),
    };
    assert!(replied, "the agent's answer was posted, not a hand-off");
    row.add(world.check(&customer));
    row
}

/// The tool twice and the worker at once: one hand-off, one notice, one note.
async fn concurrent_handoffs(path: Path) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(path, "concurrent hand-offs (tool x2 + worker)"));
    for _ in 0..3 {
        world
            .play(&mut row, WANTS_HUMAN, async |world, customer| {
                world.app().sandbox.settle().await;
                let (first, second, _) = tokio::join!(
                    world.call_tool(customer),
                    world.call_tool(customer),
                    world.chaos.run_on_workers(1, false)
                );
                assert_eq!((first, second), (200, 200));
            })
            .await;
    }
    row
}

async fn human_takes_over_while_agent_thinks(path: Path) -> Row {
    let (world, _) = openai_world(path, Duration::from_millis(800), 200).await;
    let mut row = Row::new(name(path, "a human takes over while the agent thinks"));
    world
        .play(&mut row, QUESTION, async |world, customer| {
            let human = async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                world.human_answers(customer).await;
            };
            tokio::join!(world.chaos.run_on_workers(1, false), human);
        })
        .await;
    row
}

async fn burst(path: Path) -> Row {
    let world = World::new(path).await;
    let mut row = Row::new(name(path, "a burst of messages"));
    for _ in 0..2 {
        world
            .play(&mut row, "Hi there", async |world, customer| {
                world.customer_writes_again(customer, QUESTION);
                world.customer_writes_again(customer, "Also, do you ship to Portugal?");
            })
            .await;
    }
    row
}

/// Zendesk keeps answering 503 to Deskmate's writes: the job is retried, then handed to a
/// human once it has failed for longer than the budget (3 minutes in production, scaled to
/// one second here).
async fn failing_zendesk_reaches_a_human(path: Path) -> Row {
    let mut world = World::new(path).await;
    world.chaos.config.retries = deskmate_shared::failure::RetrySchedule {
        first_retry: Duration::from_millis(200),
        max_retry: Duration::from_millis(200),
        human_within: Duration::from_secs(1),
    };
    let mut row = Row::new(name(path, "Zendesk failing for longer than the budget"));
    let customer = world
        .play(&mut row, QUESTION, async |world, _| {
            world.app().sandbox.inject(zendesk_sandbox::FaultRule {
                call: world.writes()[0],
                skip: 0,
                times: 8,
                fault: Fault::Status { status: 503 },
            });
        })
        .await;
    // The reply never got through: past the budget the job went the dead-letter way, and the
    // customer is with a human (not answered after all once the faults ran out).
    assert!(
        world.with_human(&customer),
        "the customer reached a human through the dead-letter path"
    );
    row
}
