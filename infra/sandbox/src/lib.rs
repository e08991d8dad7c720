//! An offline Zendesk for tests, benchmarks, the demo and `deskmate dev`: the Support API
//! endpoints Deskmate calls, and the trigger engine that notifies webhooks the way Zendesk
//! does (bearer token, signature headers, placeholders rendered as strings).
//!
//! The server holds one account. Tests drive it through [`Sandbox`]: people act (a customer
//! emails, an agent comments), triggers fire, and the test reads the tickets back.

mod api;
mod conversations_api;
mod messaging;
mod triggers;
mod world;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

pub use messaging::ConversationMessage;
use world::World;
pub use world::{CommentView, Delivery, Fault, Role, TicketView, UserView};

/// The Conversations API key of the sandbox's app.
#[derive(Clone, Debug)]
pub struct MessagingKeys {
    pub app_id: String,
    pub key_id: String,
    pub key_secret: String,
}

/// A running sandbox; dropping it stops the server.
pub struct Sandbox {
    base_url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

pub(crate) struct Shared {
    world: Mutex<World>,
    http: reqwest::Client,
    in_flight: AtomicUsize,
    idle: Notify,
}

impl Shared {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Sandbox {
    /// Starts a sandbox account on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port is free");
        let base_url = format!("http://{}", listener.local_addr().expect("bound"));
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(&base_url)),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(12))
                .build()
                .expect("client builds"),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
        });
        let app = api::router(shared.clone()).merge(conversations_api::router(shared.clone()));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("sandbox server runs");
        });
        Self {
            base_url,
            shared,
            server,
        }
    }

    /// Where Deskmate sends Support API calls instead of `https://{subdomain}.zendesk.com`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn add_user(&self, name: &str, email: &str, role: Role) -> u64 {
        self.shared.world().add_user(name, email, role)
    }

    /// Creates an API token (Admin Center → APIs); any user's email may be used with it.
    pub fn add_api_token(&self) -> String {
        self.shared.world().add_api_token()
    }

    pub fn add_brand(&self, name: &str) -> u64 {
        self.shared.world().add_brand(name)
    }

    /// A customer emails the support address of `brand`: a new ticket, then triggers.
    pub fn customer_emails(
        &self,
        requester: u64,
        brand: Option<u64>,
        subject: &str,
        body: &str,
    ) -> u64 {
        let (ticket, deliveries) = self
            .shared
            .world()
            .customer_emails(requester, brand, subject, body);
        self.deliver(deliveries);
        ticket
    }

    /// Someone (customer or agent) comments on a ticket from Zendesk's UI or by email.
    pub fn comment(&self, author: u64, ticket: u64, body: &str, public: bool) {
        let deliveries = self.shared.world().comment(author, ticket, body, public);
        self.deliver(deliveries);
    }

    /// An agent starts a ticket to a customer (a proactive outbound email).
    pub fn agent_creates_ticket(
        &self,
        agent: u64,
        requester: u64,
        subject: &str,
        body: &str,
    ) -> u64 {
        let (ticket, deliveries) = self
            .shared
            .world()
            .agent_creates_ticket(agent, requester, subject, body);
        self.deliver(deliveries);
        ticket
    }

    /// An agent assigns the ticket to someone (or no one).
    pub fn assign(&self, actor: u64, ticket: u64, assignee: Option<u64>) {
        let deliveries = self.shared.world().assign(actor, ticket, assignee);
        self.deliver(deliveries);
    }

    pub fn ticket(&self, id: u64) -> Option<TicketView> {
        self.shared.world().ticket_view(id)
    }

    pub fn comments(&self, ticket: u64) -> Vec<CommentView> {
        self.shared.world().comment_views(ticket)
    }

    pub fn user(&self, id: u64) -> Option<UserView> {
        self.shared.world().user_view(id)
    }

    /// The account's webhooks as (id, name, endpoint).
    pub fn webhooks(&self) -> Vec<(String, String, String)> {
        self.shared
            .world()
            .webhooks
            .values()
            .map(|w| (w.id.clone(), w.name.clone(), w.endpoint.clone()))
            .collect()
    }

    /// The account's triggers as Zendesk's JSON (title, conditions, actions).
    pub fn triggers(&self) -> Vec<serde_json::Value> {
        self.shared
            .world()
            .triggers
            .iter()
            .map(|t| serde_json::json!({"id": t.id, "title": t.title, "conditions": t.conditions, "actions": t.actions}))
            .collect()
    }

    /// Every webhook request the trigger engine sent, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.world().deliveries.clone()
    }

    /// The Support API answers the next requests with these faults, one each, in order.
    pub fn inject_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.world().faults.extend(faults);
    }

    /// Support API requests served so far.
    pub fn api_requests(&self) -> usize {
        self.shared.world().api_requests
    }

    /// Sends delivery number `index` again, byte for byte, as Zendesk does when it retries.
    pub async fn redeliver(&self, index: usize) -> u16 {
        let delivery = self.shared.world().deliveries[index].clone();
        triggers::send(&self.shared, &delivery).await
    }

    /// Waits until every webhook delivery in flight has been answered.
    pub async fn settle(&self) {
        loop {
            let idle = self.shared.idle.notified();
            if self.shared.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Turns messaging on: a Conversations app with an API key, and the Agent Workspace on
    /// the switchboard, as a Zendesk account with messaging has.
    pub fn enable_messaging(&self) -> MessagingKeys {
        let mut world = self.shared.world();
        let messaging = world.messaging();
        MessagingKeys {
            app_id: messaging.app_id.clone(),
            key_id: messaging.key_id.clone(),
            key_secret: messaging.key_secret.clone(),
        }
    }

    /// A brand's Web Widget (Admin Center → Channels → Messaging); returns its integration id.
    pub fn add_web_widget(&self, brand: u64, name: &str) -> String {
        let mut world = self.shared.world();
        let id = messaging::object_id();
        world.messaging().integrations.push(messaging::Integration {
            id: id.clone(),
            kind: "web".into(),
            display_name: name.to_owned(),
            brand_id: Some(brand),
            webhook: None,
        });
        id
    }

    /// A Conversations integration with a webhook to `target` subscribed to `triggers`
    /// (Admin Center → Conversations integrations); returns its id and shared secret.
    pub fn add_conversations_integration(
        &self,
        name: &str,
        target: &str,
        triggers: &[&str],
    ) -> (String, String) {
        let mut world = self.shared.world();
        let id = messaging::object_id();
        let secret = world::random_hex(24);
        world.messaging().integrations.push(messaging::Integration {
            id: id.clone(),
            kind: "custom".into(),
            display_name: name.to_owned(),
            brand_id: None,
            webhook: Some(messaging::ConversationsWebhook {
                id: messaging::object_id(),
                target: target.to_owned(),
                triggers: triggers.iter().map(|t| t.to_string()).collect(),
                secret: secret.clone(),
            }),
        });
        (id, secret)
    }

    /// Puts `integration` on the switchboard as the default responder, with the Agent
    /// Workspace next after it and itself next after the Agent Workspace.
    pub fn make_default_responder(&self, integration: &str, name: &str) {
        let mut world = self.shared.world();
        let messaging = world.messaging();
        let agent_workspace = messaging
            .switchboard_integrations
            .iter()
            .find(|s| s.integration_type == messaging::AGENT_WORKSPACE_TYPE)
            .map(|s| s.id.clone())
            .expect("messaging has the Agent Workspace");
        let id = messaging::object_id();
        messaging
            .switchboard_integrations
            .push(messaging::SwitchboardIntegration {
                id: id.clone(),
                name: name.to_owned(),
                integration_id: integration.to_owned(),
                integration_type: "custom".into(),
                deliver_standby_events: false,
                next: Some(agent_workspace.clone()),
            });
        for s in &mut messaging.switchboard_integrations {
            if s.id == agent_workspace {
                s.next = Some(id.clone());
            }
        }
        messaging.default_integration = Some(id);
    }

    /// A visitor opens `widget` and starts a conversation; returns its id.
    pub fn widget_visitor_opens(&self, widget: &str, name: &str) -> String {
        let (conversation, outgoing) = self.shared.world().open_conversation(widget, name);
        self.deliver(outgoing);
        conversation
    }

    /// The visitor writes in the widget; returns the message id.
    pub fn widget_visitor_says(&self, conversation: &str, text: &str) -> String {
        let (id, outgoing) = self.shared.world().user_message(conversation, text);
        self.deliver(outgoing);
        id
    }

    /// A human agent answers in the Agent Workspace (a business message without Deskmate's marks).
    pub fn workspace_agent_says(&self, conversation: &str, name: &str, text: &str) {
        let body = serde_json::json!({"author": {"type": "business", "displayName": name}, "content": {"type": "text", "text": text}});
        let (_, outgoing) = self
            .shared
            .world()
            .business_message(conversation, &body)
            .expect("the conversation exists");
        self.deliver(outgoing);
    }

    /// Someone releases control of the conversation (nobody is in control afterwards).
    pub fn release_control(&self, conversation: &str, metadata: serde_json::Value) {
        let outgoing = self
            .shared
            .world()
            .release_control(conversation, metadata.as_object().cloned())
            .expect("the conversation exists");
        self.deliver(outgoing);
    }

    /// Conversations events wait and go out together in one payload at the next flush.
    pub fn hold_conversation_events(&self) {
        self.shared.world().messaging().held = Some(Vec::new());
    }

    pub fn flush_conversation_events(&self) {
        let outgoing = self.shared.world().flush_held();
        self.deliver(outgoing);
    }

    pub fn conversation_messages(&self, conversation: &str) -> Vec<ConversationMessage> {
        let mut world = self.shared.world();
        world
            .messaging()
            .conversations
            .get(conversation)
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    /// The name of the switchboard integration in control of the conversation.
    pub fn in_control(&self, conversation: &str) -> Option<String> {
        let mut world = self.shared.world();
        let messaging = world.messaging();
        let active = messaging.conversations.get(conversation)?.active.clone()?;
        messaging
            .switchboard_integrations
            .iter()
            .find(|s| s.id == active)
            .map(|s| s.name.clone())
    }

    /// The switchboard by names: the default responder, and who is next after whom.
    pub fn switchboard(&self) -> (Option<String>, Vec<(String, Option<String>)>) {
        let mut world = self.shared.world();
        let messaging = world.messaging();
        let name = |id: &Option<String>| {
            id.as_ref()
                .and_then(|id| {
                    messaging
                        .switchboard_integrations
                        .iter()
                        .find(|s| &s.id == id)
                })
                .map(|s| s.name.clone())
        };
        let next = messaging
            .switchboard_integrations
            .iter()
            .map(|s| (s.name.clone(), name(&s.next)))
            .collect();
        (name(&messaging.default_integration), next)
    }

    pub fn messaging_ticket(&self, conversation: &str) -> Option<u64> {
        self.shared
            .world()
            .messaging()
            .conversations
            .get(conversation)?
            .ticket
    }

    pub fn typing_indicators(&self, conversation: &str) -> usize {
        let mut world = self.shared.world();
        world
            .messaging()
            .conversations
            .get(conversation)
            .map_or(0, |c| c.typing)
    }

    /// An agent solves a ticket (for a messaging ticket, control returns to the bot).
    pub fn solve(&self, agent: u64, ticket: u64) {
        let outgoing = self
            .shared
            .world()
            .change_ticket(agent, ticket, |_, entry| {
                entry.view.status = "solved".into()
            });
        self.deliver(outgoing);
    }

    fn deliver(&self, deliveries: Vec<triggers::Outgoing>) {
        triggers::dispatch(&self.shared, deliveries);
    }
}
