//! Messaging (the Web Widget): the Conversations app with its integrations (one web widget per
//! brand, custom integrations with webhooks, the Agent Workspace), the switchboard that decides
//! who is in control of a conversation, and the Agent Workspace's messaging tickets.
//!
//! Besides widget visitors, the Conversations API makes users (`externalId`) and personal
//! conversations for them, and posts their text, image and file messages. Humans in the Agent
//! Workspace write as `business` authors of subtype `agent` (`source.type: zd:agentWorkspace`),
//! Zendesk's bots as subtype `bot` (`zd:answerBot`); files they send are private attachments
//! the sandbox serves with the app's key. While the Agent Workspace has a messaging ticket open,
//! the customer's messages are added to it as public comments; solving it releases control.

use std::collections::BTreeMap;

use pulldown_cmark::{Parser, html};
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::triggers::Outgoing;
use crate::world::{Delivery, Role, World, html_to_text, random_hex};

pub const AGENT_WORKSPACE_TYPE: &str = "zd:agentWorkspace";
/// The source of Zendesk's automated messages (bots, flows).
pub const ANSWER_BOT_TYPE: &str = "zd:answerBot";

pub(crate) struct Integration {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub brand_id: Option<u64>,
    pub webhook: Option<ConversationsWebhook>,
    /// The switchboard integration that takes new conversations of this channel; the app's
    /// default when `None`.
    pub default_responder: Option<String>,
}

pub(crate) struct ConversationsWebhook {
    pub id: String,
    pub target: String,
    pub triggers: Vec<String>,
    pub secret: String,
}

pub(crate) struct SwitchboardIntegration {
    pub id: String,
    pub name: String,
    pub integration_id: String,
    pub integration_type: String,
    pub deliver_standby_events: bool,
    pub next: Option<String>,
}

/// The Conversations API key of the sandbox's app.
#[derive(Clone, Debug, Serialize)]
pub struct MessagingKeys {
    pub app_id: String,
    pub key_id: String,
    pub key_secret: String,
}

/// A conversation as the sandbox sees it: its messages, who is in control (a switchboard
/// integration's name), the Agent Workspace's ticket for it, if any, and what it was created
/// with (the channel a customer writes from, or the metadata of one the API created).
#[derive(Clone, Debug, Serialize)]
pub struct ConversationView {
    pub id: String,
    /// The messaging user whose conversation it is.
    pub user_id: String,
    /// The channel integration (a Web Widget, WhatsApp, …) the customer writes from; `None`
    /// for a conversation created with the API.
    pub widget: Option<String>,
    pub messages: Vec<ConversationMessage>,
    pub in_control: Option<String>,
    pub ticket_id: Option<u64>,
    /// How many `typing:start` activities were posted.
    pub typing_indicators: usize,
    /// The conversation's metadata, when it was given any.
    pub metadata: Option<Map<String, Value>>,
}

/// A message as stored; `markdown_text` is what the sender wrote (the API never returns it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConversationMessage {
    pub id: String,
    pub received: String,
    pub author_type: String,
    pub user_id: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub subtypes: Vec<String>,
    pub text: String,
    pub html_text: Option<String>,
    pub markdown_text: Option<String>,
    pub source_type: String,
    pub integration_id: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    /// The content's kind: `text`, `image` or `file`.
    pub content_type: String,
    /// Where an image or file is (absent for text).
    pub media_url: Option<String>,
    /// The media's type, e.g. `image/png` (absent for text).
    pub media_type: Option<String>,
    /// The media's size in bytes, when the sandbox holds the file itself.
    pub media_size: Option<u64>,
    /// An image's or file's description (by default its file name).
    pub alt_text: Option<String>,
}

pub(crate) struct ConversationState {
    pub user_id: String,
    /// The channel integration the customer writes from (a brand's widget, WhatsApp, …);
    /// `None` for a conversation created with the Conversations API.
    pub widget: Option<String>,
    pub active: Option<String>,
    pub messages: Vec<ConversationMessage>,
    pub typing: usize,
    pub ticket: Option<u64>,
    /// Flat metadata given when the conversation was created.
    pub metadata: Option<Map<String, Value>>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Whether it is its user's first personal conversation.
    pub is_default: bool,
    pub created_at: String,
    /// Creation order across the app (conversation ids are random).
    pub serial: u64,
}

/// A messaging user's record, as Create User keeps it (widget visitors have one too).
pub(crate) struct MessagingUser {
    pub external_id: Option<String>,
    /// `givenName`, `surname`, `email`, … as given.
    pub profile: Map<String, Value>,
    pub metadata: Map<String, Value>,
    pub signed_up_at: String,
}

/// A file a human sent from the Agent Workspace, served (with the app's key) at its media URL.
pub(crate) struct Attachment {
    pub file_name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

pub(crate) struct Messaging {
    pub app_id: String,
    pub key_id: String,
    pub key_secret: String,
    pub integrations: Vec<Integration>,
    pub switchboard_id: String,
    pub default_integration: Option<String>,
    pub switchboard_integrations: Vec<SwitchboardIntegration>,
    pub conversations: BTreeMap<String, ConversationState>,
    /// Messaging user id → (display name, Support user id).
    pub users: BTreeMap<String, (String, u64)>,
    /// Messaging user id → the user's record.
    pub user_records: BTreeMap<String, MessagingUser>,
    /// `externalId` → messaging user id.
    pub external_ids: BTreeMap<String, String>,
    /// Private attachments by the random part of their URL.
    pub attachments: BTreeMap<String, Attachment>,
    /// The next conversation's creation serial.
    pub next_serial: u64,
    /// Events held back to be sent in one payload.
    pub held: Option<Vec<Value>>,
}

/// A Conversations API refusal: its HTTP status, error code and title.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub title: String,
}

impl ApiError {
    pub fn bad_request(title: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: "bad_request",
            title: title.into(),
        }
    }

    pub fn not_found(code: &'static str, title: impl Into<String>) -> Self {
        Self {
            status: 404,
            code,
            title: title.into(),
        }
    }

    fn user_not_found() -> Self {
        Self::not_found("user_not_found", "User not found")
    }
}

/// A message's content as the API takes it: text, or an image or a file with its media.
pub(crate) struct Content {
    pub kind: String,
    pub text: String,
    pub html: Option<String>,
    pub markdown: Option<String>,
    pub media_url: Option<String>,
    pub media_type: Option<String>,
    pub media_size: Option<u64>,
    pub alt_text: Option<String>,
}

impl Content {
    pub fn text(text: &str) -> Self {
        Self {
            kind: "text".into(),
            text: text.to_owned(),
            html: None,
            markdown: None,
            media_url: None,
            media_type: None,
            media_size: None,
            alt_text: None,
        }
    }
}

/// The longest text, `htmlText` or `markdownText` a message may have.
const MAX_TEXT_CHARS: usize = 4096;
/// The longest `altText` of an image or file.
const MAX_ALT_TEXT_CHARS: usize = 128;
/// Metadata (conversations, users) is at most 4 KB of JSON.
const MAX_METADATA_BYTES: usize = 4096;

/// Reads `content` of a Post Message body: `text` (with `htmlText` or `markdownText`), or
/// `image` / `file` with an absolute http(s) `mediaUrl`, an optional `altText` (the file name
/// when absent, as Zendesk saves it) and `text`.
pub(crate) fn parse_content(content: &Value) -> Result<Content, String> {
    match content["type"].as_str() {
        Some("text") => parse_text(content),
        Some(kind @ ("image" | "file")) => parse_media(kind, content),
        Some(other) => Err(format!(
            "content.type {other} is not supported by this sandbox (text, image, file)"
        )),
        None => Err("content.type is required".into()),
    }
}

fn parse_text(content: &Value) -> Result<Content, String> {
    let fields: Vec<&str> = ["text", "htmlText", "markdownText"]
        .into_iter()
        .filter(|f| content[*f].is_string())
        .collect();
    if fields.is_empty() || (fields.contains(&"htmlText") && fields.contains(&"markdownText")) {
        return Err("content needs text, or htmlText or markdownText (not both)".into());
    }
    for field in &fields {
        if content[*field].as_str().unwrap_or_default().chars().count() > MAX_TEXT_CHARS {
            return Err(format!(
                "content.{field} is longer than {MAX_TEXT_CHARS} characters"
            ));
        }
    }
    let markdown = content["markdownText"].as_str().map(str::to_owned);
    let html = match &markdown {
        Some(markdown) => Some(markdown_to_html(markdown)),
        None => content["htmlText"].as_str().map(str::to_owned),
    };
    if html
        .as_ref()
        .is_some_and(|h| h.chars().count() > MAX_TEXT_CHARS)
    {
        return Err(format!(
            "the HTML that content.markdownText converts to is longer than {MAX_TEXT_CHARS} characters"
        ));
    }
    let text = match (&html, content["text"].as_str()) {
        (_, Some(text)) => text.to_owned(),
        (Some(html), None) => html_to_text(html),
        (None, None) => String::new(),
    };
    Ok(Content {
        html,
        markdown,
        ..Content::text(&text)
    })
}

fn parse_media(kind: &str, content: &Value) -> Result<Content, String> {
    let media_url = match &content["mediaUrl"] {
        Value::Null => return Err(format!("content.mediaUrl is required for {kind} messages")),
        Value::String(url) => url,
        _ => return Err("content.mediaUrl must be a string".into()),
    };
    let parsed = reqwest::Url::parse(media_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| "content.mediaUrl must be an absolute http(s) URL".to_owned())?;
    let alt_text = match &content["altText"] {
        Value::Null => file_name_of(&parsed),
        Value::String(alt) if alt.chars().count() <= MAX_ALT_TEXT_CHARS => Some(alt.clone()),
        Value::String(_) => {
            return Err(format!(
                "content.altText is longer than {MAX_ALT_TEXT_CHARS} characters"
            ));
        }
        _ => return Err("content.altText must be a string".into()),
    };
    let text = match &content["text"] {
        Value::Null => String::new(),
        Value::String(text) if text.chars().count() <= MAX_TEXT_CHARS => text.clone(),
        Value::String(_) => {
            return Err(format!(
                "content.text is longer than {MAX_TEXT_CHARS} characters"
            ));
        }
        _ => return Err("content.text must be a string".into()),
    };
    Ok(Content {
        kind: kind.to_owned(),
        media_type: Some(guess_media_type(parsed.path()).to_owned()),
        media_url: Some(media_url.clone()),
        alt_text,
        ..Content::text(&text)
    })
}

/// The last segment of a URL's path, when there is one.
fn file_name_of(url: &reqwest::Url) -> Option<String> {
    url.path_segments()
        .and_then(|mut segments| segments.next_back())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// The media type a file's extension suggests, as Zendesk stores for media it fetches.
pub(crate) fn guess_media_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or_default();
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Checks metadata as the API does: a flat object of strings, numbers and booleans, at most
/// 4 KB; `null` is none.
pub(crate) fn check_metadata(
    value: &Value,
    field: &str,
) -> Result<Option<Map<String, Value>>, String> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err(format!("{field} must be an object")),
    };
    if let Some((key, _)) = map
        .iter()
        .find(|(_, v)| !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
    {
        return Err(format!(
            "{field}.{key} must be a string, a number or a boolean"
        ));
    }
    if value.to_string().len() > MAX_METADATA_BYTES {
        return Err(format!("{field} is larger than 4 KB"));
    }
    Ok(Some(map.clone()))
}

/// `bytes` of a URL path segment, percent-encoded.
pub(crate) fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What a message says in a ticket comment: its text, and `[file] name url` for media.
pub(crate) fn plain_text(message: &ConversationMessage) -> String {
    let Some(url) = &message.media_url else {
        return message.text.clone();
    };
    let name = message
        .alt_text
        .clone()
        .or_else(|| {
            reqwest::Url::parse(url)
                .ok()
                .as_ref()
                .and_then(file_name_of)
        })
        .unwrap_or_else(|| message.content_type.clone());
    let line = format!("[file] {name} {url}");
    match message.text.is_empty() {
        true => line,
        false => format!("{}\n{line}", message.text),
    }
}

/// Conversations timestamps carry milliseconds.
fn now_millis() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).expect("valid");
    now.format(&Rfc3339).expect("formats")
}

pub(crate) fn object_id() -> String {
    random_hex(12)
}

pub(crate) fn markdown_to_html(markdown: &str) -> String {
    let mut out = String::new();
    html::push_html(&mut out, Parser::new(markdown));
    out
}

impl Messaging {
    pub(crate) fn switchboard_integration(&self, id: &str) -> Option<&SwitchboardIntegration> {
        self.switchboard_integrations.iter().find(|s| s.id == id)
    }

    pub fn switchboard_integration_json(s: &SwitchboardIntegration) -> Value {
        json!({"id": s.id, "name": s.name, "integrationId": s.integration_id, "integrationType": s.integration_type})
    }

    /// The conversation as webhooks carry it (`conversationTruncated`): with its metadata when
    /// it has any, and who is in control when anyone is.
    pub fn conversation_json(&self, id: &str) -> Value {
        let mut conversation = json!({"id": id, "type": "personal"});
        let state = self.conversations.get(id);
        if let Some(metadata) = state.and_then(|c| c.metadata.as_ref())
            && !metadata.is_empty()
        {
            conversation["metadata"] = Value::Object(metadata.clone());
        }
        if let Some(active) = state.and_then(|c| c.active.as_deref())
            && let Some(s) = self.switchboard_integration(active)
        {
            conversation["activeSwitchboardIntegration"] = Self::switchboard_integration_json(s);
        }
        conversation
    }

    /// The conversation as the API answers it (`conversation`): the webhook shape with
    /// `isDefault`, its names and its times.
    pub fn conversation_api_json(&self, id: &str) -> Value {
        let mut conversation = self.conversation_json(id);
        let Some(state) = self.conversations.get(id) else {
            return conversation;
        };
        conversation["isDefault"] = json!(state.is_default);
        if let Some(name) = &state.display_name {
            conversation["displayName"] = json!(name);
        }
        if let Some(description) = &state.description {
            conversation["description"] = json!(description);
        }
        let last = state
            .messages
            .last()
            .map_or(&state.created_at, |m| &m.received);
        conversation["lastUpdatedAt"] = json!(last);
        conversation["createdAt"] = json!(state.created_at);
        conversation
    }

    /// The messaging user whose id or `externalId` this is.
    pub fn find_user(&self, id_or_external_id: &str) -> Option<String> {
        if self.users.contains_key(id_or_external_id) {
            return Some(id_or_external_id.to_owned());
        }
        self.external_ids.get(id_or_external_id).cloned()
    }

    /// The user as the API answers it (`user`); `zendeskId` once the Support user is linked
    /// (Create User answers before Zendesk links it, so it leaves it out).
    pub fn user_json(&self, id: &str, with_zendesk_id: bool) -> Option<Value> {
        let (_, support_user) = self.users.get(id)?;
        let record = self.user_records.get(id);
        let mut user = json!({
            "id": id,
            "signedUpAt": record.map(|r| r.signed_up_at.clone()),
            "toBeRetained": false,
            "profile": record.map(|r| r.profile.clone()).unwrap_or_default(),
            "metadata": record.map(|r| r.metadata.clone()).unwrap_or_default(),
            "identities": [],
        });
        if let Some(external_id) = record.and_then(|r| r.external_id.as_ref()) {
            user["externalId"] = json!(external_id);
        }
        if with_zendesk_id {
            user["zendeskId"] = json!(support_user.to_string());
        }
        Some(user)
    }

    /// The user as webhooks and message authors carry it.
    fn webhook_user_json(&self, id: &str) -> Value {
        let mut user = json!({"id": id, "authenticated": false});
        if let Some(external_id) = self
            .user_records
            .get(id)
            .and_then(|r| r.external_id.as_ref())
        {
            user["externalId"] = json!(external_id);
        }
        user
    }

    pub fn message_json(&self, message: &ConversationMessage) -> Value {
        let mut author = json!({"type": message.author_type});
        if let Some(user) = &message.user_id {
            author["userId"] = json!(user);
            author["user"] = self.webhook_user_json(user);
        }
        if let Some(name) = &message.display_name {
            author["displayName"] = json!(name);
        }
        if let Some(avatar) = &message.avatar_url {
            author["avatarUrl"] = json!(avatar);
        }
        if !message.subtypes.is_empty() {
            author["subtypes"] = json!(message.subtypes);
        }
        let mut content = json!({"type": message.content_type});
        match &message.media_url {
            None => {
                content["text"] = json!(message.text);
                if let Some(html) = &message.html_text {
                    content["htmlText"] = json!(html);
                }
            }
            Some(url) => {
                content["mediaUrl"] = json!(url);
                if let Some(media_type) = &message.media_type {
                    content["mediaType"] = json!(media_type);
                }
                if let Some(size) = message.media_size {
                    content["mediaSize"] = json!(size);
                }
                if let Some(alt) = &message.alt_text {
                    content["altText"] = json!(alt);
                }
                if !message.text.is_empty() {
                    content["text"] = json!(message.text);
                }
            }
        }
        let mut source = json!({"type": message.source_type});
        if let Some(integration) = &message.integration_id {
            source["integrationId"] = json!(integration);
        }
        let mut json = json!({"id": message.id, "received": message.received, "author": author, "content": content, "source": source});
        if let Some(metadata) = &message.metadata {
            json["metadata"] = Value::Object(metadata.clone());
        }
        json
    }

    /// The switchboard integration that takes a conversation nobody controls: its channel's
    /// default responder, else the app's.
    fn default_responder_for(&self, conversation: &str) -> Option<String> {
        let widget = self
            .conversations
            .get(conversation)
            .and_then(|c| c.widget.as_deref());
        widget
            .and_then(|w| self.integrations.iter().find(|i| i.id == w))
            .and_then(|i| i.default_responder.clone())
            .or_else(|| self.default_integration.clone())
    }

    /// Whether an integration receives this conversation's events now: when it holds control,
    /// when it asked for standby events, or when it is not on the switchboard at all.
    fn receives(&self, integration: &Integration, conversation: &str) -> bool {
        let Some(member) = self
            .switchboard_integrations
            .iter()
            .find(|s| s.integration_id == integration.id)
        else {
            return true;
        };
        let active = self
            .conversations
            .get(conversation)
            .and_then(|c| c.active.as_deref());
        member.deliver_standby_events || active == Some(member.id.as_str())
    }
}

impl World {
    pub(crate) fn messaging(&mut self) -> &mut Messaging {
        self.messaging.get_or_insert_with(|| {
            let agent_workspace = SwitchboardIntegration {
                id: object_id(),
                name: "zd-agentWorkspace".into(),
                integration_id: object_id(),
                integration_type: AGENT_WORKSPACE_TYPE.into(),
                deliver_standby_events: false,
                next: None,
            };
            Messaging {
                app_id: object_id(),
                key_id: format!("app_{}", object_id()),
                key_secret: random_hex(32),
                integrations: vec![Integration {
                    id: agent_workspace.integration_id.clone(),
                    kind: AGENT_WORKSPACE_TYPE.into(),
                    display_name: "Agent Workspace".into(),
                    brand_id: None,
                    webhook: None,
                    default_responder: None,
                }],
                switchboard_id: object_id(),
                default_integration: Some(agent_workspace.id.clone()),
                switchboard_integrations: vec![agent_workspace],
                conversations: BTreeMap::new(),
                users: BTreeMap::new(),
                user_records: BTreeMap::new(),
                external_ids: BTreeMap::new(),
                attachments: BTreeMap::new(),
                next_serial: 0,
                held: None,
            }
        })
    }

    /// Sends `event` (type and payload) to every subscribed integration that should get it.
    pub(crate) fn emit(&mut self, conversation: &str, kind: &str, payload: Value) -> Vec<Outgoing> {
        let event =
            json!({"id": object_id(), "type": kind, "createdAt": now_millis(), "payload": payload});
        let messaging = self.messaging();
        let targets: Vec<(String, String, String)> = messaging
            .integrations
            .iter()
            // Control changes concern every party; other events follow the switchboard.
            .filter(|i| kind.starts_with("switchboard:") || messaging.receives(i, conversation))
            .filter_map(|i| i.webhook.as_ref())
            .filter(|w| w.triggers.iter().any(|t| t == kind || t == "*"))
            .map(|w| (w.id.clone(), w.target.clone(), w.secret.clone()))
            .collect();
        if let Some(held) = &mut messaging.held {
            held.push(event);
            return Vec::new();
        }
        targets
            .into_iter()
            .map(|(webhook, target, secret)| {
                self.send_events(&webhook, &target, &secret, vec![event.clone()])
            })
            .collect()
    }

    pub(crate) fn send_events(
        &mut self,
        webhook: &str,
        target: &str,
        secret: &str,
        events: Vec<Value>,
    ) -> Outgoing {
        let app_id = self.messaging().app_id.clone();
        let body = json!({"app": {"id": app_id}, "webhook": {"id": webhook, "version": "v2"}, "events": events});
        self.deliveries.push(Delivery {
            webhook_id: webhook.to_owned(),
            endpoint: target.to_owned(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-api-key".into(), secret.to_owned()),
                ("user-agent".into(), "Zendesk Conversations Webhook".into()),
            ],
            body: body.to_string(),
            status: None,
        });
        Outgoing(self.deliveries.len() - 1)
    }

    /// Sends the held events, in one payload per webhook.
    pub(crate) fn flush_held(&mut self) -> Vec<Outgoing> {
        let messaging = self.messaging();
        let events = messaging.held.take().unwrap_or_default();
        let webhooks: Vec<(String, String, String)> = messaging
            .integrations
            .iter()
            .filter_map(|i| i.webhook.as_ref())
            .map(|w| (w.id.clone(), w.target.clone(), w.secret.clone()))
            .collect();
        if events.is_empty() {
            return Vec::new();
        }
        webhooks
            .into_iter()
            .map(|(id, target, secret)| self.send_events(&id, &target, &secret, events.clone()))
            .collect()
    }

    /// Stores a message and sends `conversation:message`. A customer writing to a conversation
    /// nobody controls wakes the default responder, and while the Agent Workspace has a ticket
    /// open for the conversation, the customer's messages land on it as public comments.
    pub(crate) fn add_message(
        &mut self,
        conversation: &str,
        message: ConversationMessage,
    ) -> Vec<Outgoing> {
        let messaging = self.messaging();
        let default = messaging.default_responder_for(conversation);
        let Some(state) = messaging.conversations.get_mut(conversation) else {
            return Vec::new();
        };
        if message.author_type == "user" && state.active.is_none() {
            state.active = default;
        }
        state.messages.push(message.clone());
        let ticket = state.ticket;
        let payload = json!({
            "conversation": messaging.conversation_json(conversation),
            "message": messaging.message_json(&message),
            "recentNotifications": [],
        });
        let mut outgoing = self.emit(conversation, "conversation:message", payload);
        if message.author_type == "user"
            && let Some(ticket) = ticket
            && let Some(requester) = self.tickets.get(&ticket).map(|t| t.view.requester_id)
        {
            outgoing.extend(self.comment(requester, ticket, &plain_text(&message), true));
        }
        outgoing
    }

    fn new_message(author_type: &str, source_type: &str, content: Content) -> ConversationMessage {
        ConversationMessage {
            id: object_id(),
            received: now_millis(),
            author_type: author_type.to_owned(),
            user_id: None,
            display_name: None,
            avatar_url: None,
            subtypes: Vec::new(),
            text: content.text,
            html_text: content.html,
            markdown_text: content.markdown,
            source_type: source_type.to_owned(),
            integration_id: None,
            metadata: None,
            content_type: content.kind,
            media_url: content.media_url,
            media_type: content.media_type,
            media_size: content.media_size,
            alt_text: content.alt_text,
        }
    }

    pub(crate) fn user_message(
        &mut self,
        conversation: &str,
        text: &str,
    ) -> (String, Vec<Outgoing>) {
        let messaging = self.messaging();
        let state = &messaging.conversations[conversation];
        let user = state.user_id.clone();
        let name = messaging.users.get(&user).map(|(name, _)| name.clone());
        let widget = state.widget.clone();
        let kind = widget
            .as_deref()
            .and_then(|w| messaging.integrations.iter().find(|i| i.id == w))
            .map_or("web".to_owned(), |i| i.kind.clone());
        let message = ConversationMessage {
            user_id: Some(user),
            display_name: name,
            integration_id: widget,
            ..Self::new_message("user", &kind, Content::text(text))
        };
        let id = message.id.clone();
        (id, self.add_message(conversation, message))
    }

    /// Moves control of a conversation; creates the messaging ticket when the Agent Workspace
    /// takes over. `target` is a switchboard integration id, name, type, or `next`.
    pub(crate) fn pass_control(
        &mut self,
        conversation: &str,
        target: &str,
        metadata: Option<Map<String, Value>>,
        reason: Option<&str>,
    ) -> Result<Vec<Outgoing>, &'static str> {
        let messaging = self.messaging();
        let state = messaging
            .conversations
            .get(conversation)
            .ok_or("conversation_not_found")?;
        let current = state.active.clone();
        let resolved = if target == "next" {
            current
                .as_deref()
                .and_then(|id| messaging.switchboard_integration(id))
                .and_then(|s| s.next.clone())
        } else {
            messaging
                .switchboard_integrations
                .iter()
                .find(|s| s.id == target || s.name == target || s.integration_type == target)
                .map(|s| s.id.clone())
        };
        let new_active = resolved.ok_or("switchboard_integration_not_found")?;
        if current.as_deref() == Some(new_active.as_str()) {
            // Control is already there: nothing changes, nothing is announced.
            return Ok(Vec::new());
        }
        let to_agent_workspace = messaging
            .switchboard_integration(&new_active)
            .is_some_and(|s| s.integration_type == AGENT_WORKSPACE_TYPE);
        messaging
            .conversations
            .get_mut(conversation)
            .expect("exists")
            .active = Some(new_active);
        let mut payload = json!({"conversation": messaging.conversation_json(conversation)});
        if let Some(metadata) = &metadata {
            payload["metadata"] = Value::Object(metadata.clone());
        }
        if let Some(reason) = reason {
            payload["reason"] = json!(reason);
        }
        let mut outgoing = self.emit(conversation, "switchboard:passControl", payload);
        if to_agent_workspace {
            outgoing.extend(self.open_messaging_ticket(conversation, metadata.unwrap_or_default()));
        }
        Ok(outgoing)
    }

    pub(crate) fn release_control(
        &mut self,
        conversation: &str,
        metadata: Option<Map<String, Value>>,
    ) -> Result<Vec<Outgoing>, &'static str> {
        self.release_control_because(conversation, metadata, None)
    }

    /// Nobody is in control afterwards; `switchboard:releaseControl` says why, when it is
    /// Zendesk's doing (`ticketClosed`).
    pub(crate) fn release_control_because(
        &mut self,
        conversation: &str,
        metadata: Option<Map<String, Value>>,
        reason: Option<&str>,
    ) -> Result<Vec<Outgoing>, &'static str> {
        let messaging = self.messaging();
        let state = messaging
            .conversations
            .get_mut(conversation)
            .ok_or("conversation_not_found")?;
        state.active = None;
        let mut payload = json!({"conversation": messaging.conversation_json(conversation)});
        if let Some(metadata) = metadata {
            payload["metadata"] = Value::Object(metadata);
        }
        if let Some(reason) = reason {
            payload["reason"] = json!(reason);
        }
        Ok(self.emit(conversation, "switchboard:releaseControl", payload))
    }

    /// The Agent Workspace's ticket for a conversation handed to it: a messaging ticket for the
    /// customer, unassigned, with the conversation so far and the tags passed in metadata.
    fn open_messaging_ticket(
        &mut self,
        conversation: &str,
        metadata: Map<String, Value>,
    ) -> Vec<Outgoing> {
        let messaging = self.messaging();
        let state = &messaging.conversations[conversation];
        let (name, requester) = messaging.users[&state.user_id].clone();
        let first = metadata.get("first_message_id").and_then(Value::as_str);
        let start = first
            .and_then(|id| state.messages.iter().position(|m| m.id == id))
            .unwrap_or(0);
        let transcript: Vec<String> = state.messages[start..]
            .iter()
            .map(|m| {
                format!(
                    "{}: {}",
                    m.display_name.as_deref().unwrap_or(&m.author_type),
                    plain_text(m)
                )
            })
            .collect();
        let tags: Vec<String> = metadata
            .get("dataCapture.systemField.tags")
            .and_then(Value::as_str)
            .map(|tags| tags.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let comment = self.new_comment(requester, Some(&transcript.join("\n")), None, true);
        let (ticket, outgoing) = self.create_ticket(
            requester,
            requester,
            None,
            &format!("Conversation with {name}"),
            comment,
            "native_messaging",
            None,
        );
        if let Some(entry) = self.tickets.get_mut(&ticket) {
            entry.view.tags.extend(tags);
        }
        if let Some(state) = self.messaging().conversations.get_mut(conversation) {
            state.ticket = Some(ticket);
        }
        outgoing
    }

    /// A solved or closed messaging ticket: the Agent Workspace, if it holds the conversation,
    /// releases control as Zendesk does (`switchboard:releaseControl`, `reason: ticketClosed`);
    /// the customer's next message wakes the default responder.
    pub(crate) fn messaging_ticket_closed(&mut self, ticket: u64) -> Vec<Outgoing> {
        let Some(messaging) = self.messaging.as_ref() else {
            return Vec::new();
        };
        let Some(conversation) = messaging
            .conversations
            .iter()
            .find(|(_, c)| c.ticket == Some(ticket))
            .map(|(id, _)| id.clone())
        else {
            return Vec::new();
        };
        let messaging = self.messaging();
        let Some(state) = messaging.conversations.get_mut(&conversation) else {
            return Vec::new();
        };
        state.ticket = None;
        let active = state.active.clone();
        let agent_workspace_holds = active
            .as_deref()
            .and_then(|id| messaging.switchboard_integration(id))
            .is_some_and(|s| s.integration_type == AGENT_WORKSPACE_TYPE);
        if !agent_workspace_holds {
            return Vec::new();
        }
        self.release_control_because(&conversation, None, Some("ticketClosed"))
            .unwrap_or_default()
    }

    /// The next conversation's creation serial.
    fn next_serial(&mut self) -> u64 {
        let messaging = self.messaging();
        messaging.next_serial += 1;
        messaging.next_serial
    }

    pub(crate) fn open_conversation(
        &mut self,
        widget: &str,
        name: &str,
    ) -> (String, Vec<Outgoing>) {
        let email = format!("{}@widget.example", object_id());
        let support_user = self.add_user(name, &email, Role::EndUser);
        let serial = self.next_serial();
        let messaging = self.messaging();
        let user = object_id();
        messaging
            .users
            .insert(user.clone(), (name.to_owned(), support_user));
        let mut profile = Map::new();
        profile.insert("givenName".into(), json!(name));
        messaging.user_records.insert(
            user.clone(),
            MessagingUser {
                external_id: None,
                profile,
                metadata: Map::new(),
                signed_up_at: now_millis(),
            },
        );
        let conversation = object_id();
        // The channel's own default responder, else the app's (Zendesk's switchboard rule).
        let channel = messaging.integrations.iter().find(|i| i.id == widget);
        let kind = channel.map_or("web".to_owned(), |i| i.kind.clone());
        let default = channel
            .and_then(|i| i.default_responder.clone())
            .or_else(|| messaging.default_integration.clone());
        messaging.conversations.insert(
            conversation.clone(),
            ConversationState {
                user_id: user.clone(),
                widget: Some(widget.to_owned()),
                active: default,
                messages: Vec::new(),
                typing: 0,
                ticket: None,
                metadata: None,
                display_name: None,
                description: None,
                is_default: true,
                created_at: now_millis(),
                serial,
            },
        );
        let payload = json!({
            "conversation": messaging.conversation_json(&conversation),
            "user": {"id": user, "authenticated": false},
            "creationReason": "startConversation",
            "source": {"type": kind, "integrationId": widget},
        });
        let outgoing = self.emit(&conversation, "conversation:create", payload);
        (conversation, outgoing)
    }

    /// Create User: a messaging user with an `externalId` (unique), its profile and metadata,
    /// linked to a new Support end user as Zendesk links them. Answers the user.
    pub(crate) fn create_messaging_user(&mut self, body: &Value) -> Result<Value, ApiError> {
        let external_id = match &body["externalId"] {
            Value::String(id) if !id.is_empty() && id.chars().count() <= 1024 => id.clone(),
            Value::String(_) => {
                return Err(ApiError::bad_request(
                    "externalId must be 1 to 1024 characters",
                ));
            }
            Value::Null => return Err(ApiError::bad_request("externalId is required")),
            _ => return Err(ApiError::bad_request("externalId must be a string")),
        };
        let profile = match &body["profile"] {
            Value::Null => Map::new(),
            Value::Object(profile) => profile.clone(),
            _ => return Err(ApiError::bad_request("profile must be an object")),
        };
        for (field, longest) in [
            ("givenName", 128),
            ("surname", 128),
            ("email", 128),
            ("locale", 64),
            ("avatarUrl", 2048),
        ] {
            match profile.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::String(v)) if !v.is_empty() && v.chars().count() <= longest => {}
                Some(_) => {
                    return Err(ApiError::bad_request(format!(
                        "profile.{field} must be a string of 1 to {longest} characters"
                    )));
                }
            }
        }
        let email = profile.get("email").and_then(Value::as_str);
        if email.is_some_and(|e| !e.contains('@')) {
            return Err(ApiError::bad_request(
                "profile.email is not an email address",
            ));
        }
        let metadata = check_metadata(&body["metadata"], "metadata")
            .map_err(ApiError::bad_request)?
            .unwrap_or_default();
        let signed_up_at = match &body["signedUpAt"] {
            Value::Null => now_millis(),
            Value::String(at) if OffsetDateTime::parse(at, &Rfc3339).is_ok() => at.clone(),
            _ => {
                return Err(ApiError::bad_request("signedUpAt must be an ISO 8601 time"));
            }
        };
        if self.messaging().external_ids.contains_key(&external_id) {
            return Err(ApiError {
                status: 409,
                code: "conflict",
                title: "User already exists".into(),
            });
        }
        let user = object_id();
        let names: Vec<&str> = ["givenName", "surname"]
            .into_iter()
            .filter_map(|f| profile.get(f).and_then(Value::as_str))
            .collect();
        let name = match names.join(" ").trim() {
            "" => external_id.clone(),
            name => name.to_owned(),
        };
        let email = email.map_or_else(|| format!("{user}@messaging.example"), str::to_owned);
        let support_user = self.add_user(&name, &email, Role::EndUser);
        let messaging = self.messaging();
        messaging.users.insert(user.clone(), (name, support_user));
        messaging
            .external_ids
            .insert(external_id.clone(), user.clone());
        messaging.user_records.insert(
            user.clone(),
            MessagingUser {
                external_id: Some(external_id),
                profile,
                metadata,
                signed_up_at,
            },
        );
        Ok(messaging.user_json(&user, false).expect("just created"))
    }

    /// Create Conversation: a `personal` conversation for one existing user, with optional
    /// names and flat metadata. The app's default responder takes it, and `conversation:create`
    /// goes out (`creationReason: none`, `source.type: api`). Answers the conversation.
    pub(crate) fn create_api_conversation(
        &mut self,
        body: &Value,
    ) -> Result<(Value, Vec<Outgoing>), ApiError> {
        match &body["type"] {
            Value::String(kind) if kind == "personal" => {}
            Value::String(kind) if kind == "sdkGroup" => {
                return Err(ApiError::bad_request(
                    "this sandbox supports personal conversations only",
                ));
            }
            Value::Null => return Err(ApiError::bad_request("type is required")),
            _ => return Err(ApiError::bad_request("type must be personal or sdkGroup")),
        }
        let participants = match &body["participants"] {
            Value::Array(participants) => participants,
            Value::Null => {
                return Err(ApiError::bad_request(
                    "participants is required for personal conversations",
                ));
            }
            _ => return Err(ApiError::bad_request("participants must be an array")),
        };
        let [participant] = participants.as_slice() else {
            return Err(ApiError::bad_request(
                "personal conversations need exactly 1 participant",
            ));
        };
        let (reference, by_external_id) =
            match (&participant["userId"], &participant["userExternalId"]) {
                (Value::String(id), Value::Null) => (id.clone(), false),
                (Value::Null, Value::String(id)) => (id.clone(), true),
                _ => {
                    return Err(ApiError::bad_request(
                        "a participant needs userId or userExternalId (not both)",
                    ));
                }
            };
        let mut names = [None, None];
        for (slot, field) in names.iter_mut().zip(["displayName", "description"]) {
            *slot = match &body[field] {
                Value::Null => None,
                Value::String(v) if !v.is_empty() && v.chars().count() <= 100 => Some(v.clone()),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "{field} must be a string of 1 to 100 characters"
                    )));
                }
            };
        }
        let [display_name, description] = names;
        let metadata =
            check_metadata(&body["metadata"], "metadata").map_err(ApiError::bad_request)?;
        let messaging = self.messaging();
        let user = match by_external_id {
            true => messaging.external_ids.get(&reference).cloned(),
            false => messaging
                .users
                .contains_key(&reference)
                .then_some(reference),
        }
        .ok_or_else(ApiError::user_not_found)?;
        let is_default = !messaging.conversations.values().any(|c| c.user_id == user);
        let serial = self.next_serial();
        let messaging = self.messaging();
        let conversation = object_id();
        let default = messaging.default_integration.clone();
        messaging.conversations.insert(
            conversation.clone(),
            ConversationState {
                user_id: user.clone(),
                widget: None,
                active: default,
                messages: Vec::new(),
                typing: 0,
                ticket: None,
                metadata,
                display_name,
                description,
                is_default,
                created_at: now_millis(),
                serial,
            },
        );
        let answer = messaging.conversation_api_json(&conversation);
        let payload = json!({
            "conversation": messaging.conversation_json(&conversation),
            "user": messaging.webhook_user_json(&user),
            "creationReason": "none",
            "source": {"type": "api"},
        });
        let outgoing = self.emit(&conversation, "conversation:create", payload);
        Ok((answer, outgoing))
    }

    /// Post Message: a business message, or a message as the conversation's user (`author.userId`
    /// or `author.userExternalId`), with text, image or file content. Answers the message.
    pub(crate) fn api_message(
        &mut self,
        conversation: &str,
        body: &Value,
    ) -> Result<(Value, Vec<Outgoing>), ApiError> {
        let author = &body["author"];
        let author_type = match author["type"].as_str() {
            Some(kind @ ("business" | "user")) => kind,
            _ => {
                return Err(ApiError::bad_request(
                    "author.type must be business or user",
                ));
            }
        };
        let content = parse_content(&body["content"]).map_err(ApiError::bad_request)?;
        let messaging = self.messaging();
        let Some(state) = messaging.conversations.get(conversation) else {
            return Err(ApiError::not_found(
                "conversation_not_found",
                "Conversation not found",
            ));
        };
        let mut message = Self::new_message(author_type, "api:conversations", content);
        message.metadata = body["metadata"].as_object().cloned();
        if author_type == "user" {
            let user = match (&author["userId"], &author["userExternalId"]) {
                (Value::String(id), Value::Null) => {
                    messaging.users.contains_key(id).then(|| id.clone())
                }
                (Value::Null, Value::String(external)) => {
                    messaging.external_ids.get(external).cloned()
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "a user author needs userId or userExternalId (not both)",
                    ));
                }
            }
            .ok_or_else(ApiError::user_not_found)?;
            if state.user_id != user {
                return Err(ApiError::bad_request(
                    "the user is not a participant of the conversation",
                ));
            }
            message.display_name = messaging.users.get(&user).map(|(name, _)| name.clone());
            message.user_id = Some(user);
        } else {
            message.display_name = author["displayName"].as_str().map(str::to_owned);
            message.avatar_url = author["avatarUrl"].as_str().map(str::to_owned);
            message.subtypes = author["subtypes"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
        }
        let json = messaging.message_json(&message);
        let outgoing = self.add_message(conversation, message);
        Ok((json, outgoing))
    }

    /// A business message from one of Zendesk's own integrations (`source.type`), with the
    /// author's subtype as Zendesk reports it (`agent`, `bot`).
    fn zendesk_message(
        &mut self,
        conversation: &str,
        name: &str,
        subtype: &str,
        source_type: &str,
        content: Content,
    ) -> Result<(String, Vec<Outgoing>), String> {
        if !self.messaging().conversations.contains_key(conversation) {
            return Err("conversation_not_found".into());
        }
        let message = ConversationMessage {
            display_name: Some(name.to_owned()),
            subtypes: vec![subtype.to_owned()],
            ..Self::new_message("business", source_type, content)
        };
        let id = message.id.clone();
        Ok((id, self.add_message(conversation, message)))
    }

    /// A human agent answers in the Agent Workspace: a business message of subtype `agent`
    /// from `zd:agentWorkspace`. Returns the message id.
    pub(crate) fn workspace_agent_says(
        &mut self,
        conversation: &str,
        name: &str,
        text: &str,
    ) -> Result<(String, Vec<Outgoing>), String> {
        let content = parse_text(&json!({"type": "text", "text": text}))?;
        self.zendesk_message(conversation, name, "agent", AGENT_WORKSPACE_TYPE, content)
    }

    /// A human agent sends a file from the Agent Workspace (an `image` when its media type is
    /// one): the sandbox keeps it as a private attachment, served with the app's key at
    /// `{base_url}/sc/attachments/{random}/{file_name}`. Returns the message id.
    pub(crate) fn workspace_agent_sends_file(
        &mut self,
        conversation: &str,
        name: &str,
        file: Attachment,
        text: Option<&str>,
    ) -> Result<(String, Vec<Outgoing>), String> {
        if text.is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
            return Err(format!(
                "the text is longer than {MAX_TEXT_CHARS} characters"
            ));
        }
        if file.file_name.is_empty() {
            return Err("the file needs a name".into());
        }
        let token = random_hex(16);
        let media_url = format!(
            "{}/sc/attachments/{token}/{}",
            self.base_url,
            encode_segment(&file.file_name)
        );
        let kind = match file.media_type.starts_with("image/") {
            true => "image",
            false => "file",
        };
        let content = Content {
            kind: kind.into(),
            media_url: Some(media_url),
            media_type: Some(file.media_type.clone()),
            media_size: Some(file.bytes.len() as u64),
            alt_text: Some(file.file_name.chars().take(MAX_ALT_TEXT_CHARS).collect()),
            ..Content::text(text.unwrap_or_default())
        };
        let answer =
            self.zendesk_message(conversation, name, "agent", AGENT_WORKSPACE_TYPE, content)?;
        self.messaging().attachments.insert(token, file);
        Ok(answer)
    }

    /// An automated message (a Zendesk bot or flow): a business message of subtype `bot` from
    /// `zd:answerBot`, by "Support". Returns the message id.
    pub(crate) fn automation_says(
        &mut self,
        conversation: &str,
        text: &str,
    ) -> Result<(String, Vec<Outgoing>), String> {
        let content = parse_text(&json!({"type": "text", "text": text}))?;
        self.zendesk_message(conversation, "Support", "bot", ANSWER_BOT_TYPE, content)
    }

    /// Turns messaging on (a Conversations app with an API key, the Agent Workspace on the
    /// switchboard) if it is not on yet; returns the app's key.
    pub(crate) fn enable_messaging(&mut self) -> MessagingKeys {
        self.messaging();
        self.messaging_keys().expect("messaging is on")
    }

    /// The Conversations API key, once messaging is on.
    pub(crate) fn messaging_keys(&self) -> Option<MessagingKeys> {
        self.messaging.as_ref().map(|messaging| MessagingKeys {
            app_id: messaging.app_id.clone(),
            key_id: messaging.key_id.clone(),
            key_secret: messaging.key_secret.clone(),
        })
    }

    /// A brand's Web Widget; returns its integration id.
    pub(crate) fn add_web_widget(&mut self, brand: u64, name: &str) -> String {
        self.add_channel("web", Some(brand), name)
    }

    /// A channel integration of `kind` (`web`, `whatsapp`, `telegram`, …); returns its id.
    pub(crate) fn add_channel(&mut self, kind: &str, brand: Option<u64>, name: &str) -> String {
        let id = object_id();
        self.messaging().integrations.push(Integration {
            id: id.clone(),
            kind: kind.into(),
            display_name: name.to_owned(),
            brand_id: brand,
            webhook: None,
            default_responder: None,
        });
        id
    }

    /// Whether `widget` is one of the account's Web Widgets.
    pub(crate) fn is_web_widget(&self, widget: &str) -> bool {
        self.messaging.as_ref().is_some_and(|m| {
            m.integrations
                .iter()
                .any(|i| i.id == widget && i.kind == "web")
        })
    }

    /// A custom integration with a webhook to `target`; returns its id and shared secret.
    pub(crate) fn add_conversations_integration(
        &mut self,
        name: &str,
        target: &str,
        triggers: &[&str],
    ) -> (String, String) {
        let id = object_id();
        let secret = random_hex(24);
        self.messaging().integrations.push(Integration {
            id: id.clone(),
            kind: "custom".into(),
            display_name: name.to_owned(),
            brand_id: None,
            webhook: Some(ConversationsWebhook {
                id: object_id(),
                target: target.to_owned(),
                triggers: triggers.iter().map(|t| t.to_string()).collect(),
                secret: secret.clone(),
            }),
            default_responder: None,
        });
        (id, secret)
    }

    /// Puts `integration` on the switchboard as the default responder, with the Agent
    /// Workspace next after it and itself next after the Agent Workspace.
    pub(crate) fn make_default_responder(&mut self, integration: &str, name: &str) {
        let messaging = self.messaging();
        let agent_workspace = messaging
            .switchboard_integrations
            .iter()
            .find(|s| s.integration_type == AGENT_WORKSPACE_TYPE)
            .map(|s| s.id.clone())
            .expect("messaging has the Agent Workspace");
        let id = object_id();
        messaging
            .switchboard_integrations
            .push(SwitchboardIntegration {
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

    pub(crate) fn conversation_view(&self, id: &str) -> Option<ConversationView> {
        let messaging = self.messaging.as_ref()?;
        let state = messaging.conversations.get(id)?;
        let in_control = state
            .active
            .as_deref()
            .and_then(|active| messaging.switchboard_integration(active))
            .map(|s| s.name.clone());
        Some(ConversationView {
            id: id.to_owned(),
            user_id: state.user_id.clone(),
            widget: state.widget.clone(),
            messages: state.messages.clone(),
            in_control,
            ticket_id: state.ticket,
            typing_indicators: state.typing,
            metadata: state.metadata.clone(),
        })
    }

    /// Whether the switchboard integration named `name` gets events while another one is in
    /// control; false when there is none of that name.
    pub(crate) fn set_standby_events(&mut self, name: &str, on: bool) -> bool {
        match self
            .messaging()
            .switchboard_integrations
            .iter_mut()
            .find(|s| s.name == name)
        {
            Some(member) => {
                member.deliver_standby_events = on;
                true
            }
            None => false,
        }
    }

    /// The messaging user with this `externalId`: its id and its Support user's id.
    pub(crate) fn messaging_user(&self, external_id: &str) -> Option<(String, u64)> {
        let messaging = self.messaging.as_ref()?;
        let user = messaging.external_ids.get(external_id)?;
        let (_, support_user) = messaging.users.get(user)?;
        Some((user.clone(), *support_user))
    }

    /// The ids of a messaging user's conversations, oldest first.
    pub(crate) fn conversations_of_user(&self, user: &str) -> Vec<String> {
        let Some(messaging) = self.messaging.as_ref() else {
            return Vec::new();
        };
        let mut mine: Vec<(&String, &ConversationState)> = messaging
            .conversations
            .iter()
            .filter(|(_, c)| c.user_id == user)
            .collect();
        mine.sort_by_key(|(_, c)| c.serial);
        mine.into_iter().map(|(id, _)| id.clone()).collect()
    }
}
