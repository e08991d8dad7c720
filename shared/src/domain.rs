//! The nouns of Deskmate: stores, threads (a ticket or a conversation), jobs and bot state.

use std::fmt;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::auth::TokenHash;

/// Identifies one connected store (one brand's bot). Appears in URLs, so it is kept URL-safe.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoreId(String);

impl StoreId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidStoreId> {
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidStoreId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a store id is 1-64 characters of a-z, 0-9, '-' or '_'")]
pub struct InvalidStoreId;

impl TryFrom<String> for StoreId {
    type Error = InvalidStoreId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<StoreId> for String {
    fn from(id: StoreId) -> Self {
        id.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreId({})", self.0)
    }
}

/// The id of a Conversations API object (a conversation, a message) as Deskmate accepts one
/// from outside: 1-64 ASCII letters, digits, '-' or '_' (Zendesk's are 24 hex digits). These
/// ids go into API paths and state keys, so nothing else gets through.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ConversationsId(String);

impl ConversationsId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidConversationsId> {
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidConversationsId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a Conversations id is 1-64 characters of A-Z, a-z, 0-9, '-' or '_'")]
pub struct InvalidConversationsId;

impl fmt::Display for ConversationsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConversationsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConversationsId({})", self.0)
    }
}

/// Which AI agent answers for a store.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case")]
pub enum AgentSettings {
    /// The embedded, offline agent that answers from a markdown knowledge file.
    Knowledge { knowledge_markdown: String },
    /// Any OpenAI-compatible Chat Completions endpoint; the API key lives in Secrets Manager.
    Openai {
        base_url: String,
        model: String,
        api_key_secret: String,
    },
    /// The customer's own agent service; turns are signed with the `whsec_…` secret stored in
    /// Secrets Manager under `signing_secret`.
    Webhook { url: String, signing_secret: String },
}

/// Everything Deskmate knows about a connected store. Inbound tokens are kept only as hashes;
/// outbound credentials are named here and fetched from Secrets Manager by the worker.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub id: StoreId,
    pub name: String,
    /// The Zendesk account subdomain (`acme` for acme.zendesk.com).
    pub subdomain: String,
    pub bot_email: String,
    /// The bot agent's Zendesk user id, learnt when the connection was tested.
    pub bot_user_id: u64,
    /// Set on multi-brand accounts: tickets of other brands are ignored.
    pub brand_id: Option<u64>,
    /// Secrets Manager id of the Zendesk API token.
    pub zendesk_token_secret: String,
    pub webhook_token_hash: TokenHash,
    /// The token AI agents present to the escalate tool endpoint.
    pub tool_token_hash: Option<TokenHash>,
    /// The Zendesk webhook signing secret; when set, every delivery must be signed with it.
    /// Kept with the store (not in Secrets Manager) so the ingress path needs no secret access.
    pub webhook_signing_secret: Option<SecretString>,
    /// Group that escalated tickets are handed to; unassigned within the current group when absent.
    pub escalation_group_id: Option<u64>,
    pub instructions: String,
    /// What the customer is told when a human takes over.
    pub handoff_message: String,
    pub agent: AgentSettings,
    /// The brand's Web Widget (its Conversations integration id) this store answers; a store
    /// without one answers the account's unmapped widgets.
    pub widget_integration_id: Option<String>,
    /// The name and avatar the bot shows in the Web Widget.
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// Sent when a customer opens a new widget conversation.
    pub welcome_message: String,
    /// Whether the bot answers email tickets itself or leaves drafts for a human.
    pub mode: StoreMode,
    /// Where bridge sessions' events go (chats outside Zendesk carried in to a human).
    pub bridge: Option<BridgeSettings>,
}

/// A store's bridge: the caller's webhook, and the `whsec_…` secret (stored in Secrets Manager
/// under `signing_secret`) that signs its deliveries and the attachment links in them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeSettings {
    pub webhook_url: String,
    pub signing_secret: String,
}

/// How the bot answers email tickets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreMode {
    /// The agent's answer is sent to the customer.
    #[default]
    Auto,
    /// The agent's answer becomes an internal draft note and the ticket goes to a human, who
    /// reviews and sends it; nothing reaches the customer from the bot.
    Draft,
}

impl StoreMode {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "auto" => Some(StoreMode::Auto),
            "draft" => Some(StoreMode::Draft),
            _ => None,
        }
    }
}

impl StoreConfig {
    pub const DEFAULT_HANDOFF_MESSAGE: &'static str = "Thanks for your patience. I've passed your request to our support team; a person will reply here shortly.";
    pub const DEFAULT_WELCOME_MESSAGE: &'static str =
        "Hi! I'm the virtual assistant. Ask me anything, or ask for a person at any time.";
}

/// One Zendesk account's Conversations API settings, shared by all its stores. The inbound
/// shared secret is kept as a hash; the API key secret lives in Secrets Manager.
#[derive(Clone, Debug)]
pub struct ConversationsAccount {
    /// The Zendesk subdomain; the Conversations webhook URL ends with it.
    pub subdomain: String,
    pub app_id: String,
    pub key_id: String,
    pub key_secret_name: String,
    pub shared_secret_hash: TokenHash,
    /// Deskmate's own Conversations integration: when it holds the switchboard, the bot answers.
    pub integration_id: String,
}

/// What happened in a widget conversation that the worker must act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConversationEvent {
    /// A customer wrote; `message_id` is the message the webhook announced.
    UserMessage { message_id: String },
    /// A customer opened a conversation: welcome them.
    Created,
}

/// A place where a customer talks to the bot: an email ticket or a widget conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Thread {
    Ticket(u64),
    Conversation(String),
}

impl fmt::Display for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Thread::Ticket(id) => write!(f, "ticket:{id}"),
            Thread::Conversation(id) => write!(f, "conversation:{id}"),
        }
    }
}

/// Who is answering a thread right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotState {
    /// The bot answers.
    Bot,
    /// A hand-off is recorded and under way: the bot stays silent while its steps finish.
    HandingOff,
    /// Handed to a human: the bot stays silent.
    Escalated,
    /// A human handed the thread back: the bot answers again.
    Resumed,
}

impl BotState {
    pub fn bot_may_answer(self) -> bool {
        !matches!(self, BotState::Escalated | BotState::HandingOff)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BotState::Bot => "bot",
            BotState::HandingOff => "handing_off",
            BotState::Escalated => "escalated",
            BotState::Resumed => "resumed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "bot" => Some(BotState::Bot),
            "handing_off" => Some(BotState::HandingOff),
            "escalated" => Some(BotState::Escalated),
            "resumed" => Some(BotState::Resumed),
            _ => None,
        }
    }
}

/// On tickets the create-ticket tool made: the new-ticket trigger leaves them alone, so the
/// bot never answers its own tickets.
pub const CREATED_TAG: &str = "deskmate_created";

/// The reason of a hand-off the customer asked for.
pub const CUSTOMER_ASKED: &str = "The customer asked to talk to a person.";

/// A hand-off as it was decided, recorded before the customer hears of it so that whoever
/// resumes it (a redelivered job, the follow-up job, the dead-letter consumer) finishes the same
/// hand-off: the same notice, the same note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffIntent {
    /// Marks the customer notice, so a retry can see it was posted.
    pub id: String,
    pub reason: String,
    /// The internal note for the human.
    pub note: String,
    /// What the customer is told.
    pub notice: String,
    /// Web Widget: the first message the agent should see.
    #[serde(default)]
    pub first_message_id: Option<String>,
}

/// What the Zendesk side of a bridge session did, as its webhook event told it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BridgeInbound {
    /// The business wrote: a human agent in the Agent Workspace, or automation.
    BusinessMessage {
        message_id: String,
        /// Written by a person in the Agent Workspace (else by a bot, trigger or app).
        from_agent: bool,
        #[serde(default)]
        author_name: Option<String>,
        content: BridgeContent,
    },
    /// Zendesk released the conversation: the ticket was solved or closed, or moved to email.
    Released {
        #[serde(default)]
        reason: Option<String>,
    },
}

/// A message's content as the bridge relays it: text, or an image or file with a caption.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeContent {
    /// `text`, `image` or `file` (other kinds are relayed as their text).
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    /// Where Zendesk keeps the file; private attachments need the app's credentials.
    #[serde(default)]
    pub media_url: Option<String>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub alt_text: Option<String>,
}

/// A chat that lives outside Zendesk, carried into a Zendesk conversation for a human agent.
/// Each step of opening it is recorded as it is done, so a retry resumes where a crash left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeSession {
    pub store_id: StoreId,
    /// The caller's own id for the chat session.
    pub id: String,
    /// Fingerprint of the request that opened it: the same id with other content is refused.
    pub fingerprint: String,
    /// The Zendesk subdomain whose Conversations app holds the conversation.
    pub account: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// The summary message the messaging ticket starts at.
    #[serde(default)]
    pub context_message_id: Option<String>,
    /// Control was passed to the Agent Workspace: the session is open.
    #[serde(default)]
    pub handed_over: bool,
    /// Why the session ended, once it has.
    #[serde(default)]
    pub ended: Option<String>,
}

/// One event for a bridge session's caller, numbered in the order it was recorded; serialised
/// as the caller receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BridgeEvent {
    /// 1, 2, 3… per session: the polling cursor.
    pub seq: u64,
    /// Stable across redeliveries: the caller de-duplicates by it (`webhook-id`).
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was recorded, RFC 3339.
    pub timestamp: String,
    pub data: serde_json::Value,
}

/// The Zendesk trigger that announced a ticket job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketEvent {
    TicketCreated,
    CommentAdded,
}

/// Work for the reply worker. Each job names the thread; the worker reads the rest from Zendesk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    Ticket {
        store_id: StoreId,
        ticket_id: u64,
        event: TicketEvent,
    },
    Conversation {
        store_id: StoreId,
        /// The Zendesk subdomain whose Conversations app holds the conversation.
        account: String,
        conversation_id: String,
        event: ConversationEvent,
    },
    /// Finish a recorded hand-off: every step that is missing (notice, hand-over, and the
    /// summary note on the messaging ticket Zendesk opens for a conversation).
    Handoff {
        store_id: StoreId,
        thread: Thread,
        attempt: u32,
    },
    /// Deskmate holds a conversation it will not answer (another channel, a widget no store
    /// answers, a human wrote in it): pass it on to the next integration at once, silently.
    PassOn {
        /// The Zendesk subdomain whose Conversations app holds the conversation.
        account: String,
        conversation_id: String,
        reason: String,
    },
    /// Something happened on the Zendesk side of a bridge session (a chat carried in from
    /// outside Zendesk): tell the chat, by its webhook and its event log.
    Bridge {
        /// The Zendesk subdomain whose Conversations app holds the conversation.
        account: String,
        conversation_id: String,
        event: BridgeInbound,
    },
    /// Several jobs in one message (a large webhook payload's); each is run on its own, and
    /// one that fails goes on alone under the failure policy.
    Batch { jobs: Vec<Job> },
}

impl Job {
    /// A stable name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Ticket { .. } => "ticket",
            Job::Conversation { .. } => "conversation",
            Job::Handoff { .. } => "handoff",
            Job::PassOn { .. } => "pass_on",
            Job::Bridge { .. } => "bridge",
            Job::Batch { .. } => "batch",
        }
    }

    /// The store the job is for; none for a conversation no store answers.
    pub fn store_id(&self) -> Option<&StoreId> {
        match self {
            Job::Ticket { store_id, .. }
            | Job::Conversation { store_id, .. }
            | Job::Handoff { store_id, .. } => Some(store_id),
            Job::PassOn { .. } | Job::Bridge { .. } | Job::Batch { .. } => None,
        }
    }

    /// The thread the job is about; none for a batch.
    pub fn thread(&self) -> Option<Thread> {
        match self {
            Job::Ticket { ticket_id, .. } => Some(Thread::Ticket(*ticket_id)),
            Job::Conversation {
                conversation_id, ..
            }
            | Job::PassOn {
                conversation_id, ..
            }
            | Job::Bridge {
                conversation_id, ..
            } => Some(Thread::Conversation(conversation_id.clone())),
            Job::Handoff { thread, .. } => Some(thread.clone()),
            Job::Batch { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_are_url_safe() {
        assert!(StoreId::parse("acme-eu_2").is_ok());
        for bad in ["", "Acme", "a/b", "a b", "ä", &"x".repeat(65)] {
            assert!(StoreId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn conversations_ids_cannot_climb_out_of_a_path_segment() {
        assert!(ConversationsId::parse("65a1f0c2e4b0c1d2e3f4a5b6").is_ok());
        assert!(ConversationsId::parse("Conv_1-x").is_ok());
        for bad in [
            "",
            ".",
            "..",
            "x/../y",
            "a b",
            "a%2F",
            "a?b",
            "a#b",
            "a\nb",
            "ä",
            &"x".repeat(65),
        ] {
            assert!(
                ConversationsId::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn jobs_round_trip_through_json() {
        let job = Job::Ticket {
            store_id: StoreId::parse("acme").unwrap(),
            ticket_id: 42,
            event: TicketEvent::CommentAdded,
        };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(
            text,
            r#"{"job":"ticket","store_id":"acme","ticket_id":42,"event":"comment_added"}"#
        );
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), job);
    }
}
