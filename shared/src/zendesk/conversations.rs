//! The Conversations API client (`https://{subdomain}.zendesk.com/sc`, basic auth with the
//! app's key id and secret), for the Web Widget path.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::rest::RestClient;
use super::support::ZendeskConnector;
use super::{ZendeskError, account_base_url};
use crate::domain::ConversationsAccount;
use crate::http_retry::RetryPolicy;
use crate::render::markdown_to_safe_html;

/// Conversations caps a text message (and the HTML its markdown becomes) at 4096 characters.
pub const MAX_MESSAGE_CHARS: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwitchboardIntegrationRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub integration_id: String,
    #[serde(default)]
    pub integration_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    #[serde(default)]
    pub active_switchboard_integration: Option<SwitchboardIntegrationRef>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

impl Conversation {
    /// The switchboard gate: Deskmate acts on a conversation only while its own integration
    /// is the active one.
    pub fn controlled_by(&self, integration_id: &str) -> bool {
        self.active_switchboard_integration
            .as_ref()
            .is_some_and(|active| active.integration_id == integration_id)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageAuthor {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageContent {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSource {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub integration_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    // The spec makes every field optional: a message without one reads as empty (no author
    // is neither the customer nor Deskmate; no text is left out of the transcript).
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub author: MessageAuthor,
    #[serde(default)]
    pub content: MessageContent,
    #[serde(default)]
    pub source: Option<MessageSource>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

impl Message {
    pub fn from_user(&self) -> bool {
        self.author.kind == "user"
    }

    pub fn metadata_text(&self, key: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(key)?.as_str()
    }
}

/// A message from the business (the bot), as Deskmate sends it.
#[derive(Clone, Debug)]
pub struct BusinessMessage {
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// Rendered by Zendesk (bold, links, lists); at most [`MAX_MESSAGE_CHARS`].
    pub markdown: String,
    /// Marks Deskmate's own messages, so a retry can see what it already sent.
    pub metadata: Map<String, Value>,
}

/// The conversation operations the reply worker needs.
#[async_trait]
pub trait ConversationDesk: Send + Sync {
    async fn conversation(&self, id: &str) -> Result<Conversation, ZendeskError>;
    /// The most recent messages (up to 100), oldest first.
    async fn recent_messages(&self, conversation_id: &str) -> Result<Vec<Message>, ZendeskError>;
    async fn post_message(
        &self,
        conversation_id: &str,
        message: &BusinessMessage,
    ) -> Result<(), ZendeskError>;
    async fn typing_started(&self, conversation_id: &str) -> Result<(), ZendeskError>;
    /// Hands the conversation to `target` (a switchboard integration id or name, or `next`).
    async fn pass_control(
        &self,
        conversation_id: &str,
        target: &str,
        metadata: Map<String, Value>,
    ) -> Result<(), ZendeskError>;
}

/// Who a message Deskmate sends on a bridge session is from.
#[derive(Clone, Debug)]
pub enum Sender {
    /// The business (Deskmate's context and transcript for the agent).
    Business { display_name: String },
    /// The customer, writing from a chat outside Zendesk.
    User { user_id: String },
}

/// What a bridge message carries: text, or an image or file by URL with an optional caption.
#[derive(Clone, Debug)]
pub enum Payload {
    Text(String),
    Media {
        /// `image` or `file`.
        kind: &'static str,
        url: String,
        alt_text: Option<String>,
        text: Option<String>,
    },
}

/// A message Deskmate sends on a bridge session; `metadata` marks it so a retry can see it.
#[derive(Clone, Debug)]
pub struct BridgeMessage {
    pub sender: Sender,
    pub payload: Payload,
    pub metadata: Map<String, Value>,
}

/// Media a bridge relays is fetched whole; larger files are refused (a Lambda answer is at
/// most 6 MB, and base64 makes a file a third larger).
pub const MAX_MEDIA_BYTES: usize = 4 * 1024 * 1024;

/// The Conversations operations a bridge session needs beyond answering.
#[async_trait]
pub trait BridgeDesk: ConversationDesk {
    /// The id of the messaging user with this external id, if there is one.
    async fn user_by_external_id(&self, external_id: &str) -> Result<Option<String>, ZendeskError>;
    /// Creates a messaging user; [`ZendeskError::Conflict`] when the external id is taken.
    async fn create_user(
        &self,
        external_id: &str,
        name: &str,
        email: Option<&str>,
    ) -> Result<String, ZendeskError>;
    /// The user's conversations (every page).
    async fn conversations_of(&self, user_id: &str) -> Result<Vec<Conversation>, ZendeskError>;
    /// A new personal conversation for the user; returns its id.
    async fn create_conversation(
        &self,
        user_id: &str,
        display_name: &str,
        metadata: Map<String, Value>,
    ) -> Result<String, ZendeskError>;
    /// Posts the message; returns its id.
    async fn send(
        &self,
        conversation_id: &str,
        message: &BridgeMessage,
    ) -> Result<String, ZendeskError>;
    /// A message's media (private attachments need the app's credentials): its type and bytes.
    async fn download(&self, media_url: &str) -> Result<(String, Vec<u8>), ZendeskError>;
}

/// Opens an account's Conversations app for bridge sessions.
#[async_trait]
pub trait BridgeDesks: Send + Sync {
    async fn bridge_desk(
        &self,
        account: &ConversationsAccount,
    ) -> Result<Arc<dyn BridgeDesk>, ZendeskError>;
}

/// Opens an account's Conversations app.
#[async_trait]
pub trait ConversationDesks: Send + Sync {
    async fn desk_for(
        &self,
        account: &ConversationsAccount,
    ) -> Result<Arc<dyn ConversationDesk>, ZendeskError>;
}

#[derive(Clone)]
pub struct ConversationsClient {
    rest: RestClient,
}

impl ConversationsClient {
    pub fn new(
        http: reqwest::Client,
        account_base_url: &str,
        app_id: &str,
        key_id: &str,
        key_secret: &SecretString,
        policy: RetryPolicy,
    ) -> Self {
        let credentials = SecretString::from(format!("{key_id}:{}", key_secret.expose_secret()));
        let base = format!("{account_base_url}/sc/v2/apps/{app_id}");
        Self {
            rest: RestClient::new(http, base, &credentials, policy),
        }
    }

    fn conversation_url(&self, id: &str, tail: &str) -> Result<String, ZendeskError> {
        Ok(self
            .rest
            .url(&format!("/conversations/{}{tail}", path_segment(id)?)))
    }

    /// The app's switchboard (one per app) and its integrations.
    pub async fn switchboard(&self) -> Result<(Value, Vec<Value>), ZendeskError> {
        let listed: Value = self
            .rest
            .call(Method::GET, &self.rest.url("/switchboards"), None)
            .await?;
        let switchboard = listed["switchboards"]
            .as_array()
            .and_then(|s| s.first().cloned())
            .ok_or(ZendeskError::NotFound)?;
        let id = path_segment(switchboard["id"].as_str().unwrap_or_default())?;
        let members: Value = self
            .rest
            .call(
                Method::GET,
                &self
                    .rest
                    .url(&format!("/switchboards/{id}/switchboardIntegrations")),
                None,
            )
            .await?;
        Ok((
            switchboard.clone(),
            members["switchboardIntegrations"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        ))
    }

    pub async fn create_switchboard_integration(
        &self,
        switchboard: &str,
        body: &Value,
    ) -> Result<Value, ZendeskError> {
        let created: Value = self
            .rest
            .call(
                Method::POST,
                &self.rest.url(&format!(
                    "/switchboards/{}/switchboardIntegrations",
                    path_segment(switchboard)?
                )),
                Some(body),
            )
            .await?;
        Ok(created["switchboardIntegration"].clone())
    }

    pub async fn update_switchboard_integration(
        &self,
        switchboard: &str,
        id: &str,
        body: &Value,
    ) -> Result<(), ZendeskError> {
        let path = format!(
            "/switchboards/{}/switchboardIntegrations/{}",
            path_segment(switchboard)?,
            path_segment(id)?
        );
        let _: Value = self
            .rest
            .call(Method::PATCH, &self.rest.url(&path), Some(body))
            .await?;
        Ok(())
    }

    pub async fn update_switchboard(
        &self,
        switchboard: &str,
        body: &Value,
    ) -> Result<(), ZendeskError> {
        let _: Value = self
            .rest
            .call(
                Method::PATCH,
                &self
                    .rest
                    .url(&format!("/switchboards/{}", path_segment(switchboard)?)),
                Some(body),
            )
            .await?;
        Ok(())
    }

    /// Makes `responder` (a switchboard integration id) take the new conversations of the
    /// channel `integration`, or the app's default responder when `None`.
    pub async fn set_default_responder(
        &self,
        integration: &str,
        responder: Option<&str>,
    ) -> Result<(), ZendeskError> {
        let _: Value = self
            .rest
            .call(
                Method::PATCH,
                &self
                    .rest
                    .url(&format!("/integrations/{}", path_segment(integration)?)),
                Some(&json!({ "defaultResponderId": responder })),
            )
            .await?;
        Ok(())
    }

    /// The app's integrations of these types (e.g. `web` for the brands' widgets), every page
    /// of them (the list is cursor-paginated, 25 a page unless asked for up to 100).
    pub async fn integrations(&self, types: &str) -> Result<Vec<Value>, ZendeskError> {
        use super::support::LIST_PAGE_SIZE;
        self.list_all(
            format!("/integrations?filter[types]={types}&page[size]={LIST_PAGE_SIZE}"),
            "integrations",
        )
        .await
    }

    /// `POST …/conversations/{id}/messages` with `body`; the answer is `{"messages": [...]}`.
    async fn post_message_body(
        &self,
        conversation_id: &str,
        body: &Value,
    ) -> Result<Value, ZendeskError> {
        self.rest
            .call(
                Method::POST,
                &self.conversation_url(conversation_id, "/messages")?,
                Some(body),
            )
            .await
    }

    /// Every item under `key` of a cursor-paginated list, from `path` on, page by page.
    async fn list_all(&self, path: String, key: &str) -> Result<Vec<Value>, ZendeskError> {
        use super::support::{MAX_LIST_PAGES, next_page_url};
        let mut found = Vec::new();
        let mut next = Some(self.rest.url(&path));
        let mut asked = Vec::new();
        while let Some(url) = next.take() {
            if asked.contains(&url) || asked.len() == MAX_LIST_PAGES {
                tracing::warn!(pages = asked.len(), list = key, "list cut");
                break;
            }
            let page: Value = self.rest.call(Method::GET, &url, None).await?;
            found.extend(page[key].as_array().into_iter().flatten().cloned());
            next = next_page_url(&self.rest.base_url, &url, &page);
            asked.push(url);
        }
        Ok(found)
    }
}

#[async_trait]
impl ConversationDesk for ConversationsClient {
    async fn conversation(&self, id: &str) -> Result<Conversation, ZendeskError> {
        #[derive(Deserialize)]
        struct Envelope {
            conversation: Conversation,
        }
        let envelope: Envelope = self
            .rest
            .call(Method::GET, &self.conversation_url(id, "")?, None)
            .await?;
        Ok(envelope.conversation)
    }

    async fn recent_messages(&self, conversation_id: &str) -> Result<Vec<Message>, ZendeskError> {
        #[derive(Deserialize)]
        struct Page {
            messages: Vec<Message>,
        }
        let page: Page = self
            .rest
            .call(
                Method::GET,
                &self.conversation_url(conversation_id, "/messages")?,
                None,
            )
            .await?;
        Ok(page.messages)
    }

    async fn post_message(
        &self,
        conversation_id: &str,
        message: &BusinessMessage,
    ) -> Result<(), ZendeskError> {
        let mut author =
            json!({"type": "business", "displayName": message.display_name, "subtypes": ["AI"]});
        if let Some(avatar) = &message.avatar_url {
            author["avatarUrl"] = json!(avatar);
        }
        let body = json!({
            "author": author,
            "content": {"type": "text", "markdownText": message.markdown},
            "metadata": message.metadata,
        });
        self.post_message_body(conversation_id, &body).await?;
        Ok(())
    }

    async fn typing_started(&self, conversation_id: &str) -> Result<(), ZendeskError> {
        let body = json!({"author": {"type": "business"}, "type": "typing:start"});
        let _: Value = self
            .rest
            .call(
                Method::POST,
                &self.conversation_url(conversation_id, "/activity")?,
                Some(&body),
            )
            .await?;
        Ok(())
    }

    async fn pass_control(
        &self,
        conversation_id: &str,
        target: &str,
        metadata: Map<String, Value>,
    ) -> Result<(), ZendeskError> {
        let body = json!({"switchboardIntegration": target, "metadata": metadata});
        let _: Value = self
            .rest
            .call(
                Method::POST,
                &self.conversation_url(conversation_id, "/passControl")?,
                Some(&body),
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl BridgeDesk for ConversationsClient {
    async fn user_by_external_id(&self, external_id: &str) -> Result<Option<String>, ZendeskError> {
        let url = self
            .rest
            .url(&format!("/users/{}", path_segment(external_id)?));
        match self.rest.call::<Value>(Method::GET, &url, None).await {
            Ok(found) => Ok(found["user"]["id"].as_str().map(str::to_owned)),
            Err(ZendeskError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn create_user(
        &self,
        external_id: &str,
        name: &str,
        email: Option<&str>,
    ) -> Result<String, ZendeskError> {
        let mut profile = json!({ "givenName": name });
        if let Some(email) = email {
            profile["email"] = json!(email);
        }
        let body = json!({ "externalId": external_id, "profile": profile });
        let created: Value = self
            .rest
            .call(Method::POST, &self.rest.url("/users"), Some(&body))
            .await?;
        created["user"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ZendeskError::OutcomeUnknown("the new user's id is missing".into()))
    }

    async fn conversations_of(&self, user_id: &str) -> Result<Vec<Conversation>, ZendeskError> {
        use super::support::LIST_PAGE_SIZE;
        let path = format!(
            "/conversations?filter[userId]={}&page[size]={LIST_PAGE_SIZE}",
            path_segment(user_id)?
        );
        self.list_all(path, "conversations")
            .await?
            .into_iter()
            .map(|c| {
                serde_json::from_value(c).map_err(|err| ZendeskError::Malformed(err.to_string()))
            })
            .collect()
    }

    async fn create_conversation(
        &self,
        user_id: &str,
        display_name: &str,
        metadata: Map<String, Value>,
    ) -> Result<String, ZendeskError> {
        let body = json!({
            "type": "personal",
            "participants": [{ "userId": user_id }],
            "displayName": display_name,
            "metadata": metadata,
        });
        let created: Value = self
            .rest
            .call(Method::POST, &self.rest.url("/conversations"), Some(&body))
            .await?;
        created["conversation"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                ZendeskError::OutcomeUnknown("the new conversation's id is missing".into())
            })
    }

    async fn send(
        &self,
        conversation_id: &str,
        message: &BridgeMessage,
    ) -> Result<String, ZendeskError> {
        let author = match &message.sender {
            Sender::Business { display_name } => {
                json!({ "type": "business", "displayName": display_name })
            }
            Sender::User { user_id } => json!({ "type": "user", "userId": user_id }),
        };
        let content = match &message.payload {
            Payload::Text(text) => json!({ "type": "text", "text": text }),
            Payload::Media {
                kind,
                url,
                alt_text,
                text,
            } => {
                let mut content = json!({ "type": kind, "mediaUrl": url });
                if let Some(alt) = alt_text {
                    content["altText"] = json!(alt);
                }
                if let Some(text) = text {
                    content["text"] = json!(text);
                }
                content
            }
        };
        let body = json!({ "author": author, "content": content, "metadata": message.metadata });
        let posted = self.post_message_body(conversation_id, &body).await?;
        posted["messages"][0]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ZendeskError::OutcomeUnknown("the new message's id is missing".into()))
    }

    async fn download(&self, media_url: &str) -> Result<(String, Vec<u8>), ZendeskError> {
        self.rest.download(media_url, MAX_MEDIA_BYTES).await
    }
}

#[async_trait]
impl BridgeDesks for ZendeskConnector {
    async fn bridge_desk(
        &self,
        account: &ConversationsAccount,
    ) -> Result<Arc<dyn BridgeDesk>, ZendeskError> {
        Ok(Arc::new(self.conversations_client(account).await?))
    }
}

impl ZendeskConnector {
    pub async fn conversations_client(
        &self,
        account: &ConversationsAccount,
    ) -> Result<ConversationsClient, ZendeskError> {
        let key_secret = self.secrets.secret(&account.key_secret_name).await?;
        Ok(ConversationsClient::new(
            self.http.clone(),
            &account_base_url(&account.subdomain, self.base_override.as_deref()),
            &account.app_id,
            &account.key_id,
            &key_secret,
            self.policy,
        ))
    }
}

#[async_trait]
impl ConversationDesks for ZendeskConnector {
    async fn desk_for(
        &self,
        account: &ConversationsAccount,
    ) -> Result<Arc<dyn ConversationDesk>, ZendeskError> {
        Ok(Arc::new(self.conversations_client(account).await?))
    }
}

/// `id` as one URL path segment: every byte but ASCII letters, digits, '-', '_', '.' and '~'
/// percent-encoded, so an id cannot reach another path (`x/../y` stays one segment). An empty
/// id, `.` and `..` would still climb (a URL parser reads them, encoded or not, as the current
/// or parent segment) and name nothing: they are refused as not found.
fn path_segment(id: &str) -> Result<String, ZendeskError> {
    if matches!(id, "" | "." | "..") {
        return Err(ZendeskError::NotFound);
    }
    let mut segment = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(segment)
}

/// Splits a markdown reply into messages Zendesk accepts: each at most `max` characters, and
/// so is the HTML it renders to. Cuts between paragraphs, then lines, then words.
pub fn split_for_messaging(markdown: &str, max: usize) -> Vec<String> {
    let fits = |text: &str| {
        text.chars().count() <= max && markdown_to_safe_html(text).chars().count() <= max
    };
    let mut parts = Vec::new();
    let mut current = String::new();
    for piece in pieces(markdown, max / 2) {
        let candidate = if current.is_empty() {
            piece.clone()
        } else {
            format!("{current}{piece}")
        };
        if fits(&candidate) {
            current = candidate;
        } else {
            if !current.trim().is_empty() {
                parts.push(current.trim().to_owned());
            }
            current = piece;
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

/// The text cut into runs of at most `limit` characters, at the best boundary available.
fn pieces(text: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.split_inclusive("\n\n") {
        if paragraph.chars().count() <= limit {
            out.push(paragraph.to_owned());
            continue;
        }
        for line in paragraph.split_inclusive('\n') {
            if line.chars().count() <= limit {
                out.push(line.to_owned());
                continue;
            }
            let mut run = String::new();
            for word in line.split_inclusive(' ') {
                if run.chars().count() + word.chars().count() > limit && !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
                if word.chars().count() > limit {
                    let chars: Vec<char> = word.chars().collect();
                    out.extend(
                        chars
                            .chunks(limit)
                            .map(|chunk| chunk.iter().collect::<String>()),
                    );
                } else {
                    run.push_str(word);
                }
            }
            if !run.is_empty() {
                out.push(run);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn messages_missing_optional_fields_are_read() {
        let messages: Vec<Message> = serde_json::from_value(serde_json::json!([
            {"id": "1", "author": {"type": "user"}, "content": {"type": "text", "text": "hi"}},
            {"id": "2"},
            {"author": {"type": "business"}, "content": {"type": "image"}},
        ]))
        .expect("every optional field may be missing");
        assert!(messages[0].from_user());
        assert!(!messages[1].from_user() && messages[1].content.text.is_none());
        assert_eq!(messages[2].id, "");
    }

    use super::*;

    #[test]
    fn long_replies_are_split_under_the_limit_without_losing_text() {
        let paragraph =
            "Our **returns** policy: see [the page](https://acme.test/returns). ".repeat(20);
        let reply = vec![paragraph; 8].join("\n\n");
        let parts = split_for_messaging(&reply, MAX_MESSAGE_CHARS);
        assert!(parts.len() > 2, "{}", parts.len());
        for part in &parts {
            assert!(part.chars().count() <= MAX_MESSAGE_CHARS);
            assert!(markdown_to_safe_html(part).chars().count() <= MAX_MESSAGE_CHARS);
        }
        let words = |text: &str| {
            text.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(words(&parts.join(" ")), words(&reply));
    }

    #[test]
    fn ids_stay_inside_their_path_segment() {
        assert_eq!(
            path_segment("65a1f0c2e4b0c1d2e3f4a5b6").unwrap(),
            "65a1f0c2e4b0c1d2e3f4a5b6"
        );
        assert_eq!(path_segment("x/../y").unwrap(), "x%2F..%2Fy");
        assert_eq!(path_segment("a?b#c d%").unwrap(), "a%3Fb%23c%20d%25");
        assert_eq!(path_segment("é").unwrap(), "%C3%A9");
        for climbing in ["", ".", ".."] {
            assert!(matches!(
                path_segment(climbing),
                Err(ZendeskError::NotFound)
            ));
        }
        let client = ConversationsClient::new(
            reqwest::Client::new(),
            "https://acme.zendesk.com",
            "app",
            "key",
            &SecretString::from("secret"),
            RetryPolicy::default(),
        );
        for (id, tail) in [("x/../other", "/messages"), ("x%2F..%2Fother", "")] {
            let url = url::Url::parse(&client.conversation_url(id, tail).unwrap()).unwrap();
            assert_eq!(
                url.path_segments().unwrap().count(),
                6 + usize::from(!tail.is_empty())
            );
            assert!(
                url.path().starts_with("/sc/v2/apps/app/conversations/x%2"),
                "{url}"
            );
        }
    }

    #[test]
    fn a_single_endless_word_is_cut_too() {
        let parts = split_for_messaging(&"x".repeat(10_000), MAX_MESSAGE_CHARS);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_MESSAGE_CHARS));
        assert_eq!(parts.concat().len(), 10_000);
        assert_eq!(
            split_for_messaging("Hello", MAX_MESSAGE_CHARS),
            vec!["Hello"]
        );
    }
}
