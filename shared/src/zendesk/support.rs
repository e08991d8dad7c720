//! The Zendesk Support API client (`{email}/token:{api_token}` basic auth).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::rest::RestClient;
use super::{
    Comment, CommentThread, Ticket, TicketDesk, TicketDesks, TicketUpdate, User, ZendeskError,
};
use crate::domain::StoreConfig;
use crate::http_retry::RetryPolicy;
use crate::secrets::SecretStore;

/// Zendesk lists at most 100 comments a page; a ticket longer than this many pages is cut.
const MAX_COMMENT_PAGES: usize = 20;

#[derive(Clone)]
pub struct SupportClient {
    rest: RestClient,
}

impl std::fmt::Debug for SupportClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupportClient")
            .field("base_url", &self.rest.base_url)
            .finish_non_exhaustive()
    }
}

/// `https://{subdomain}.zendesk.com`, unless an override (the sandbox) is given.
pub fn account_base_url(subdomain: &str, base_override: Option<&str>) -> String {
    match base_override {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => format!("https://{subdomain}.zendesk.com"),
    }
}

impl SupportClient {
    pub fn new(
        http: reqwest::Client,
        base_url: String,
        email: &str,
        api_token: &SecretString,
        policy: RetryPolicy,
    ) -> Self {
        let credentials =
            SecretString::from(format!("{email}/token:{}", api_token.expose_secret()));
        Self {
            rest: RestClient::new(http, base_url, &credentials, policy),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<T, ZendeskError> {
        self.rest.call(method, url, body).await
    }

    fn url(&self, path: &str) -> String {
        self.rest.url(path)
    }

    /// The user the API token belongs to.
    pub async fn me(&self) -> Result<User, ZendeskError> {
        #[derive(Deserialize)]
        struct Envelope {
            user: User,
        }
        let envelope: Envelope = self
            .call(Method::GET, &self.url("/api/v2/users/me"), None)
            .await?;
        Ok(envelope.user)
    }

    /// Creates the trigger-connected webhook named `name` (bearer authentication), or updates
    /// the one that exists; returns its id.
    pub async fn upsert_webhook(
        &self,
        name: &str,
        endpoint: &str,
        bearer_token: &SecretString,
    ) -> Result<String, ZendeskError> {
        let body = json!({"webhook": {
            "name": name,
            "endpoint": endpoint,
            "http_method": "POST",
            "request_format": "json",
            "status": "active",
            "subscriptions": ["conditional_ticket_events"],
            "authentication": {
                "type": "bearer_token",
                "add_position": "header",
                "data": {"token": bearer_token.expose_secret()}
            }
        }});
        let listed: Value = self
            .call(Method::GET, &self.url("/api/v2/webhooks"), None)
            .await?;
        let existing = listed["webhooks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|w| w["name"] == name)
            .and_then(|w| w["id"].as_str().map(str::to_owned));
        if let Some(id) = existing {
            let _: Value = self
                .call(
                    Method::PUT,
                    &self.url(&format!("/api/v2/webhooks/{id}")),
                    Some(&body),
                )
                .await?;
            return Ok(id);
        }
        let created: Value = self
            .call(Method::POST, &self.url("/api/v2/webhooks"), Some(&body))
            .await?;
        created["webhook"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ZendeskError::Malformed("webhook without an id".into()))
    }

    pub async fn webhook_signing_secret(
        &self,
        webhook_id: &str,
    ) -> Result<SecretString, ZendeskError> {
        let answer: Value = self
            .call(
                Method::GET,
                &self.url(&format!("/api/v2/webhooks/{webhook_id}/signing_secret")),
                None,
            )
            .await?;
        answer["signing_secret"]["secret"]
            .as_str()
            .map(|secret| SecretString::from(secret.to_owned()))
            .ok_or_else(|| ZendeskError::Malformed("signing secret missing".into()))
    }

    /// Creates the trigger with this definition's title, or updates the one that exists;
    /// returns its id.
    pub async fn upsert_trigger(&self, trigger: &Value) -> Result<u64, ZendeskError> {
        let body = json!({ "trigger": trigger });
        let listed: Value = self
            .call(Method::GET, &self.url("/api/v2/triggers"), None)
            .await?;
        let existing = listed["triggers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["title"] == trigger["title"])
            .and_then(|t| t["id"].as_u64());
        let answer: Value = match existing {
            Some(id) => {
                self.call(
                    Method::PUT,
                    &self.url(&format!("/api/v2/triggers/{id}")),
                    Some(&body),
                )
                .await?
            }
            None => {
                self.call(Method::POST, &self.url("/api/v2/triggers"), Some(&body))
                    .await?
            }
        };
        answer["trigger"]["id"]
            .as_u64()
            .ok_or_else(|| ZendeskError::Malformed("trigger without an id".into()))
    }
}

#[derive(Deserialize)]
struct TicketEnvelope {
    ticket: Ticket,
}

#[derive(Deserialize)]
struct CommentPage {
    comments: Vec<Comment>,
    #[serde(default)]
    users: Vec<User>,
    #[serde(default)]
    next_page: Option<String>,
}

#[async_trait]
impl TicketDesk for SupportClient {
    async fn ticket(&self, id: u64) -> Result<Ticket, ZendeskError> {
        let envelope: TicketEnvelope = self
            .call(
                Method::GET,
                &self.url(&format!("/api/v2/tickets/{id}")),
                None,
            )
            .await?;
        Ok(envelope.ticket)
    }

    async fn comments(&self, ticket_id: u64) -> Result<CommentThread, ZendeskError> {
        let mut thread = CommentThread::default();
        let mut next = Some(self.url(&format!(
            "/api/v2/tickets/{ticket_id}/comments?include=users&sort_order=asc"
        )));
        for _ in 0..MAX_COMMENT_PAGES {
            let Some(url) = next.take() else { break };
            let page: CommentPage = self.call(Method::GET, &url, None).await?;
            thread.comments.extend(page.comments);
            for user in page.users {
                if !thread.users.iter().any(|known| known.id == user.id) {
                    thread.users.push(user);
                }
            }
            next = page.next_page;
        }
        Ok(thread)
    }

    async fn tickets_tagged(&self, tag: &str) -> Result<Vec<u64>, ZendeskError> {
        #[derive(Deserialize)]
        struct Results {
            results: Vec<Value>,
        }
        let query: String =
            url::form_urlencoded::byte_serialize(format!("type:ticket tags:{tag}").as_bytes())
                .collect();
        let found: Results = self
            .call(
                Method::GET,
                &self.url(&format!("/api/v2/search.json?query={query}")),
                None,
            )
            .await?;
        Ok(found
            .results
            .iter()
            .filter_map(|r| r["id"].as_u64())
            .collect())
    }

    async fn update_ticket(&self, id: u64, update: &TicketUpdate) -> Result<Ticket, ZendeskError> {
        let body = json!({ "ticket": update });
        let envelope: TicketEnvelope = self
            .call(
                Method::PUT,
                &self.url(&format!("/api/v2/tickets/{id}")),
                Some(&body),
            )
            .await?;
        Ok(envelope.ticket)
    }
}

/// Opens Zendesk API clients: Support for stores (their API tokens from the secret store),
/// Conversations for accounts (their API key secrets).
pub struct ZendeskConnector {
    pub(crate) http: reqwest::Client,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) base_override: Option<String>,
    pub(crate) policy: RetryPolicy,
}

impl ZendeskConnector {
    pub fn new(
        http: reqwest::Client,
        secrets: Arc<dyn SecretStore>,
        base_override: Option<String>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            http,
            secrets,
            base_override,
            policy,
        }
    }

    /// The HTTP client the connector shares (with its timeouts and connection pool).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The connector a function builds once per cold start from its configuration.
    pub fn from_config(
        secrets: Arc<dyn SecretStore>,
        config: &crate::config::WorkerConfig,
    ) -> Self {
        Self::new(
            http_client(config.http_timeout),
            secrets,
            config.zendesk_base_url.clone(),
            RetryPolicy::default(),
        )
    }

    pub async fn support_client(&self, store: &StoreConfig) -> Result<SupportClient, ZendeskError> {
        let token = self.secrets.secret(&store.zendesk_token_secret).await?;
        Ok(SupportClient::new(
            self.http.clone(),
            account_base_url(&store.subdomain, self.base_override.as_deref()),
            &store.bot_email,
            &token,
            self.policy,
        ))
    }
}

#[async_trait]
impl TicketDesks for ZendeskConnector {
    async fn desk_for(&self, store: &StoreConfig) -> Result<Arc<dyn TicketDesk>, ZendeskError> {
        Ok(Arc::new(self.support_client(store).await?))
    }
}

/// The HTTP client every outbound call shares: timeouts so a hung peer cannot eat the
/// Lambda's whole budget.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .user_agent(concat!("deskmate/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client configuration is valid")
}
