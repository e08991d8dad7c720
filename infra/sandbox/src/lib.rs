//! An offline Zendesk for tests, benchmarks, the demo and `deskmate dev`: the Support API
//! and Conversations API endpoints Deskmate calls, and the trigger engine that notifies
//! webhooks the way Zendesk does (bearer token, signature headers, placeholders rendered as
//! strings).
//!
//! The server holds one account. Tests drive it through [`Sandbox`]: people act (a customer
//! emails, an agent comments), triggers fire, and the test reads the tickets back. Started on
//! its own (`deskmate sandbox`), it is driven the same way over HTTP through the control API
//! under `/_sandbox/` (see the `control` module).
//!
//! Faults are injected per call kind on both APIs with [`FaultRule`]s ([`Sandbox::inject`]),
//! and every call served is logged as a [`Call`] ([`Sandbox::calls`]); see the `faults` module.

mod api;
mod control;
mod conversations_api;
mod faults;
mod help_center;
mod messaging;
mod triggers;
mod world;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

pub use faults::{ApiRequest, Call, Fault, FaultRule};
pub use help_center::ArticleView;
pub use messaging::{ConversationMessage, ConversationView, MessagingKeys};
use world::World;
pub use world::{CommentView, Delivery, Role, TicketView, UserView};

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

    /// Makes a change to the world and sends the webhook deliveries it caused.
    pub(crate) fn act<T>(
        self: &Arc<Self>,
        change: impl FnOnce(&mut World) -> (T, Vec<triggers::Outgoing>),
    ) -> T {
        let (value, outgoing) = change(&mut self.world());
        triggers::dispatch(self, outgoing);
        value
    }

    /// Waits until every webhook delivery in flight has been answered.
    pub(crate) async fn settle(&self) {
        loop {
            let idle = self.idle.notified();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
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
        Self::start_on("127.0.0.1:0")
            .await
            .expect("a loopback port is free")
    }

    /// Starts a sandbox account on `address` (e.g. `127.0.0.1:8081`; port 0 picks a free one),
    /// serving the Support API, the Conversations API and the control API (`/_sandbox/`).
    pub async fn start_on(address: impl tokio::net::ToSocketAddrs) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(&base_url)),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(12))
                .build()
                .expect("client builds"),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
        });
        let app = api::router(shared.clone())
            .merge(conversations_api::router(shared.clone()))
            .merge(control::router(shared.clone()))
            .fallback(faults::unknown_route)
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                faults::serve,
            ));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("sandbox server runs");
        });
        Ok(Self {
            base_url,
            shared,
            server,
        })
    }

    /// Where Deskmate sends Support API calls instead of `https://{subdomain}.zendesk.com`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The root of the control API (see the `control` module's documentation).
    pub fn control_url(&self) -> String {
        format!("{}/_sandbox", self.base_url)
    }

    pub fn add_user(&self, name: &str, email: &str, role: Role) -> u64 {
        self.shared.world().add_user(name, email, role)
    }

    /// Creates an API token (Admin Center → APIs); any user's email may be used with it.
    pub fn add_api_token(&self) -> String {
        self.shared.world().add_api_token()
    }

    /// A brand with a Help Center; its subdomain is made from its name (`Acme Outlet` →
    /// `acme-outlet`, numbered when taken). The first brand added is the default one.
    pub fn add_brand(&self, name: &str) -> u64 {
        self.shared.world().add_brand(name)
    }

    /// The brand's subdomain: its Help Center is served to requests with `Host:
    /// {subdomain}.zendesk.com` (the sandbox's own address serves the default brand's).
    pub fn brand_subdomain(&self, brand: u64) -> Option<String> {
        self.shared
            .world()
            .brands
            .get(&brand)
            .map(|b| b.subdomain.clone())
    }

    /// Gives the brand a Help Center, or takes it away (its articles then answer 404);
    /// false when there is no such brand.
    pub fn set_help_center(&self, brand: u64, on: bool) -> bool {
        self.shared.world().set_help_center(brand, on)
    }

    /// A Help Center article of `brand` (`None`: the default brand, the first one added) in
    /// `en-us`; `draft` articles are unpublished, and a `user_segment_id` restricts who may
    /// read it. Returns its id.
    pub fn add_article(
        &self,
        brand: Option<u64>,
        title: &str,
        html: &str,
        draft: bool,
        user_segment_id: Option<u64>,
    ) -> u64 {
        self.shared
            .world()
            .add_article(brand, title, html, draft, user_segment_id)
    }

    /// Replaces an article's title and body; false when there is no such article.
    pub fn update_article(&self, id: u64, title: &str, html: &str) -> bool {
        self.shared.world().change_article(id, |a| {
            a.title = title.to_owned();
            a.body = html.to_owned();
        })
    }

    /// Turns an article back into a draft; false when there is no such article.
    pub fn unpublish(&self, id: u64) -> bool {
        self.shared.world().change_article(id, |a| a.draft = true)
    }

    /// Restricts an article to a user segment (`None`: everyone); false when there is none.
    pub fn restrict_article(&self, id: u64, user_segment_id: Option<u64>) -> bool {
        self.shared
            .world()
            .change_article(id, |a| a.user_segment_id = user_segment_id)
    }

    /// Every Help Center article, drafts and restricted ones included.
    pub fn articles(&self) -> Vec<ArticleView> {
        self.shared
            .world()
            .help_center
            .articles
            .values()
            .cloned()
            .collect()
    }

    /// At most `size` articles a Help Center page (3 unless changed).
    pub fn set_help_center_page_size(&self, size: usize) {
        self.shared.world().help_center.page_size = size.max(1);
    }

    /// A customer emails the support address of `brand`: a new ticket, then triggers.
    pub fn customer_emails(
        &self,
        requester: u64,
        brand: Option<u64>,
        subject: &str,
        body: &str,
    ) -> u64 {
        self.shared
            .act(|world| world.customer_emails(requester, brand, subject, body))
    }

    /// Someone (customer or agent) comments on a ticket from Zendesk's UI or by email.
    pub fn comment(&self, author: u64, ticket: u64, body: &str, public: bool) {
        self.shared
            .act(|world| ((), world.comment(author, ticket, body, public)));
    }

    /// An agent starts a ticket to a customer (a proactive outbound email).
    pub fn agent_creates_ticket(
        &self,
        agent: u64,
        requester: u64,
        subject: &str,
        body: &str,
    ) -> u64 {
        self.shared
            .act(|world| world.agent_creates_ticket(agent, requester, subject, body))
    }

    /// An agent assigns the ticket to someone (or no one).
    pub fn assign(&self, actor: u64, ticket: u64, assignee: Option<u64>) {
        self.shared
            .act(|world| ((), world.assign(actor, ticket, assignee)));
    }

    /// An agent solves a ticket (for a messaging ticket, the Agent Workspace releases control;
    /// the customer's next message wakes the default responder).
    pub fn solve(&self, agent: u64, ticket: u64) {
        self.shared.act(|world| ((), world.solve(agent, ticket)));
    }

    pub fn ticket(&self, id: u64) -> Option<TicketView> {
        self.shared.world().ticket_view(id)
    }

    /// Ids of the tickets carrying `tag`, oldest first.
    pub fn tickets_tagged(&self, tag: &str) -> Vec<u64> {
        self.shared
            .world()
            .tickets
            .values()
            .filter(|ticket| ticket.view.tags.iter().any(|t| t == tag))
            .map(|ticket| ticket.view.id)
            .collect()
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

    /// Adds a fault rule; rules apply to Support and Conversations API calls, the first
    /// matching one (in the order they were added) whose `skip` has run out.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.world().faults.add(rule);
    }

    /// The next API calls of any kind (Support or Conversations) get these faults, one
    /// each, in order.
    pub fn inject_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut world = self.shared.world();
        for fault in faults {
            world.faults.add(FaultRule::once(Call::Any, fault));
        }
    }

    /// The fault rules still active, with what is left of their `skip` and `times`.
    pub fn fault_rules(&self) -> Vec<FaultRule> {
        self.shared.world().faults.rules().to_vec()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.world().faults.clear();
    }

    /// Every Support and Conversations API call served so far, in order (faulted ones too).
    pub fn calls(&self) -> Vec<Call> {
        self.shared.world().faults.calls().to_vec()
    }

    /// Support and Conversations API requests served so far.
    /// Every API request served so far (both APIs), with its JSON body.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.shared.world().faults.requests().to_vec()
    }

    pub fn api_requests(&self) -> usize {
        self.shared.world().faults.calls().len()
    }

    /// Sends delivery number `index` again, byte for byte, as Zendesk does when it retries.
    pub async fn redeliver(&self, index: usize) -> u16 {
        let delivery = self.shared.world().deliveries[index].clone();
        triggers::send(&self.shared, &delivery).await
    }

    /// Waits until every webhook delivery in flight has been answered.
    pub async fn settle(&self) {
        self.shared.settle().await;
    }

    /// Turns messaging on: a Conversations app with an API key, and the Agent Workspace on
    /// the switchboard, as a Zendesk account with messaging has.
    pub fn enable_messaging(&self) -> MessagingKeys {
        self.shared.world().enable_messaging()
    }

    /// The Conversations API key, if messaging is on.
    pub fn messaging_keys(&self) -> Option<MessagingKeys> {
        self.shared.world().messaging_keys()
    }

    /// A brand's Web Widget (Admin Center → Channels → Messaging); returns its integration id.
    pub fn add_web_widget(&self, brand: u64, name: &str) -> String {
        self.shared.world().add_web_widget(brand, name)
    }

    /// A Conversations integration with a webhook to `target` subscribed to `triggers`
    /// (Admin Center → Conversations integrations); returns its id and shared secret.
    pub fn add_conversations_integration(
        &self,
        name: &str,
        target: &str,
        triggers: &[&str],
    ) -> (String, String) {
        self.shared
            .world()
            .add_conversations_integration(name, target, triggers)
    }

    /// Puts `integration` on the switchboard as the default responder, with the Agent
    /// Workspace next after it and itself next after the Agent Workspace.
    pub fn make_default_responder(&self, integration: &str, name: &str) {
        self.shared
            .world()
            .make_default_responder(integration, name);
    }

    /// A visitor opens `widget` and starts a conversation; returns its id.
    pub fn widget_visitor_opens(&self, widget: &str, name: &str) -> String {
        self.shared
            .act(|world| world.open_conversation(widget, name))
    }

    /// The visitor writes in the widget; returns the message id.
    pub fn widget_visitor_says(&self, conversation: &str, text: &str) -> String {
        self.shared
            .act(|world| world.user_message(conversation, text))
    }

    /// A human agent answers in the Agent Workspace (a business message without Deskmate's marks).
    pub fn workspace_agent_says(&self, conversation: &str, name: &str, text: &str) {
        self.shared.act(|world| {
            world
                .workspace_agent_says(conversation, name, text)
                .expect("the conversation exists")
        });
    }

    /// Another messaging channel of the account (`whatsapp`, `telegram`, …); returns its
    /// integration id. Its customers write with [`Sandbox::widget_visitor_opens`] too.
    pub fn add_channel(&self, kind: &str, name: &str) -> String {
        self.shared.world().add_channel(kind, None, name)
    }

    /// The switchboard integration (by name) that takes new conversations of `integration`.
    pub fn default_responder_of(&self, integration: &str) -> Option<String> {
        let mut world = self.shared.world();
        let messaging = world.messaging();
        let member = messaging
            .integrations
            .iter()
            .find(|i| i.id == integration)?
            .default_responder
            .clone()?;
        messaging
            .switchboard_integration(&member)
            .map(|s| s.name.clone())
    }

    /// A human grabs the conversation in the Agent Workspace: control passes to it at once.
    pub fn agent_workspace_takes_over(&self, conversation: &str) {
        self.shared.act(|world| {
            let outgoing = world
                .pass_control(conversation, messaging::AGENT_WORKSPACE_TYPE, None, None)
                .expect("the conversation and the Agent Workspace exist");
            ((), outgoing)
        });
    }

    /// The admin revokes every API token and rotates the Conversations API key: every call
    /// with the old credentials gets 401.
    pub fn revoke_credentials(&self) {
        let mut world = self.shared.world();
        world.api_tokens.clear();
        if let Some(messaging) = world.messaging.as_mut() {
            messaging.key_secret = world::random_hex(32);
        }
    }

    /// Someone releases control of the conversation (nobody is in control afterwards).
    pub fn release_control(&self, conversation: &str, metadata: serde_json::Value) {
        self.shared.act(|world| {
            let outgoing = world
                .release_control(conversation, metadata.as_object().cloned())
                .expect("the conversation exists");
            ((), outgoing)
        });
    }

    /// Conversations events wait and go out together in one payload at the next flush.
    pub fn hold_conversation_events(&self) {
        self.shared.world().messaging().held = Some(Vec::new());
    }

    pub fn flush_conversation_events(&self) {
        self.shared.act(|world| ((), world.flush_held()));
    }

    /// A widget conversation: messages, who is in control, its messaging ticket.
    pub fn conversation(&self, conversation: &str) -> Option<ConversationView> {
        self.shared.world().conversation_view(conversation)
    }

    pub fn conversation_messages(&self, conversation: &str) -> Vec<ConversationMessage> {
        self.conversation(conversation)
            .map(|c| c.messages)
            .unwrap_or_default()
    }

    /// The name of the switchboard integration in control of the conversation.
    pub fn in_control(&self, conversation: &str) -> Option<String> {
        self.conversation(conversation)?.in_control
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
        self.conversation(conversation)?.ticket_id
    }

    pub fn typing_indicators(&self, conversation: &str) -> usize {
        self.conversation(conversation)
            .map_or(0, |c| c.typing_indicators)
    }
}

/// Messaging users and conversations made with the Conversations API, files and automated
/// messages in conversations, and the switchboard's standby events.
impl Sandbox {
    /// A human sends a file from the Agent Workspace (an `image` message when `media_type` is
    /// `image/…`, else a `file` message), with an optional caption. Its `mediaUrl` is a private
    /// attachment the sandbox serves at `{base_url}/sc/attachments/{random}/{file_name}` to
    /// requests with the app's key (basic auth, as the API). Returns the message id.
    pub fn workspace_agent_sends_file(
        &self,
        conversation: &str,
        name: &str,
        file_name: &str,
        media_type: &str,
        bytes: Vec<u8>,
        text: Option<&str>,
    ) -> String {
        let file = messaging::Attachment {
            file_name: file_name.to_owned(),
            media_type: media_type.to_owned(),
            bytes,
        };
        self.shared.act(|world| {
            world
                .workspace_agent_sends_file(conversation, name, file, text)
                .expect("the conversation exists and the file has a name")
        })
    }

    /// A Zendesk bot or flow says `text` (a business message of subtype `bot` from
    /// `zd:answerBot`). Returns the message id.
    pub fn automation_says(&self, conversation: &str, text: &str) -> String {
        self.shared.act(|world| {
            world
                .automation_says(conversation, text)
                .expect("the conversation exists")
        })
    }

    /// Whether the switchboard integration named `switchboard_integration_name` receives a
    /// conversation's events while another one is in control (`deliverStandbyEvents`).
    pub fn set_standby_events(&self, switchboard_integration_name: &str, on: bool) {
        let found = self
            .shared
            .world()
            .set_standby_events(switchboard_integration_name, on);
        assert!(
            found,
            "no switchboard integration named {switchboard_integration_name}"
        );
    }

    /// The metadata a conversation was created with, if any.
    pub fn conversation_metadata(
        &self,
        conversation: &str,
    ) -> Option<serde_json::Map<String, serde_json::Value>> {
        self.conversation(conversation)?.metadata
    }

    /// The messaging user with this `externalId` (made with Create User): its id and the id
    /// of the Support end user linked to it.
    pub fn messaging_user(&self, external_id: &str) -> Option<(String, u64)> {
        self.shared.world().messaging_user(external_id)
    }

    /// The ids of a messaging user's conversations, oldest first.
    pub fn conversations_of_user(&self, user_id: &str) -> Vec<String> {
        self.shared.world().conversations_of_user(user_id)
    }
}
