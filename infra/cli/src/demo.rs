//! A demo account: the sandbox with a brand, a bot agent, a human agent and a customer, and
//! a store connected to it with the knowledge agent. `deskmate demo` plays the email path on
//! it; `deskmate dev` serves it.

use std::fmt::Write as _;

use deskmate_shared::domain::{AgentSettings, StoreId};
use deskmate_shared::http_retry::RetryPolicy;
use deskmate_shared::zendesk::{SupportClient, http_client};
use secrecy::SecretString;
use zendesk_sandbox::{Role, Sandbox};

use crate::local::{LocalError, LocalStack, Services};
use crate::setup::{ConnectedStore, NewStore, SetupError, connect_store, install_email_path};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Setup(#[from] SetupError),
}

pub const DEMO_KNOWLEDGE: &str = include_str!("../demo/knowledge.md");
pub const DEMO_STORE: &str = "acme-shoes";

pub struct DemoAccount {
    pub sandbox: Sandbox,
    pub stack: std::sync::Arc<LocalStack>,
    pub store: ConnectedStore,
    pub customer: u64,
    pub human_agent: u64,
    /// A sandbox API token (any sandbox user's email may be used with it).
    pub sandbox_api_token: String,
}

impl DemoAccount {
    /// Starts the sandbox and Deskmate on `address`, connects the demo store and creates its
    /// Zendesk webhook and triggers in the sandbox.
    pub async fn start(address: &str, services: &Services) -> Result<Self, DemoError> {
        let sandbox = Sandbox::start().await;
        let brand = sandbox.add_brand("Acme Shoes");
        sandbox.add_user("Deskmate Bot", "bot@acme.example", Role::Agent);
        let human_agent = sandbox.add_user("Sam Rivera", "sam@acme.example", Role::Agent);
        let customer = sandbox.add_user("Maria Silva", "maria@example.com", Role::EndUser);
        let sandbox_api_token = sandbox.add_api_token();
        let api_token = SecretString::from(sandbox_api_token.clone());
        let stack =
            LocalStack::start(services, Some(sandbox.base_url().to_owned()), address).await?;
        let client = SupportClient::new(
            http_client(std::time::Duration::from_secs(10)),
            sandbox.base_url().to_owned(),
            "bot@acme.example",
            &api_token,
            RetryPolicy::default(),
        );
        let mut store = connect_store(
            stack.directory.as_ref(),
            stack.vault.as_ref(),
            &client,
            NewStore {
                id: StoreId::parse(DEMO_STORE).expect("valid id"),
                name: "Acme Shoes".into(),
                subdomain: "acme".into(),
                bot_email: "bot@acme.example".into(),
                api_token,
                brand_id: Some(brand),
                instructions: "You are Acme Shoes' friendly support assistant.".into(),
                display_name: "Acme Shoes Assistant".into(),
                agent: AgentSettings::Knowledge {
                    knowledge_markdown: DEMO_KNOWLEDGE.into(),
                },
            },
        )
        .await?;
        install_email_path(stack.directory.as_ref(), &client, &mut store, &stack.url).await?;
        Ok(Self {
            sandbox,
            stack: std::sync::Arc::new(stack),
            store,
            customer,
            human_agent,
            sandbox_api_token,
        })
    }

    /// Lets the triggers' webhooks arrive, then the worker answer them.
    pub async fn settle(&self) {
        self.sandbox.settle().await;
        self.stack.run_pending_jobs().await;
    }

    /// The ticket as the customer sees it (public comments) and as an agent sees it (notes too).
    pub fn transcript(&self, ticket_id: u64, from_comment: usize) -> String {
        let mut out = String::new();
        for comment in self.sandbox.comments(ticket_id).iter().skip(from_comment) {
            let author = self
                .sandbox
                .user(comment.author_id)
                .map_or_else(|| "someone".to_owned(), |u| u.name);
            let label = if comment.public {
                ""
            } else {
                " (internal note, agents only)"
            };
            let _ = writeln!(out, "  {author}{label}:");
            for line in comment.body.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        out
    }
}

/// Plays the email path end to end and returns the transcript.
pub async fn run_demo() -> Result<String, DemoError> {
    let demo = DemoAccount::start("127.0.0.1:0", &Services::InMemory).await?;
    let mut out =
        String::from("Deskmate demo: the email & ticket path, with the Zendesk sandbox\n\n");
    let customer = demo.customer;

    let ticket = demo.sandbox.customer_emails(
        customer,
        demo.store.config.brand_id,
        "Shipping to Portugal",
        "Hi! How long does shipping take to Portugal? I need tracking for my order.",
    );
    demo.settle().await;
    let _ = writeln!(
        out,
        "1. Maria emails support; Zendesk assigns ticket #{ticket} to the bot, which answers:\n"
    );
    out.push_str(&demo.transcript(ticket, 0));
    let mut seen = demo.sandbox.comments(ticket).len();

    demo.sandbox.comment(
        customer,
        ticket,
        "Great, thanks. And if the shoes don't fit, can I return them for a refund?",
        true,
    );
    demo.settle().await;
    out.push_str("\n2. Maria replies; the bot answers again from the knowledge file:\n\n");
    out.push_str(&demo.transcript(ticket, seen));
    seen = demo.sandbox.comments(ticket).len();

    demo.sandbox.comment(
        customer,
        ticket,
        "My parcel arrived damaged. I want to talk to a human, please.",
        true,
    );
    demo.settle().await;
    out.push_str("\n3. Maria asks for a person; the bot escalates:\n\n");
    out.push_str(&demo.transcript(ticket, seen));
    let view = demo.sandbox.ticket(ticket).expect("the ticket exists");
    let assignee = view
        .assignee_id
        .and_then(|id| demo.sandbox.user(id))
        .map_or_else(
            || "nobody (waiting in the queue for a human)".to_owned(),
            |u| u.name,
        );
    let _ = writeln!(
        out,
        "\nTicket #{ticket} is now assigned to {assignee}; tags: {}.",
        view.tags.join(", ")
    );
    Ok(out)
}
