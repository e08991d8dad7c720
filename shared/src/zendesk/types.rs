//! Support API shapes, as Zendesk documents them (only the fields Deskmate reads or writes;
//! everything else is ignored on the way in).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    #[serde(default)]
    pub subject: Option<String>,
    pub status: String,
    pub requester_id: u64,
    #[serde(default)]
    pub submitter_id: Option<u64>,
    #[serde(default)]
    pub assignee_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub brand_id: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub updated_at: String,
    #[serde(default)]
    pub via: Option<Via>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Via {
    #[serde(default)]
    pub channel: String,
}

impl Ticket {
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
    #[serde(default)]
    pub body: String,
    pub public: bool,
    #[serde(default)]
    pub created_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// `end-user`, `agent` or `admin`.
    pub role: String,
    /// Set for agents with a custom role; 1 is a light agent.
    #[serde(default)]
    pub role_type: Option<u64>,
}

impl User {
    pub fn is_staff(&self) -> bool {
        matches!(self.role.as_str(), "agent" | "admin")
    }

    /// A full agent can author public comments; light agents and end users cannot.
    pub fn is_full_agent(&self) -> bool {
        self.role == "admin"
            || (self.role == "agent" && self.role_type != Some(LIGHT_AGENT_ROLE_TYPE))
    }
}

pub const LIGHT_AGENT_ROLE_TYPE: u64 = 1;

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

#[derive(Clone, Debug, Serialize)]
pub struct NewComment {
    pub html_body: String,
    pub public: bool,
    pub author_id: u64,
}
