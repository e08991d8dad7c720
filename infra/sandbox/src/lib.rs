//! An offline Zendesk for tests, benchmarks, the demo and `deskmate dev`: the Support API
//! endpoints Deskmate calls, and the trigger engine that notifies webhooks the way Zendesk
//! does (bearer token, signature headers, placeholders rendered as strings).
//!
//! The server holds one account. Tests drive it through [`Sandbox`]: people act (a customer
//! emails, an agent comments), triggers fire, and the test reads the tickets back.

mod api;
mod triggers;
mod world;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use world::World;
pub use world::{CommentView, Delivery, Fault, Role, TicketView, UserView};

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
        let app = api::router(shared.clone());
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

    fn deliver(&self, deliveries: Vec<triggers::Outgoing>) {
        triggers::dispatch(&self.shared, deliveries);
    }
}
