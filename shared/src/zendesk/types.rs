//! Support API shapes, as Zendesk documents them (only the fields Deskmate reads or writes;
//! everything else is ignored on the way in).

use serde::{Deserialize, Serialize};

/// A ticket as Zendesk shows it. Only `id` is required: the Tickets API marks the other fields
/// optional (and `requester_id` nullable), so a missing one takes its default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub status: String,
    /// [`NO_REQUESTER`] (0, the default) when Zendesk gives none (`null` or absent); see
    /// [`Ticket::requester`].
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    pub requester_id: u64,
    #[serde(default)]
    pub submitter_id: Option<u64>,
    #[serde(default)]
    pub assignee_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub brand_id: Option<u64>,
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    pub tags: Vec<String>,
    /// The stamp a guarded update presents; empty when the answer did not carry it (an update's
    /// answer may not: [`SupportClient`](super::SupportClient) then reads the ticket again).
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    pub updated_at: String,
    #[serde(default)]
    pub via: Option<Via>,
}

/// Zendesk user ids start at 1: 0 stands for "no requester".
pub const NO_REQUESTER: u64 = 0;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Via {
    #[serde(default)]
    pub channel: String,
}

impl Ticket {
    /// The requester's user id, if the ticket has one.
    pub fn requester(&self) -> Option<u64> {
        (self.requester_id != NO_REQUESTER).then_some(self.requester_id)
    }

    /// The fields a ticket update's answer must carry for Deskmate to take it as the ticket
    /// now: the next guarded update needs `updated_at`, the hand-off reads the others. An
    /// answer without them is not trusted; the ticket is read again.
    pub const FIELDS_READ_AFTER_UPDATE: [&'static str; 4] =
        ["updated_at", "status", "assignee_id", "tags"];

    pub fn is_closed(&self) -> bool {
        matches!(self.status.as_str(), "solved" | "closed")
    }

    /// A Web Widget (messaging) ticket: answered in the conversation, never by email.
    pub fn is_messaging(&self) -> bool {
        self.via
            .as_ref()
            .is_some_and(|via| via.channel == "native_messaging")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub author_id: u64,
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    pub body: String,
    /// Zendesk's default for a comment is public.
    #[serde(default = "public_by_default")]
    pub public: bool,
    #[serde(default)]
    pub created_at: Option<String>,
}

fn public_by_default() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// `end-user`, `agent` or `admin` (empty, so neither staff nor agent, when absent).
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    pub role: String,
    /// The agent's role type: `null` for a plain Agent or Admin; otherwise 0 custom agent
    /// role, 1 light agent, 2 chat-only agent, 3 contributor, 4 admin, 5 billing admin.
    #[serde(default)]
    pub role_type: Option<u64>,
}

pub const CUSTOM_AGENT_ROLE_TYPE: u64 = 0;
pub const LIGHT_AGENT_ROLE_TYPE: u64 = 1;
pub const CHAT_AGENT_ROLE_TYPE: u64 = 2;
pub const CONTRIBUTOR_ROLE_TYPE: u64 = 3;
pub const ADMIN_ROLE_TYPE: u64 = 4;
pub const BILLING_ADMIN_ROLE_TYPE: u64 = 5;

impl User {
    pub fn is_staff(&self) -> bool {
        matches!(self.role.as_str(), "agent" | "admin")
    }

    /// A full agent can author public comments on tickets: an Agent (plain, or with a custom
    /// agent role) or an Admin. Light agents, chat-only agents, contributors and end users
    /// cannot, nor can an agent whose role type Deskmate does not know.
    pub fn is_full_agent(&self) -> bool {
        matches!(
            (self.role.as_str(), self.role_type),
            ("agent", None | Some(CUSTOM_AGENT_ROLE_TYPE))
                | (
                    "admin",
                    None | Some(ADMIN_ROLE_TYPE | BILLING_ADMIN_ROLE_TYPE)
                )
        )
    }

    /// The user's role as Admin Center names it, e.g. `light agent` or `chat-only agent
    /// (role_type 2)`, for messages that say why the user cannot be the bot.
    pub fn role_name(&self) -> String {
        let known = match self.role_type {
            None => None,
            Some(CUSTOM_AGENT_ROLE_TYPE) => Some("agent with a custom role"),
            Some(LIGHT_AGENT_ROLE_TYPE) => Some("light agent"),
            Some(CHAT_AGENT_ROLE_TYPE) => Some("chat-only agent"),
            Some(CONTRIBUTOR_ROLE_TYPE) => Some("contributor"),
            Some(ADMIN_ROLE_TYPE) => Some("admin"),
            Some(BILLING_ADMIN_ROLE_TYPE) => Some("billing admin"),
            Some(_) => None,
        };
        match (known, self.role_type) {
            (Some(name), Some(role_type)) => format!("{name} (role_type {role_type})"),
            (None, Some(role_type)) => {
                format!(
                    "{} with an unknown role type (role_type {role_type})",
                    self.role
                )
            }
            (_, None) => match self.role.as_str() {
                "end-user" => "end user".to_owned(),
                "" => "user without a role".to_owned(),
                other => other.to_owned(),
            },
        }
    }
}

/// A ticket's comments with the users who wrote them.
#[derive(Clone, Debug, Default)]
pub struct CommentThread {
    pub comments: Vec<Comment>,
    pub users: Vec<User>,
}

impl CommentThread {
    pub fn author(&self, comment: &Comment) -> Option<&User> {
        self.users.iter().find(|user| user.id == comment.author_id)
    }
}

/// `PUT /api/v2/tickets/{id}` body fields Deskmate sends.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TicketUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<NewComment>,
    /// `Some(None)` unassigns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Option<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_tags: Vec<String>,
    /// With `safe_update`, Zendesk answers 409 if the ticket changed after this stamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_stamp: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub safe_update: bool,
}

impl TicketUpdate {
    /// An update that fails with 409 if the ticket changed since `ticket` was read.
    pub fn guarded(ticket: &Ticket) -> Self {
        Self {
            updated_stamp: Some(ticket.updated_at.clone()),
            safe_update: true,
            ..Self::default()
        }
    }
}

/// `POST /api/v2/tickets` body fields Deskmate sends (the create-ticket tool).
#[derive(Clone, Debug, Serialize)]
pub struct NewTicket {
    pub subject: String,
    /// Zendesk finds the user by email, or creates an end user with this name.
    pub requester: NewRequester,
    pub comment: NewTicketComment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NewRequester {
    pub email: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct NewTicketComment {
    pub body: String,
    pub public: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct NewComment {
    pub html_body: String,
    pub public: bool,
    pub author_id: u64,
}

/// A brand as `GET /api/v2/brands/{id}` shows it (the fields Deskmate reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Brand {
    pub id: u64,
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    pub name: String,
    /// The brand's zendesk.com subdomain: its Help Center is served on
    /// `{subdomain}.zendesk.com` (whatever custom domain `host_mapping` adds).
    pub subdomain: String,
    #[serde(default)]
    pub has_help_center: bool,
    /// `enabled`, `disabled` or `restricted`.
    #[serde(default)]
    pub help_center_state: Option<String>,
}

impl Brand {
    /// Whether the brand has a Help Center its customers can open: one not yet activated
    /// (`disabled`) has no article a bot may link to.
    pub fn has_live_help_center(&self) -> bool {
        self.has_help_center && self.help_center_state.as_deref() != Some("disabled")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_ticket_without_a_requester_parses_and_says_so() {
        // The Tickets API's JSON, trimmed to a few fields; `requester_id` is nullable.
        let ticket: Ticket = serde_json::from_value(json!({
            "id": 35436,
            "subject": "My printer is on fire!",
            "status": "open",
            "requester_id": null,
            "submitter_id": 123,
            "assignee_id": 235323,
            "tags": ["enterprise"],
            "updated_at": "2011-05-05T10:38:52Z",
            "via": {"channel": "web"}
        }))
        .unwrap();
        assert_eq!(ticket.requester(), None);
        assert_eq!(ticket.assignee_id, Some(235323));

        let with_requester: Ticket =
            serde_json::from_value(json!({"id": 1, "requester_id": 20978392})).unwrap();
        assert_eq!(with_requester.requester(), Some(20978392));
    }

    #[test]
    fn only_the_id_is_required_of_a_ticket() {
        let ticket: Ticket = serde_json::from_value(json!({"id": 35436, "tags": null})).unwrap();
        assert_eq!(ticket.id, 35436);
        assert_eq!(ticket.updated_at, "");
        assert_eq!(ticket.status, "");
        assert!(ticket.tags.is_empty());
        assert_eq!(ticket.requester(), None);
    }

    #[test]
    fn comments_are_public_unless_zendesk_says_otherwise() {
        let comment: Comment =
            serde_json::from_value(json!({"id": 1274, "author_id": 123123, "body": null})).unwrap();
        assert!(comment.public);
        assert_eq!(comment.body, "");
    }

    #[test]
    fn only_agents_and_admins_who_can_post_public_replies_are_full_agents() {
        let user = |role: &str, role_type: Option<u64>| User {
            id: 1,
            name: "Bot".into(),
            email: None,
            role: role.into(),
            role_type,
        };
        for (role, role_type) in [
            ("agent", None),
            ("agent", Some(0)),
            ("admin", None),
            ("admin", Some(4)),
            ("admin", Some(5)),
        ] {
            assert!(
                user(role, role_type).is_full_agent(),
                "{role} {role_type:?}"
            );
        }
        for (role, role_type, name) in [
            ("agent", Some(1), "light agent (role_type 1)"),
            ("agent", Some(2), "chat-only agent (role_type 2)"),
            ("agent", Some(3), "contributor (role_type 3)"),
            (
                "agent",
                Some(9),
                "agent with an unknown role type (role_type 9)",
            ),
            ("end-user", None, "end user"),
        ] {
            let user = user(role, role_type);
            assert!(!user.is_full_agent(), "{role} {role_type:?}");
            assert_eq!(user.role_name(), name);
        }
        let unknown: User = serde_json::from_value(json!({"id": 7})).unwrap();
        assert!(!unknown.is_full_agent() && !unknown.is_staff());
    }

    #[test]
    fn a_brand_reads_from_the_brands_api_shape() {
        // Show Brand's documented fields, written here in its shape (not copied).
        let shown = json!({
            "active": true,
            "brand_url": "https://help.outlet.example",
            "created_at": "2026-04-02T22:55:29Z",
            "default": false,
            "has_help_center": true,
            "help_center_state": "enabled",
            "host_mapping": "help.outlet.example",
            "id": 360002783572_u64,
            "is_deleted": false,
            "logo": null,
            "name": "Acme Outlet",
            "signature_template": "{{agent.signature}}",
            "subdomain": "acme-outlet",
            "ticket_form_ids": [47, 33],
            "updated_at": "2026-04-02T22:55:29Z",
            "url": "https://acme.zendesk.com/api/v2/brands/360002783572.json"
        });
        let brand: Brand = serde_json::from_value(shown.clone()).unwrap();
        assert_eq!(brand.subdomain, "acme-outlet");
        assert!(brand.has_live_help_center());

        let mut not_activated = shown.clone();
        not_activated["help_center_state"] = json!("disabled");
        let brand: Brand = serde_json::from_value(not_activated).unwrap();
        assert!(!brand.has_live_help_center());

        let mut none = shown;
        none["has_help_center"] = json!(false);
        let brand: Brand = serde_json::from_value(none).unwrap();
        assert!(!brand.has_live_help_center());
    }
}
