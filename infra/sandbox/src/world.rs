//! The account's data and the changes people and the API make to it.

use std::collections::BTreeMap;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::faults::Faults;
use crate::triggers::{self, Outgoing, UpdateContext};

/// A user's role; in JSON `end_user`, `agent`, `light_agent` or `admin`, and the other agent
/// role types Zendesk reports in `role_type`: `custom_agent` (0), `chat_agent` (2),
/// `contributor` (3) and `billing_admin` (5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[serde(alias = "end-user")]
    EndUser,
    Agent,
    /// An agent with a custom role (Enterprise): `role_type` 0.
    CustomAgent,
    LightAgent,
    /// A chat-only agent: `role_type` 2.
    ChatAgent,
    /// A contributor: `role_type` 3.
    Contributor,
    Admin,
    /// An admin who also manages billing: `role_type` 5.
    BillingAdmin,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct UserView {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub role_type: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TicketView {
    pub id: u64,
    pub subject: String,
    pub status: String,
    pub requester_id: u64,
    pub submitter_id: u64,
    pub assignee_id: Option<u64>,
    pub group_id: Option<u64>,
    pub brand_id: Option<u64>,
    pub tags: Vec<String>,
    pub priority: Option<String>,
    pub channel: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommentView {
    pub id: u64,
    pub author_id: u64,
    pub body: String,
    pub html_body: String,
    pub public: bool,
    pub created_at: String,
}

/// One webhook request the trigger engine made, and how the endpoint answered (`status` is
/// `None` while in flight, 0 when the endpoint never answered).
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    pub webhook_id: String,
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: Option<u16>,
}

pub(crate) struct Webhook {
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub bearer_token: Option<String>,
    pub signing_secret: String,
    pub created_at: String,
}

pub(crate) struct Trigger {
    pub id: u64,
    pub title: String,
    pub active: bool,
    pub conditions: Value,
    pub actions: Value,
}

/// A brand: its Help Center is served on `{subdomain}.zendesk.com`.
pub(crate) struct Brand {
    pub name: String,
    pub subdomain: String,
    pub has_help_center: bool,
    pub created_at: String,
}

pub(crate) struct Ticket {
    pub view: TicketView,
    pub comments: Vec<CommentView>,
}

pub(crate) struct World {
    pub base_url: String,
    next_id: u64,
    last_stamp: i64,
    pub users: BTreeMap<u64, UserView>,
    pub api_tokens: Vec<String>,
    /// The first brand added is the default one.
    pub brands: BTreeMap<u64, Brand>,
    pub tickets: BTreeMap<u64, Ticket>,
    pub webhooks: BTreeMap<String, Webhook>,
    pub triggers: Vec<Trigger>,
    pub faults: Faults,
    pub deliveries: Vec<Delivery>,
    pub messaging: Option<crate::messaging::Messaging>,
    /// Ticket creations by `Idempotency-Key`: the request body, the ticket, and when the key
    /// is forgotten (unix seconds).
    pub idempotency: BTreeMap<String, IdempotentCreation>,
    pub help_center: crate::help_center::HelpCenter,
}

#[derive(Default)]
pub(crate) struct TicketExtras {
    pub tags: Vec<String>,
    pub priority: Option<String>,
    pub group_id: Option<u64>,
}

pub(crate) struct IdempotentCreation {
    pub body: Value,
    pub ticket_id: u64,
    pub expires_at: i64,
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Zendesk derives a comment's plain body from its HTML; this is a rough equivalent.
pub(crate) fn html_to_text(html: &str) -> String {
    // Raw line breaks in HTML are just spaces; block ends and <br> are the real ones.
    let spaced = html
        .replace('\n', " ")
        .replace("</p>", "</p>\n\n")
        .replace("<br>", "\n")
        .replace("<br />", "\n")
        .replace("</li>", "</li>\n");
    let mut text = String::with_capacity(spaced.len());
    let mut in_tag = false;
    for c in spaced.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.join("\n").trim().to_owned()
}

impl World {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            next_id: 1000,
            last_stamp: 0,
            users: BTreeMap::new(),
            api_tokens: Vec::new(),
            brands: BTreeMap::new(),
            tickets: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            triggers: Vec::new(),
            faults: Faults::default(),
            deliveries: Vec::new(),
            messaging: None,
            idempotency: BTreeMap::new(),
            help_center: Default::default(),
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Zendesk stamps to the second; every change here moves the clock by at least one second
    /// so `safe_update` can always tell two versions of a ticket apart.
    pub fn stamp(&mut self) -> String {
        let now = OffsetDateTime::now_utc()
            .unix_timestamp()
            .max(self.last_stamp + 1);
        self.last_stamp = now;
        OffsetDateTime::from_unix_timestamp(now)
            .expect("valid time")
            .format(&Rfc3339)
            .expect("formats")
    }

    pub fn add_user(&mut self, name: &str, email: &str, role: Role) -> u64 {
        let id = self.next_id();
        let (role, role_type) = match role {
            Role::EndUser => ("end-user", None),
            Role::Agent => ("agent", None),
            Role::CustomAgent => ("agent", Some(0)),
            Role::LightAgent => ("agent", Some(1)),
            Role::ChatAgent => ("agent", Some(2)),
            Role::Contributor => ("agent", Some(3)),
            Role::Admin => ("admin", None),
            Role::BillingAdmin => ("admin", Some(5)),
        };
        self.users.insert(
            id,
            UserView {
                id,
                name: name.to_owned(),
                email: email.to_owned(),
                role: role.to_owned(),
                role_type,
            },
        );
        id
    }

    pub fn add_api_token(&mut self) -> String {
        let token = random_hex(20);
        self.api_tokens.push(token.clone());
        token
    }

    /// A brand with a Help Center, on a subdomain made from its name (`Acme Outlet` →
    /// `acme-outlet`, numbered when taken).
    pub fn add_brand(&mut self, name: &str) -> u64 {
        let id = self.next_id();
        let mut base = String::new();
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                base.push(c.to_ascii_lowercase());
            } else if !base.is_empty() && !base.ends_with('-') {
                base.push('-');
            }
        }
        base.truncate(50);
        let base = match base.trim_end_matches('-') {
            "" => "brand".to_owned(),
            trimmed => trimmed.to_owned(),
        };
        let taken = |sub: &str| self.brands.values().any(|b| b.subdomain == sub);
        let subdomain = (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                }
            })
            .find(|sub| !taken(sub))
            .expect("a free subdomain");
        // Not `stamp()`: adding a brand must not move the tickets' clock.
        let created_at = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("valid time")
            .format(&Rfc3339)
            .expect("formats");
        self.brands.insert(
            id,
            Brand {
                name: name.to_owned(),
                subdomain,
                has_help_center: true,
                created_at,
            },
        );
        id
    }

    /// The brand whose subdomain is `subdomain`.
    pub fn brand_by_subdomain(&self, subdomain: &str) -> Option<u64> {
        self.brands
            .iter()
            .find(|(_, b)| b.subdomain.eq_ignore_ascii_case(subdomain))
            .map(|(id, _)| *id)
    }

    /// `GET /api/v2/brands/{id}`'s brand, in Zendesk's shape.
    pub fn brand_json(&self, id: u64) -> Option<Value> {
        let brand = self.brands.get(&id)?;
        Some(json!({
            "id": id,
            "url": format!("{}/api/v2/brands/{id}.json", self.base_url),
            "name": brand.name,
            "brand_url": format!("https://{}.zendesk.com", brand.subdomain),
            "subdomain": brand.subdomain,
            "host_mapping": null,
            "has_help_center": brand.has_help_center,
            "help_center_state": if brand.has_help_center { "enabled" } else { "disabled" },
            "active": true,
            "default": self.brands.keys().next() == Some(&id),
            "is_deleted": false,
            "logo": null,
            "signature_template": "{{agent.signature}}",
            "ticket_form_ids": [],
            "created_at": brand.created_at,
            "updated_at": brand.created_at,
        }))
    }

    pub fn is_staff(&self, user: u64) -> bool {
        self.users
            .get(&user)
            .is_some_and(|u| u.role == "agent" || u.role == "admin")
    }

    pub fn user_view(&self, id: u64) -> Option<UserView> {
        self.users.get(&id).cloned()
    }

    pub fn ticket_view(&self, id: u64) -> Option<TicketView> {
        self.tickets.get(&id).map(|t| t.view.clone())
    }

    pub fn comment_views(&self, ticket: u64) -> Vec<CommentView> {
        self.tickets
            .get(&ticket)
            .map(|t| t.comments.clone())
            .unwrap_or_default()
    }

    pub fn new_comment(
        &mut self,
        author: u64,
        body: Option<&str>,
        html_body: Option<&str>,
        public: bool,
    ) -> CommentView {
        let (body, html_body) = match (body, html_body) {
            (_, Some(html)) => (html_to_text(html), html.to_owned()),
            (Some(text), None) => (
                text.to_owned(),
                format!(
                    "<div class=\"zd-comment\"><p>{}</p></div>",
                    escape_html(text)
                ),
            ),
            (None, None) => (String::new(), String::new()),
        };
        CommentView {
            id: self.next_id(),
            author_id: author,
            body,
            html_body,
            public,
            created_at: self.stamp(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn create_ticket(
        &mut self,
        actor: u64,
        requester: u64,
        brand: Option<u64>,
        subject: &str,
        first_comment: CommentView,
        channel: &str,
        assignee: Option<u64>,
    ) -> (u64, Vec<Outgoing>) {
        self.create_ticket_with(
            actor,
            requester,
            brand,
            subject,
            first_comment,
            channel,
            assignee,
            TicketExtras::default(),
        )
    }

    /// [`World::create_ticket`] with the fields set at creation, before the triggers run.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_ticket_with(
        &mut self,
        actor: u64,
        requester: u64,
        brand: Option<u64>,
        subject: &str,
        first_comment: CommentView,
        channel: &str,
        assignee: Option<u64>,
        extras: TicketExtras,
    ) -> (u64, Vec<Outgoing>) {
        let id = self.next_id();
        let stamp = first_comment.created_at.clone();
        let brand = brand.or_else(|| self.brands.keys().next().copied());
        let public = first_comment.public;
        self.tickets.insert(
            id,
            Ticket {
                view: TicketView {
                    id,
                    subject: subject.to_owned(),
                    status: "new".into(),
                    requester_id: requester,
                    submitter_id: actor,
                    assignee_id: assignee,
                    group_id: extras.group_id,
                    brand_id: brand,
                    tags: extras.tags,
                    priority: extras.priority,
                    channel: channel.to_owned(),
                    created_at: stamp.clone(),
                    updated_at: stamp,
                },
                comments: vec![first_comment],
            },
        );
        let deliveries = triggers::run(
            self,
            id,
            UpdateContext {
                created: true,
                current_user: actor,
                public_comment: public,
            },
        );
        (id, deliveries)
    }

    pub fn customer_emails(
        &mut self,
        requester: u64,
        brand: Option<u64>,
        subject: &str,
        body: &str,
    ) -> (u64, Vec<Outgoing>) {
        let comment = self.new_comment(requester, Some(body), None, true);
        self.create_ticket(requester, requester, brand, subject, comment, "email", None)
    }

    pub fn agent_creates_ticket(
        &mut self,
        agent: u64,
        requester: u64,
        subject: &str,
        body: &str,
    ) -> (u64, Vec<Outgoing>) {
        let comment = self.new_comment(agent, Some(body), None, true);
        self.create_ticket(agent, requester, None, subject, comment, "web", Some(agent))
    }

    /// Applies a change made by `actor` and runs the triggers.
    pub fn change_ticket(
        &mut self,
        actor: u64,
        ticket: u64,
        change: impl FnOnce(&mut Self, &mut Ticket),
    ) -> Vec<Outgoing> {
        let Some(mut entry) = self.tickets.remove(&ticket) else {
            return Vec::new();
        };
        let comments_before = entry.comments.len();
        change(self, &mut entry);
        let public_comment = entry.comments[comments_before..].iter().any(|c| c.public);
        if entry.view.status == "new" && entry.view.assignee_id.is_some() {
            entry.view.status = "open".into();
        }
        entry.view.updated_at = self.stamp();
        let closed = matches!(entry.view.status.as_str(), "solved" | "closed");
        self.tickets.insert(ticket, entry);
        let mut outgoing = triggers::run(
            self,
            ticket,
            UpdateContext {
                created: false,
                current_user: actor,
                public_comment,
            },
        );
        if closed {
            outgoing.extend(self.messaging_ticket_closed(ticket));
        }
        outgoing
    }

    pub fn comment(&mut self, author: u64, ticket: u64, body: &str, public: bool) -> Vec<Outgoing> {
        let from_customer = !self.is_staff(author);
        self.change_ticket(author, ticket, |world, entry| {
            let comment = world.new_comment(author, Some(body), None, public);
            entry.comments.push(comment);
            // A customer's reply reopens a pending or solved ticket, as in Zendesk.
            if from_customer && matches!(entry.view.status.as_str(), "pending" | "solved") {
                entry.view.status = "open".into();
            }
        })
    }

    pub fn assign(&mut self, actor: u64, ticket: u64, assignee: Option<u64>) -> Vec<Outgoing> {
        self.change_ticket(actor, ticket, |_, entry| entry.view.assignee_id = assignee)
    }

    /// An agent solves a ticket (for a messaging ticket, control returns to the bot).
    pub fn solve(&mut self, agent: u64, ticket: u64) -> Vec<Outgoing> {
        self.change_ticket(agent, ticket, |_, entry| {
            entry.view.status = "solved".into()
        })
    }

    pub fn user_json(user: &UserView, base_url: &str) -> Value {
        json!({
            "id": user.id,
            "url": format!("{base_url}/api/v2/users/{}.json", user.id),
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "role_type": user.role_type,
            "active": true,
            "verified": true,
        })
    }

    pub fn ticket_json(&self, ticket: &TicketView) -> Value {
        json!({
            "id": ticket.id,
            "url": format!("{}/api/v2/tickets/{}.json", self.base_url, ticket.id),
            "subject": ticket.subject,
            "raw_subject": ticket.subject,
            "description": self.tickets.get(&ticket.id).and_then(|t| t.comments.first()).map(|c| c.body.clone()),
            "status": ticket.status,
            "priority": ticket.priority,
            "type": null,
            "requester_id": ticket.requester_id,
            "submitter_id": ticket.submitter_id,
            "assignee_id": ticket.assignee_id,
            "group_id": ticket.group_id,
            "brand_id": ticket.brand_id,
            "tags": ticket.tags,
            "via": {"channel": ticket.channel, "source": {"from": {}, "to": {}, "rel": null}},
            "custom_fields": [],
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
        })
    }

    pub fn comment_json(comment: &CommentView) -> Value {
        json!({
            "id": comment.id,
            "type": "Comment",
            "author_id": comment.author_id,
            "body": comment.body,
            "html_body": comment.html_body,
            "plain_body": comment.body,
            "public": comment.public,
            "attachments": [],
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": null}},
            "created_at": comment.created_at,
            "metadata": {"system": {}, "custom": {}},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_bodies_come_from_html() {
        assert_eq!(
            html_to_text("<p><strong>Hi</strong> &amp; welcome</p><ul><li>one</li></ul>"),
            "Hi & welcome\n\none"
        );
    }

    #[test]
    fn brand_subdomains_come_from_names_and_never_repeat() {
        let mut world = World::new("http://x");
        let subdomain = |world: &mut World, name: &str| {
            let id = world.add_brand(name);
            world.brands[&id].subdomain.clone()
        };
        assert_eq!(subdomain(&mut world, "Acme Outlet"), "acme-outlet");
        assert_eq!(subdomain(&mut world, "  Acme -- Outlet! "), "acme-outlet-2");
        assert_eq!(subdomain(&mut world, "Shoes & Bags"), "shoes-bags");
        assert_eq!(subdomain(&mut world, "***"), "brand");
        let id = world.brand_by_subdomain("ACME-OUTLET-2").unwrap();
        assert_eq!(world.brands[&id].name, "  Acme -- Outlet! ");
    }

    #[test]
    fn stamps_always_move_forward() {
        let mut world = World::new("http://x");
        let a = world.stamp();
        let b = world.stamp();
        assert!(b > a, "{a} {b}");
    }
}
