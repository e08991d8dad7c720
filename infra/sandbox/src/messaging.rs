//! Messaging (the Web Widget): the Conversations app with its integrations (one web widget per
//! brand, custom integrations with webhooks, the Agent Workspace), the switchboard that decides
//! who is in control of a conversation, and the Agent Workspace's messaging tickets.

use std::collections::BTreeMap;

use pulldown_cmark::{Parser, html};
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::triggers::Outgoing;
use crate::world::{Delivery, Role, World, html_to_text, random_hex};

pub const AGENT_WORKSPACE_TYPE: &str = "zd:agentWorkspace";

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

/// A widget conversation as the sandbox sees it: its messages, who is in control (a
/// switchboard integration's name) and the Agent Workspace's ticket for it, if any.
#[derive(Clone, Debug, Serialize)]
pub struct ConversationView {
    pub id: String,
    pub messages: Vec<ConversationMessage>,
    pub in_control: Option<String>,
    pub ticket_id: Option<u64>,
    /// How many `typing:start` activities were posted.
    pub typing_indicators: usize,
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
}

pub(crate) struct ConversationState {
    pub user_id: String,
    /// The brand widget the customer writes from.
    pub widget: String,
    pub active: Option<String>,
    pub messages: Vec<ConversationMessage>,
    pub typing: usize,
    pub ticket: Option<u64>,
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
    /// Events held back to be sent in one payload.
    pub held: Option<Vec<Value>>,
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

    pub fn conversation_json(&self, id: &str) -> Value {
        let mut conversation = json!({"id": id, "type": "personal"});
        if let Some(active) = self.conversations.get(id).and_then(|c| c.active.as_deref())
            && let Some(s) = self.switchboard_integration(active)
        {
            conversation["activeSwitchboardIntegration"] = Self::switchboard_integration_json(s);
        }
        conversation
    }

    pub fn message_json(&self, message: &ConversationMessage) -> Value {
        let mut author = json!({"type": message.author_type});
        if let Some(user) = &message.user_id {
            author["userId"] = json!(user);
            author["user"] = json!({"id": user, "authenticated": false});
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
        let mut content = json!({"type": "text", "text": message.text});
        if let Some(html) = &message.html_text {
            content["htmlText"] = json!(html);
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

    pub(crate) fn add_message(
        &mut self,
        conversation: &str,
        message: ConversationMessage,
    ) -> Vec<Outgoing> {
        let messaging = self.messaging();
        let default = messaging.default_integration.clone();
        let Some(state) = messaging.conversations.get_mut(conversation) else {
            return Vec::new();
        };
        // A customer writing to a conversation nobody controls wakes the default responder.
        if message.author_type == "user" && state.active.is_none() {
            state.active = default;
        }
        state.messages.push(message.clone());
        let payload = json!({
            "conversation": messaging.conversation_json(conversation),
            "message": messaging.message_json(&message),
            "recentNotifications": [],
        });
        self.emit(conversation, "conversation:message", payload)
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
        let kind = messaging
            .integrations
            .iter()
            .find(|i| i.id == widget)
            .map_or("web".to_owned(), |i| i.kind.clone());
        let message = ConversationMessage {
            id: object_id(),
            received: now_millis(),
            author_type: "user".into(),
            user_id: Some(user),
            display_name: name,
            avatar_url: None,
            subtypes: Vec::new(),
            text: text.to_owned(),
            html_text: None,
            markdown_text: None,
            source_type: kind,
            integration_id: Some(widget),
            metadata: None,
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
                    m.text
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

    /// A solved or closed messaging ticket hands the conversation back to whoever is next
    /// after the Agent Workspace, as Zendesk does (`reason: ticketClosed`).
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
        if let Some(state) = self.messaging().conversations.get_mut(&conversation) {
            state.ticket = None;
        }
        self.pass_control(&conversation, "next", None, Some("ticketClosed"))
            .unwrap_or_default()
    }

    pub(crate) fn open_conversation(
        &mut self,
        widget: &str,
        name: &str,
    ) -> (String, Vec<Outgoing>) {
        let email = format!("{}@widget.example", object_id());
        let support_user = self.add_user(name, &email, Role::EndUser);
        let messaging = self.messaging();
        let user = object_id();
        messaging
            .users
            .insert(user.clone(), (name.to_owned(), support_user));
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
                widget: widget.to_owned(),
                active: default,
                messages: Vec::new(),
                typing: 0,
                ticket: None,
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

    pub(crate) fn business_message(
        &mut self,
        conversation: &str,
        body: &Value,
    ) -> Result<(Value, Vec<Outgoing>), String> {
        let author = &body["author"];
        if author["type"] != "business" && author["type"] != "user" {
            return Err("author.type must be business or user".into());
        }
        let content = &body["content"];
        if content["type"] != "text" {
            return Err("only text content is supported by this sandbox".into());
        }
        let fields: Vec<&str> = ["text", "htmlText", "markdownText"]
            .into_iter()
            .filter(|f| content[*f].is_string())
            .collect();
        if fields.is_empty() || (fields.contains(&"htmlText") && fields.contains(&"markdownText")) {
            return Err("content needs text, or htmlText or markdownText (not both)".into());
        }
        for field in &fields {
            if content[*field].as_str().unwrap_or_default().chars().count() > 4096 {
                return Err(format!("content.{field} is longer than 4096 characters"));
            }
        }
        let markdown = content["markdownText"].as_str().map(str::to_owned);
        let html = match &markdown {
            Some(markdown) => Some(markdown_to_html(markdown)),
            None => content["htmlText"].as_str().map(str::to_owned),
        };
        if html.as_ref().is_some_and(|h| h.chars().count() > 4096) {
            return Err(
                "the HTML that content.markdownText converts to is longer than 4096 characters"
                    .into(),
            );
        }
        let text = match (&html, content["text"].as_str()) {
            (_, Some(text)) => text.to_owned(),
            (Some(html), None) => html_to_text(html),
            (None, None) => String::new(),
        };
        if !self.messaging().conversations.contains_key(conversation) {
            return Err("conversation_not_found".into());
        }
        let message = ConversationMessage {
            id: object_id(),
            received: now_millis(),
            author_type: author["type"].as_str().unwrap_or_default().to_owned(),
            user_id: None,
            display_name: author["displayName"].as_str().map(str::to_owned),
            avatar_url: author["avatarUrl"].as_str().map(str::to_owned),
            subtypes: author["subtypes"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            text,
            html_text: html,
            markdown_text: markdown,
            source_type: "api:conversations".into(),
            integration_id: None,
            metadata: body["metadata"].as_object().cloned(),
        };
        let json = self.messaging().message_json(&message);
        let outgoing = self.add_message(conversation, message);
        Ok((json, outgoing))
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

    /// A human agent answers in the Agent Workspace (a business message without Deskmate's
    /// marks); returns the message id.
    pub(crate) fn workspace_agent_says(
        &mut self,
        conversation: &str,
        name: &str,
        text: &str,
    ) -> Result<(String, Vec<Outgoing>), String> {
        let body = json!({"author": {"type": "business", "displayName": name}, "content": {"type": "text", "text": text}});
        let (message, outgoing) = self.business_message(conversation, &body)?;
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        Ok((id, outgoing))
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
            messages: state.messages.clone(),
            in_control,
            ticket_id: state.ticket,
            typing_indicators: state.typing,
        })
    }
}
