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
use crate::setup::{
    ConnectedStore, ConversationsCredentials, NewStore, SetupError, connect_conversations,
    connect_store, install_email_path,
};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Setup(#[from] SetupError),
}

pub const DEMO_KNOWLEDGE: &str = include_str!("../demo/knowledge.md");
pub const BAGS_KNOWLEDGE: &str = include_str!("../demo/knowledge-bags.md");
pub const DEMO_STORE: &str = "acme-shoes";
pub const DEMO_ACCOUNT: &str = "acme";

pub struct DemoAccount {
    pub sandbox: Sandbox,
    pub stack: std::sync::Arc<LocalStack>,
    /// Acme Shoes, with its Zendesk webhook and triggers installed in the sandbox.
    pub store: ConnectedStore,
    /// Acme Bags, a second brand's store on the same account (the Web Widget only).
    pub bags: ConnectedStore,
    /// The account's Conversations integration for Deskmate and its shared secret.
    pub conversations_integration: String,
    pub conversations_shared_secret: String,
    pub customer: u64,
    pub human_agent: u64,
    /// A sandbox API token (any sandbox user's email may be used with it).
    pub sandbox_api_token: String,
    /// The Acme Shoes and Acme Bags web widgets.
    pub widgets: [String; 2],
}

impl DemoAccount {
    /// Starts the sandbox and Deskmate on `address`, connects the demo store and creates its
    /// Zendesk webhook and triggers in the sandbox.
    pub async fn start(address: &str, services: &Services) -> Result<Self, DemoError> {
        Self::on_sandbox(Sandbox::start().await, address, services).await
    }

    /// The demo account in a sandbox already running (e.g. from
    /// [`start_sandbox`](crate::sandbox::start_sandbox)), with Deskmate on `address`.
    pub async fn on_sandbox(
        sandbox: Sandbox,
        address: &str,
        services: &Services,
    ) -> Result<Self, DemoError> {
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
            stack.ports.stores.as_ref(),
            stack.ports.vault.as_ref(),
            &client,
            NewStore {
                id: StoreId::parse(DEMO_STORE).expect("valid id"),
                name: "Acme Shoes".into(),
                subdomain: DEMO_ACCOUNT.into(),
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
        install_email_path(stack.ports.stores.as_ref(), &client, &mut store, &stack.url).await?;

        // The Web Widget: one Conversations integration for the account, a widget per brand,
        // and a second store (another brand) on the same account.
        let keys = sandbox.enable_messaging();
        let (integration_id, shared_secret) = sandbox.add_conversations_integration(
            "Deskmate",
            &format!("{}/webhooks/conversations/{DEMO_ACCOUNT}", stack.url),
            &[
                "conversation:message",
                "conversation:create",
                "switchboard:passControl",
                "switchboard:releaseControl",
            ],
        );
        sandbox.make_default_responder(&integration_id, "deskmate");
        connect_conversations(
            stack.ports.accounts.as_ref(),
            stack.ports.vault.as_ref(),
            ConversationsCredentials {
                subdomain: DEMO_ACCOUNT.into(),
                app_id: keys.app_id,
                key_id: keys.key_id,
                key_secret: SecretString::from(keys.key_secret),
                integration_id: integration_id.clone(),
                shared_secret: SecretString::from(shared_secret.clone()),
            },
        )
        .await?;
        let bags_brand = sandbox.add_brand("Acme Bags");
        let bags = connect_store(
            stack.ports.stores.as_ref(),
            stack.ports.vault.as_ref(),
            &client,
            NewStore {
                id: StoreId::parse("acme-bags").expect("valid id"),
                name: "Acme Bags".into(),
                subdomain: DEMO_ACCOUNT.into(),
                bot_email: "bot@acme.example".into(),
                api_token: SecretString::from(sandbox_api_token.clone()),
                brand_id: Some(bags_brand),
                instructions: "You are Acme Bags' support assistant.".into(),
                display_name: "Acme Bags Assistant".into(),
                agent: AgentSettings::Knowledge {
                    knowledge_markdown: BAGS_KNOWLEDGE.into(),
                },
            },
        )
        .await?;
        let widgets = [
            sandbox.add_web_widget(brand, "Acme Shoes widget"),
            sandbox.add_web_widget(bags_brand, "Acme Bags widget"),
        ];
        for (config, widget) in [(&store.config, &widgets[0]), (&bags.config, &widgets[1])] {
            stack
                .ports
                .widgets
                .map_widget(config, widget)
                .await
                .map_err(SetupError::from)?;
        }
        Ok(Self {
            sandbox,
            stack: std::sync::Arc::new(stack),
            store,
            bags,
            conversations_integration: integration_id,
            conversations_shared_secret: shared_secret,
            customer,
            human_agent,
            sandbox_api_token,
            widgets,
        })
    }

    /// A widget conversation's messages, as the visitor sees them.
    pub fn widget_transcript(&self, conversation: &str, from_message: usize) -> String {
        let mut out = String::new();
        for message in self
            .sandbox
            .conversation_messages(conversation)
            .iter()
            .skip(from_message)
        {
            let author = message
                .display_name
                .clone()
                .unwrap_or_else(|| "Visitor".into());
            let _ = writeln!(out, "  {author}:");
            for line in message.text.lines().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(out, "    {line}");
            }
            if let Some(markdown) = &message.markdown_text
                && markdown.contains("**")
            {
                let _ = writeln!(
                    out,
                    "    (sent as markdown; the widget renders: {})",
                    message
                        .html_text
                        .as_deref()
                        .unwrap_or_default()
                        .replace(">\n<", "><")
                        .replace('\n', " ")
                );
            }
        }
        out
    }

    /// Lets the triggers' webhooks arrive, then the worker answer them.
    pub async fn settle(&self) {
        // Jobs can make Zendesk call again (a hand-off opens a ticket): until all is quiet.
        loop {
            self.sandbox.settle().await;
            if self.stack.run_pending_jobs().await == 0 {
                return;
            }
        }
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
    play_widget(&demo, &mut out).await;
    play_tool_call(&demo, &mut out).await;
    Ok(out)
}

/// The Web Widget part: two brands on one account, a hand-off and the bot's return.
async fn play_widget(demo: &DemoAccount, out: &mut String) {
    let sandbox = &demo.sandbox;
    let [shoes_widget, bags_widget] = &demo.widgets;
    out.push_str("\n\nDeskmate demo: the Web Widget, two brands on one Zendesk account\n\n");

    let shoes = sandbox.widget_visitor_opens(shoes_widget, "Lee");
    demo.settle().await;
    out.push_str("4. Lee opens the Acme Shoes widget; the bot welcomes them:\n\n");
    out.push_str(&demo.widget_transcript(&shoes, 0));

    let mut seen = sandbox.conversation_messages(&shoes).len();
    sandbox.widget_visitor_says(&shoes, "Can I return shoes that don't fit for a refund?");
    demo.settle().await;
    out.push_str(
        "\n5. Lee asks about returns; the answer's bold, link and list render in the widget:\n\n",
    );
    out.push_str(&demo.widget_transcript(&shoes, seen));

    let bags = sandbox.widget_visitor_opens(bags_widget, "Kim");
    demo.settle().await;
    sandbox.widget_visitor_says(&bags, "Can I return my bag for a refund?");
    demo.settle().await;
    out.push_str(
        "\n6. Kim asks the same on the Acme Bags widget and gets Acme Bags' own answer:\n\n",
    );
    out.push_str(&demo.widget_transcript(&bags, 1));

    seen = sandbox.conversation_messages(&shoes).len();
    sandbox.widget_visitor_says(&shoes, "They arrived damaged. Can I talk to a human?");
    demo.settle().await;
    out.push_str(
        "\n7. Lee asks for a person; the bot hands the conversation to the Agent Workspace:\n\n",
    );
    out.push_str(&demo.widget_transcript(&shoes, seen));
    let Some(ticket) = sandbox.messaging_ticket(&shoes) else {
        out.push_str("  (no messaging ticket was opened)\n");
        return;
    };
    let view = sandbox.ticket(ticket).expect("the ticket exists");
    let _ = writeln!(
        out,
        "\n  In control: {}. Messaging ticket #{ticket}: {}, tags: {}.",
        sandbox.in_control(&shoes).unwrap_or_default(),
        if view.assignee_id.is_none() {
            "unassigned"
        } else {
            "assigned"
        },
        view.tags.join(", ")
    );

    seen = sandbox.conversation_messages(&shoes).len();
    sandbox.workspace_agent_says(
        &shoes,
        "Sam Rivera",
        "Sorry about that, Lee! A replacement pair is on its way.",
    );
    sandbox.solve(demo.human_agent, ticket);
    demo.settle().await;
    sandbox.widget_visitor_says(&shoes, "Thanks! And how long does shipping take?");
    demo.settle().await;
    let _ = writeln!(
        out,
        "\n8. Sam answers and solves the ticket; control returns to {} and the bot answers again:\n",
        sandbox.in_control(&shoes).unwrap_or_default()
    );
    out.push_str(&demo.widget_transcript(&shoes, seen));
}

/// An AI agent platform calls the escalate tool for a ticket.
async fn play_tool_call(demo: &DemoAccount, out: &mut String) {
    out.push_str("\n\nDeskmate demo: an AI agent calls the \"escalate to human\" tool\n\n");
    let ticket = demo.sandbox.customer_emails(
        demo.customer,
        demo.store.config.brand_id,
        "Order 1234",
        "Hi, where is my order 1234? It should have arrived last week.",
    );
    demo.settle().await;
    let call = serde_json::json!({
        "ticket_id": ticket,
        "summary": "Maria's order 1234 is a week late; she wants to know where it is.",
        "reason": "Order lookups need a person",
    });
    let _ = writeln!(
        out,
        "9. POST {}/tools/escalate (Authorization: Bearer <the store's tool token>)\n   {call}",
        demo.stack.url
    );
    let answer = reqwest::Client::new()
        .post(format!("{}/tools/escalate", demo.stack.url))
        .bearer_auth(secrecy::ExposeSecret::expose_secret(&demo.store.tool_token))
        .json(&call)
        .send()
        .await;
    match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            let _ = writeln!(out, "   -> {status} {body}\n");
        }
        Err(err) => {
            let _ = writeln!(out, "   -> the call failed: {err}\n");
        }
    }
    demo.settle().await;
    let _ = writeln!(
        out,
        "   Ticket #{ticket} as the customer and the agents see it:\n"
    );
    out.push_str(&demo.transcript(ticket, 0));
}
