//! The Support API calls only operator commands make (reading and removing webhooks and
//! triggers, Zendesk's webhook test), as the store's bot with its API token.

use std::time::Duration;

use deskmate_shared::zendesk::{ZendeskError, http_client};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// Zendesk's largest page; and a list longer than this many pages is cut.
const PAGE_SIZE: usize = 100;
const MAX_PAGES: usize = 100;

pub struct ZendeskAdmin {
    http: reqwest::Client,
    base_url: String,
    user: String,
    token: SecretString,
}

impl ZendeskAdmin {
    pub fn new(base_url: &str, email: &str, token: &SecretString) -> Self {
        Self {
            http: http_client(Duration::from_secs(15)),
            base_url: base_url.trim_end_matches('/').to_owned(),
            user: format!("{email}/token"),
            token: token.clone(),
        }
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, ZendeskError> {
        let mut request = self
            .http
            .request(method, url)
            .basic_auth(&self.user, Some(self.token.expose_secret()));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| ZendeskError::Unavailable(err.without_url().to_string()))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text)
                .map_err(|err| ZendeskError::Malformed(err.to_string()));
        }
        let message: String = text.chars().take(300).collect();
        Err(match status {
            StatusCode::UNAUTHORIZED => ZendeskError::Unauthorized,
            StatusCode::FORBIDDEN => ZendeskError::Forbidden(message),
            StatusCode::NOT_FOUND => ZendeskError::NotFound,
            StatusCode::TOO_MANY_REQUESTS => ZendeskError::RateLimited { retry_after: None },
            status if status.is_server_error() => {
                ZendeskError::Unavailable(format!("{status}: {message}"))
            }
            status => ZendeskError::Rejected {
                status: status.as_u16(),
                message,
            },
        })
    }

    /// Every record under `key` of the list at `path`, following Zendesk's cursor pages (or
    /// offset pages); a next link is always followed on this account's host.
    async fn list(&self, path: &str, key: &str) -> Result<Vec<Value>, ZendeskError> {
        let mut records = Vec::new();
        let mut next = Some(format!("{}{path}?page[size]={PAGE_SIZE}", self.base_url));
        let mut asked: Vec<String> = Vec::new();
        while let Some(url) = next.take() {
            if asked.contains(&url) || asked.len() == MAX_PAGES {
                break;
            }
            let page = self.call(Method::GET, &url, None).await?;
            records.extend(page[key].as_array().into_iter().flatten().cloned());
            next = self.next_page(&url, &page);
            asked.push(url);
        }
        Ok(records)
    }

    fn next_page(&self, current: &str, page: &Value) -> Option<String> {
        deskmate_shared::zendesk::next_page_url(&self.base_url, current, page)
    }

    pub async fn webhooks(&self) -> Result<Vec<Value>, ZendeskError> {
        self.list("/api/v2/webhooks", "webhooks").await
    }

    pub async fn triggers(&self) -> Result<Vec<Value>, ZendeskError> {
        self.list("/api/v2/triggers", "triggers").await
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<(), ZendeskError> {
        let url = format!("{}/api/v2/webhooks/{}", self.base_url, segment(id)?);
        self.call(Method::DELETE, &url, None).await.map(|_| ())
    }

    pub async fn delete_trigger(&self, id: u64) -> Result<(), ZendeskError> {
        let url = format!("{}/api/v2/triggers/{id}", self.base_url);
        self.call(Method::DELETE, &url, None).await.map(|_| ())
    }

    /// Asks Zendesk to send one request through the existing webhook `id` (with the bearer
    /// token and signing secret Zendesk holds for it) to `endpoint`; returns the status and
    /// body the endpoint answered, or `None` when this Zendesk offers no webhook test.
    pub async fn test_webhook(
        &self,
        id: &str,
        endpoint: &str,
        payload: &Value,
    ) -> Result<Option<(u16, String)>, ZendeskError> {
        let url = format!(
            "{}/api/v2/webhooks/test?webhook_id={}",
            self.base_url,
            segment(id)?
        );
        let body = json!({"request": {
            "endpoint": endpoint,
            "http_method": "POST",
            "request_format": "json",
            "payload": payload.to_string(),
        }});
        match self.call(Method::POST, &url, Some(&body)).await {
            Ok(answer) => {
                let response = &answer["response"];
                let status = response["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| {
                        ZendeskError::Malformed("the webhook test answered no status".into())
                    })?;
                let body = match &response["body"] {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                Ok(Some((status, body)))
            }
            Err(ZendeskError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// An id as one URL path segment (Zendesk's ids are letters and digits).
fn segment(id: &str) -> Result<&str, ZendeskError> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(id)
    } else {
        Err(ZendeskError::Malformed(format!("unexpected id {id:?}")))
    }
}
