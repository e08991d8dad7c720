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
    Brand, Comment, CommentThread, NewTicket, Ticket, TicketDesk, TicketDesks, TicketUpdate, User,
    ZendeskError,
};
use crate::domain::StoreConfig;
use crate::http_retry::RetryPolicy;
use crate::secrets::SecretStore;

/// Zendesk lists at most 100 comments a page; a ticket longer than this many pages is cut.
const MAX_COMMENT_PAGES: usize = 20;

/// The page size Deskmate asks for: the largest both Zendesk APIs allow.
pub(crate) const LIST_PAGE_SIZE: usize = 100;
/// A list longer than this many pages is cut (10,000 webhooks, triggers or integrations).
pub(crate) const MAX_LIST_PAGES: usize = 100;

/// The next page of a Zendesk list, or `None` on the last one. Understands both APIs'
/// pagination: cursor pages (`meta.has_more`, `meta.after_cursor`, `links.next`; the
/// Conversations API spells them `hasMore` and `afterCursor`) and offset pages (`next_page`).
/// The next request always goes to `base_url`'s origin: credentials never follow a link to
/// another host.
pub fn next_page_url(base_url: &str, current: &str, page: &Value) -> Option<String> {
    let meta = &page["meta"];
    let has_more = meta["has_more"].as_bool().or(meta["hasMore"].as_bool());
    let text = |value: &Value| {
        value
            .as_str()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    if has_more == Some(false) {
        return None;
    }
    if has_more == Some(true)
        && let Some(cursor) = text(&meta["after_cursor"]).or_else(|| text(&meta["afterCursor"]))
    {
        let mut url = url::Url::parse(current).ok()?;
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(name, _)| name != "page[after]" && name != "page[before]")
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("page[after]", &cursor);
        return Some(url.into());
    }
    let link = text(&page["links"]["next"]).or_else(|| text(&page["next_page"]))?;
    on_origin(base_url, &link)
}

/// `link` (absolute, or a path) moved onto `base_url`'s scheme, host and port.
fn on_origin(base_url: &str, link: &str) -> Option<String> {
    let base = url::Url::parse(base_url).ok()?;
    let mut url = base.join(link).ok()?;
    url.set_scheme(base.scheme()).ok()?;
    url.set_host(base.host_str()).ok()?;
    url.set_port(base.port()).ok()?;
    Some(url.into())
}

/// A Help Center article as the Articles API lists it (the fields Deskmate reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct HelpCenterArticle {
    pub id: u64,
    #[serde(default)]
    pub title: String,
    /// HTML.
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    #[serde(default)]
    pub draft: bool,
    /// Who may read it; `None` means everyone (signed in or not).
    #[serde(default)]
    pub user_segment_id: Option<u64>,
    #[serde(default)]
    pub section_id: Option<u64>,
    #[serde(default)]
    pub locale: Option<String>,
}

impl HelpCenterArticle {
    /// Published and visible to everyone: the only articles a bot may quote to a customer.
    pub fn is_public(&self) -> bool {
        !self.draft && self.user_segment_id.is_none()
    }
}

#[derive(Clone)]
pub struct SupportClient {
    rest: RestClient,
    /// The `Host` header sent with each call when the base URL is an override (the sandbox)
    /// standing in for a brand's host: see [`SupportClient::on_brand_host`].
    host: Option<String>,
}

impl std::fmt::Debug for SupportClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupportClient")
            .field("base_url", &self.rest.base_url)
            .field("host", &self.host)
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
            host: None,
        }
    }

    /// This client on the host of the brand whose subdomain is `subdomain`, where Zendesk
    /// serves that brand's Help Center: `https://{subdomain}.zendesk.com` when this client
    /// talks to Zendesk; against an override (the sandbox), the same address with `Host:
    /// {subdomain}.zendesk.com`, which is how Zendesk tells brands apart. Only zendesk.com
    /// hosts are ever built, so the credentials never go to a brand's custom domain. Meant for
    /// reading the Help Center: ticket creation does not carry the `Host` header.
    pub fn on_brand_host(&self, subdomain: &str) -> Result<Self, ZendeskError> {
        let valid = !subdomain.is_empty()
            && subdomain.len() <= 63
            && subdomain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !subdomain.starts_with('-')
            && !subdomain.ends_with('-');
        if !valid {
            return Err(ZendeskError::Malformed(format!(
                "{subdomain:?} is not a Zendesk subdomain"
            )));
        }
        let host = format!("{}.zendesk.com", subdomain.to_ascii_lowercase());
        let on_zendesk = url::Url::parse(&self.rest.base_url).is_ok_and(|base| {
            base.scheme() == "https" && base.host_str().is_some_and(|h| h.ends_with(".zendesk.com"))
        });
        let mut client = self.clone();
        if on_zendesk {
            client.rest.base_url = format!("https://{host}");
            client.host = None;
        } else {
            client.host = Some(host);
        }
        Ok(client)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<T, ZendeskError> {
        let host = self.host.as_deref().map(|host| ("Host", host));
        self.rest.call_with_header(method, url, body, host).await
    }

    fn url(&self, path: &str) -> String {
        self.rest.url(path)
    }

    /// Every record under `key` of the list at `path`, page after page.
    async fn list_all(&self, path: &str, key: &str) -> Result<Vec<Value>, ZendeskError> {
        let mut records = Vec::new();
        let mut next = Some(self.url(&format!("{path}?page[size]={LIST_PAGE_SIZE}")));
        let mut asked = Vec::new();
        while let Some(url) = next.take() {
            if asked.contains(&url) || asked.len() == MAX_LIST_PAGES {
                tracing::warn!(
                    path,
                    pages = asked.len(),
                    "list cut: too many pages, or a page repeats"
                );
                break;
            }
            let page: Value = self.call(Method::GET, &url, None).await?;
            records.extend(page[key].as_array().into_iter().flatten().cloned());
            next = next_page_url(&self.rest.base_url, &url, &page);
            asked.push(url);
        }
        Ok(records)
    }

    /// The brand `id` of the account (`GET /api/v2/brands/{id}`).
    pub async fn brand(&self, id: u64) -> Result<Brand, ZendeskError> {
        #[derive(Deserialize)]
        struct Envelope {
            brand: Brand,
        }
        let envelope: Envelope = self
            .call(
                Method::GET,
                &self.url(&format!("/api/v2/brands/{id}")),
                None,
            )
            .await?;
        Ok(envelope.brand)
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
        let existing = self
            .list_all("/api/v2/webhooks", "webhooks")
            .await?
            .into_iter()
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

    /// The brand's Help Center articles in `locale` (`en-us`) that a customer may read:
    /// published (`draft` false) and visible to everyone (`user_segment_id` null), every
    /// page followed. Articles are read on this client's host, which serves the Help Center
    /// of the brand that host belongs to: the account's host serves the default brand's, and
    /// [`SupportClient::on_brand_host`] another brand's.
    pub async fn help_center_articles(
        &self,
        locale: &str,
    ) -> Result<Vec<HelpCenterArticle>, ZendeskError> {
        let valid = !locale.is_empty()
            && locale.len() <= 16
            && locale
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(ZendeskError::Malformed(format!(
                "{locale:?} is not a Help Center locale"
            )));
        }
        let records = self
            .list_all(
                &format!("/api/v2/help_center/{locale}/articles"),
                "articles",
            )
            .await?;
        let mut articles = Vec::with_capacity(records.len());
        for record in records {
            let article: HelpCenterArticle = serde_json::from_value(record)
                .map_err(|err| ZendeskError::Malformed(format!("a Help Center article: {err}")))?;
            if article.is_public() {
                articles.push(article);
            }
        }
        Ok(articles)
    }

    /// Creates the trigger with this definition's title, or updates the one that exists;
    /// returns its id.
    pub async fn upsert_trigger(&self, trigger: &Value) -> Result<u64, ZendeskError> {
        let body = json!({ "trigger": trigger });
        let existing = self
            .list_all("/api/v2/triggers", "triggers")
            .await?
            .into_iter()
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

/// The ticket in an update's answer, if it carries every field Deskmate reads next.
fn ticket_from_update_answer(answer: &Value) -> Option<Ticket> {
    let ticket = answer.get("ticket")?;
    let complete = Ticket::FIELDS_READ_AFTER_UPDATE
        .iter()
        .all(|field| ticket.get(*field).is_some())
        && ticket["updated_at"].as_str().is_some_and(|s| !s.is_empty());
    if !complete {
        return None;
    }
    serde_json::from_value(ticket.clone()).ok()
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

    async fn create_ticket(
        &self,
        ticket: &NewTicket,
        idempotency_key: &str,
    ) -> Result<u64, ZendeskError> {
        let body = json!({ "ticket": ticket });
        let answer: Value = self
            .rest
            .call_with_header(
                Method::POST,
                &self.url("/api/v2/tickets"),
                Some(&body),
                Some(("Idempotency-Key", idempotency_key)),
            )
            .await?;
        answer["ticket"]["id"]
            .as_u64()
            .ok_or_else(|| ZendeskError::OutcomeUnknown("the created ticket has no id".into()))
    }

    /// The ticket as the update left it: from Zendesk's answer when that carries what the
    /// next step reads ([`Ticket::FIELDS_READ_AFTER_UPDATE`]), else read again.
    async fn update_ticket(&self, id: u64, update: &TicketUpdate) -> Result<Ticket, ZendeskError> {
        let body = json!({ "ticket": update });
        let answer: Value = self
            .call(
                Method::PUT,
                &self.url(&format!("/api/v2/tickets/{id}")),
                Some(&body),
            )
            .await?;
        match ticket_from_update_answer(&answer) {
            Some(ticket) => Ok(ticket),
            None => {
                tracing::debug!(
                    ticket_id = id,
                    "the update's answer lacks fields; reading the ticket again"
                );
                self.ticket(id).await
            }
        }
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

    /// The secret store the connector reads credentials from.
    pub fn secrets(&self) -> Arc<dyn SecretStore> {
        self.secrets.clone()
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use axum::extract::{Path, Query, State};
    use axum::routing::get;

    use super::*;

    type Log = Arc<Mutex<Vec<String>>>;

    /// Serves `router` on loopback; returns a client for it.
    async fn client_for(router: axum::Router) -> SupportClient {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        SupportClient::new(
            http_client(Duration::from_secs(5)),
            base,
            "bot@acme.test",
            &SecretString::from("token"),
            RetryPolicy::default(),
        )
    }

    #[test]
    fn next_pages_follow_both_apis_pagination_and_stay_on_our_host() {
        let base = "http://127.0.0.1:8081";
        // Support cursor pagination (webhooks, triggers with page[size]).
        let page = json!({
            "webhooks": [],
            "meta": {"has_more": true, "after_cursor": "xyz", "before_cursor": "abc"},
            "links": {"next": "https://acme.zendesk.com/api/v2/webhooks?page[size]=100&page[after]=xyz", "prev": null}
        });
        let current = format!("{base}/api/v2/webhooks?page[size]=100");
        let next = next_page_url(base, &current, &page).unwrap();
        assert!(
            next.starts_with(&format!("{base}/api/v2/webhooks?")),
            "{next}"
        );
        let pairs: Vec<(String, String)> = url::Url::parse(&next)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        assert_eq!(
            pairs,
            [
                ("page[size]".to_owned(), "100".to_owned()),
                ("page[after]".to_owned(), "xyz".to_owned())
            ]
        );
        let last = json!({"webhooks": [], "meta": {"has_more": false, "after_cursor": "xyz"}, "links": {"next": null}});
        assert_eq!(next_page_url(base, &current, &last), None);

        // A next link alone (no cursor) is followed, on our host.
        let linked = json!({"meta": {"has_more": true}, "links": {"next": "https://acme.zendesk.com/api/v2/webhooks?page[after]=q"}});
        assert_eq!(
            next_page_url(base, &current, &linked).unwrap(),
            format!("{base}/api/v2/webhooks?page[after]=q")
        );

        // Offset pagination (triggers without page[size]).
        let offset = json!({"triggers": [], "next_page": "https://acme.zendesk.com/api/v2/triggers.json?page=2", "previous_page": null, "count": 150});
        assert_eq!(
            next_page_url(base, &format!("{base}/api/v2/triggers"), &offset).unwrap(),
            format!("{base}/api/v2/triggers.json?page=2")
        );
        let offset_last = json!({"triggers": [], "next_page": null, "count": 150});
        assert_eq!(next_page_url(base, &current, &offset_last), None);

        // Conversations cursor pagination keeps the filter.
        let conversations =
            format!("{base}/sc/v2/apps/app1/integrations?filter[types]=custom&page[size]=100");
        let page = json!({"integrations": [], "meta": {"hasMore": true, "afterCursor": "5e1606762556d93e9c176f69"}, "links": {"next": "https://acme.zendesk.com/sc/v2/apps/app1/integrations?page[after]=5e1606762556d93e9c176f69"}});
        let next = next_page_url(base, &conversations, &page).unwrap();
        let pairs: Vec<(String, String)> = url::Url::parse(&next)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        assert!(
            pairs.contains(&("filter[types]".into(), "custom".into())),
            "{next}"
        );
        assert!(
            pairs.contains(&("page[after]".into(), "5e1606762556d93e9c176f69".into())),
            "{next}"
        );
        let done = json!({"integrations": [], "meta": {"hasMore": false}});
        assert_eq!(next_page_url(base, &conversations, &done), None);
    }

    #[test]
    fn a_brand_host_is_always_a_zendesk_com_host() {
        let zendesk = SupportClient::new(
            http_client(Duration::from_secs(5)),
            account_base_url("acme", None),
            "bot@acme.test",
            &SecretString::from("token"),
            RetryPolicy::default(),
        );
        let outlet = zendesk.on_brand_host("Acme-Outlet2").unwrap();
        assert_eq!(outlet.rest.base_url, "https://acme-outlet2.zendesk.com");
        assert_eq!(outlet.host, None, "the URL names the host");

        let sandbox = SupportClient::new(
            http_client(Duration::from_secs(5)),
            account_base_url("acme", Some("http://127.0.0.1:8081/")),
            "bot@acme.test",
            &SecretString::from("token"),
            RetryPolicy::default(),
        );
        let outlet = sandbox.on_brand_host("outlet").unwrap();
        assert_eq!(outlet.rest.base_url, "http://127.0.0.1:8081");
        assert_eq!(outlet.host.as_deref(), Some("outlet.zendesk.com"));

        for bad in [
            "",
            "-outlet",
            "outlet-",
            "help.outlet.example",
            "evil.com/x",
            "a b",
            "outlet:443",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(zendesk.on_brand_host(bad), Err(ZendeskError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_brand_host_client_sends_its_host_on_every_page() {
        let log: Log = Arc::default();
        let router = axum::Router::new()
            .route(
                "/api/v2/help_center/{locale}/articles",
                get(
                    |State(log): State<Log>,
                     headers: axum::http::HeaderMap,
                     Query(q): Query<HashMap<String, String>>| async move {
                        let host = headers[axum::http::header::HOST].to_str().unwrap().to_owned();
                        log.lock().unwrap().push(host.clone());
                        let article = |id: u64| {
                            json!({"id": id, "title": "T", "body": "<p>B</p>", "draft": false, "user_segment_id": null,
                                   "html_url": format!("https://{host}/hc/en-us/articles/{id}-T")})
                        };
                        axum::Json(match q.get("page[after]") {
                            None => json!({
                                "articles": [article(1)],
                                "meta": {"has_more": true, "after_cursor": "1"},
                                "links": {"next": format!("https://{host}/api/v2/help_center/en-us/articles.json?page[after]=1")}
                            }),
                            Some(_) => json!({"articles": [article(2)], "meta": {"has_more": false}, "links": {"next": null}}),
                        })
                    },
                ),
            )
            .with_state(log.clone());
        let client = client_for(router).await;
        let articles = client
            .on_brand_host("outlet")
            .unwrap()
            .help_center_articles("en-us")
            .await
            .unwrap();
        assert_eq!(
            articles
                .iter()
                .map(|a| a.html_url.as_str())
                .collect::<Vec<_>>(),
            [
                "https://outlet.zendesk.com/hc/en-us/articles/1-T",
                "https://outlet.zendesk.com/hc/en-us/articles/2-T"
            ]
        );
        assert_eq!(
            *log.lock().unwrap(),
            ["outlet.zendesk.com", "outlet.zendesk.com"]
        );
    }

    /// Zendesk's Update Ticket example answer, in its shape: the audit and a ticket without
    /// `updated_at` (written here from the docs, not copied).
    fn update_answer_without_stamp(id: u64) -> Value {
        json!({
            "audit": {"events": [{"id": 1564245, "type": "Comment", "author_id": 5246746, "public": false, "body": "Escalated."}]},
            "ticket": {"id": id, "subject": "My printer is on fire!", "status": "open", "assignee_id": 235323, "requester_id": 20978392}
        })
    }

    fn full_ticket(id: u64) -> Value {
        json!({"ticket": {
            "id": id, "subject": "My printer is on fire!", "status": "open", "requester_id": 20978392,
            "assignee_id": null, "tags": ["deskmate_escalated"], "updated_at": "2026-11-21T10:00:07Z",
            "via": {"channel": "email"}
        }})
    }

    #[tokio::test]
    async fn an_update_answer_without_its_stamp_is_followed_by_a_fresh_read() {
        let log: Log = Arc::default();
        let router = axum::Router::new()
            .route(
                "/api/v2/tickets/{id}",
                get(|State(log): State<Log>, Path(id): Path<u64>| async move {
                    log.lock().unwrap().push("GET".into());
                    axum::Json(full_ticket(id))
                })
                .put(|State(log): State<Log>, Path(id): Path<u64>| async move {
                    log.lock().unwrap().push("PUT".into());
                    axum::Json(update_answer_without_stamp(id))
                }),
            )
            .with_state(log.clone());
        let client = client_for(router).await;
        let update = TicketUpdate {
            assignee_id: Some(None),
            updated_stamp: Some("2026-11-21T10:00:00Z".into()),
            safe_update: true,
            ..TicketUpdate::default()
        };
        let ticket = client.update_ticket(35436, &update).await.unwrap();
        assert_eq!(ticket.updated_at, "2026-11-21T10:00:07Z");
        assert_eq!(ticket.assignee_id, None);
        assert_eq!(*log.lock().unwrap(), ["PUT", "GET"]);
    }

    #[tokio::test]
    async fn a_complete_update_answer_is_taken_as_it_is() {
        let log: Log = Arc::default();
        let router = axum::Router::new()
            .route(
                "/api/v2/tickets/{id}",
                get(|State(log): State<Log>, Path(id): Path<u64>| async move {
                    log.lock().unwrap().push("GET".into());
                    axum::Json(full_ticket(id))
                })
                .put(|State(log): State<Log>, Path(id): Path<u64>| async move {
                    log.lock().unwrap().push("PUT".into());
                    let mut answer = full_ticket(id);
                    answer["audit"] = json!({"events": []});
                    axum::Json(answer)
                }),
            )
            .with_state(log.clone());
        let client = client_for(router).await;
        let ticket = client
            .update_ticket(7, &TicketUpdate::default())
            .await
            .unwrap();
        assert_eq!(ticket.updated_at, "2026-11-21T10:00:07Z");
        assert_eq!(*log.lock().unwrap(), ["PUT"]);
    }

    fn id_text(id: &Value) -> String {
        id.as_str().map_or_else(|| id.to_string(), str::to_owned)
    }

    #[tokio::test]
    async fn setup_finds_its_webhook_and_trigger_past_the_first_page() {
        const PER_PAGE: usize = 2;
        let log: Log = Arc::default();
        // Five other webhooks first, then Deskmate's; five other triggers, then Deskmate's.
        let webhooks: Vec<Value> = (1..=6)
            .map(|i| {
                let name = if i == 6 {
                    "Deskmate events (acme)".to_owned()
                } else {
                    format!("Other {i}")
                };
                json!({"id": format!("01W{i}"), "name": name})
            })
            .collect();
        let triggers: Vec<Value> = (1..=6)
            .map(|i| {
                let title = if i == 6 {
                    "Deskmate (acme): notify".to_owned()
                } else {
                    format!("Other {i}")
                };
                json!({"id": 100 + i, "title": title})
            })
            .collect();
        let cursor_page = |all: &[Value],
                           key: &str,
                           query: &HashMap<String, String>,
                           path: &str| {
            let start = query.get("page[after]").map_or(0, |after| {
                all.iter()
                    .position(|r| id_text(&r["id"]) == *after)
                    .unwrap()
                    + 1
            });
            let end = (start + PER_PAGE).min(all.len());
            let more = end < all.len();
            let cursor = id_text(&all[end - 1]["id"]);
            json!({
                key: all[start..end],
                "meta": {"has_more": more, "after_cursor": if more { json!(cursor) } else { Value::Null }},
                "links": {"next": if more { json!(format!("https://acme.zendesk.com{path}?page[after]={cursor}")) } else { Value::Null }},
            })
        };
        let router = axum::Router::new()
            .route(
                "/api/v2/webhooks",
                get({
                    let webhooks = webhooks.clone();
                    move |State(log): State<Log>, Query(q): Query<HashMap<String, String>>| async move {
                        log.lock().unwrap().push("GET webhooks".into());
                        axum::Json(cursor_page(&webhooks, "webhooks", &q, "/api/v2/webhooks"))
                    }
                })
                .post(|State(log): State<Log>| async move {
                    log.lock().unwrap().push("POST webhook".into());
                    axum::Json(json!({"webhook": {"id": "01NEW"}}))
                }),
            )
            .route(
                "/api/v2/webhooks/{id}",
                axum::routing::put(|State(log): State<Log>, Path(id): Path<String>| async move {
                    log.lock().unwrap().push(format!("PUT webhook {id}"));
                    axum::http::StatusCode::NO_CONTENT
                }),
            )
            .route(
                "/api/v2/triggers",
                get({
                    let triggers = triggers.clone();
                    move |State(log): State<Log>, Query(q): Query<HashMap<String, String>>| async move {
                        log.lock().unwrap().push("GET triggers".into());
                        axum::Json(cursor_page(&triggers, "triggers", &q, "/api/v2/triggers"))
                    }
                })
                .post(|State(log): State<Log>| async move {
                    log.lock().unwrap().push("POST trigger".into());
                    axum::Json(json!({"trigger": {"id": 999}}))
                }),
            )
            .route(
                "/api/v2/triggers/{id}",
                axum::routing::put(|State(log): State<Log>, Path(id): Path<u64>| async move {
                    log.lock().unwrap().push(format!("PUT trigger {id}"));
                    axum::Json(json!({"trigger": {"id": id}}))
                }),
            )
            .with_state(log.clone());
        let client = client_for(router).await;
        let id = client
            .upsert_webhook(
                "Deskmate events (acme)",
                "https://deskmate.test/webhooks/zendesk/acme",
                &SecretString::from("dmw_x"),
            )
            .await
            .unwrap();
        assert_eq!(id, "01W6");
        let trigger = client
            .upsert_trigger(
                &json!({"title": "Deskmate (acme): notify", "conditions": {}, "actions": []}),
            )
            .await
            .unwrap();
        assert_eq!(trigger, 106);
        let log = log.lock().unwrap().clone();
        assert_eq!(
            log,
            [
                "GET webhooks",
                "GET webhooks",
                "GET webhooks",
                "PUT webhook 01W6",
                "GET triggers",
                "GET triggers",
                "GET triggers",
                "PUT trigger 106"
            ]
        );
    }
}
