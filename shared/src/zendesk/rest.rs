//! What both Zendesk APIs share: basic auth, the retry policy, and one mapping from HTTP
//! answers to [`ZendeskError`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ZendeskError;
use crate::http_retry::{Attempted, Replay, RetryPolicy, retry_after, send_with_retry};

#[derive(Clone)]
pub(crate) struct RestClient {
    http: reqwest::Client,
    pub(crate) base_url: String,
    authorization: HeaderValue,
    policy: RetryPolicy,
}

impl RestClient {
    /// `credentials` is `user:password` for HTTP basic auth.
    pub(crate) fn new(
        http: reqwest::Client,
        base_url: String,
        credentials: &SecretString,
        policy: RetryPolicy,
    ) -> Self {
        let encoded = STANDARD.encode(credentials.expose_secret());
        let mut authorization = HeaderValue::from_str(&format!("Basic {encoded}"))
            .expect("base64 is a valid header value");
        authorization.set_sensitive(true);
        Self {
            http,
            base_url,
            authorization,
            policy,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// One API call under the retry policy; an error that remains is counted by class.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<T, ZendeskError> {
        self.call_with_header(method, url, body, None).await
    }

    /// [`RestClient::call`] with one extra request header (e.g. `Idempotency-Key`).
    pub(crate) async fn call_with_header<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        extra: Option<(&str, &str)>,
    ) -> Result<T, ZendeskError> {
        let result = self.send(method, url, body, extra).await;
        if let Err(err) = &result {
            crate::measures::zendesk_error(err.class());
        }
        result
    }

    /// Downloads `url` whole (at most `max_bytes`), with this client's credentials only when it
    /// is on this client's own origin: credentials never go to another host.
    pub(crate) async fn download(
        &self,
        url: &str,
        max_bytes: usize,
    ) -> Result<(String, Vec<u8>), ZendeskError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| ZendeskError::Malformed("the media URL is not a URL".into()))?;
        let own =
            reqwest::Url::parse(&self.base_url).is_ok_and(|base| base.origin() == parsed.origin());
        let attempted = send_with_retry(&self.policy, Replay::Safe, None, || {
            let request = self.http.get(parsed.clone());
            if own {
                request.header(AUTHORIZATION, self.authorization.clone())
            } else {
                request
            }
        })
        .await;
        let response = match attempted {
            Attempted::Answered(response) => response,
            Attempted::Unreachable(reason) | Attempted::Unknown(reason) => {
                return Err(ZendeskError::Unavailable(reason));
            }
            Attempted::OutOfTime => return Err(ZendeskError::Unavailable("out of time".into())),
        };
        match response.status() {
            status if status.is_success() => {}
            StatusCode::UNAUTHORIZED => return Err(ZendeskError::Unauthorized),
            StatusCode::NOT_FOUND | StatusCode::GONE => return Err(ZendeskError::NotFound),
            status if status.is_server_error() => {
                return Err(ZendeskError::Unavailable(status.to_string()));
            }
            status => {
                return Err(ZendeskError::Rejected {
                    status: status.as_u16(),
                    message: "the media could not be downloaded".into(),
                });
            }
        }
        if response
            .content_length()
            .is_some_and(|length| length > max_bytes as u64)
        {
            return Err(too_large(max_bytes));
        }
        let media_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| ZendeskError::Unavailable(err.without_url().to_string()))?;
        if bytes.len() > max_bytes {
            return Err(too_large(max_bytes));
        }
        Ok((media_type, bytes.to_vec()))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        extra: Option<(&str, &str)>,
    ) -> Result<T, ZendeskError> {
        let replay = if method == Method::GET {
            Replay::Safe
        } else {
            Replay::OnlyIfNotDone
        };
        let attempted = send_with_retry(&self.policy, replay, None, || {
            let request = self
                .http
                .request(method.clone(), url)
                .header(AUTHORIZATION, self.authorization.clone());
            let request = match extra {
                Some((name, value)) => request.header(name, value),
                None => request,
            };
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        })
        .await;
        let response = match attempted {
            Attempted::Answered(response) => response,
            Attempted::Unreachable(reason) => return Err(ZendeskError::Unavailable(reason)),
            Attempted::Unknown(reason) => return Err(ZendeskError::OutcomeUnknown(reason)),
            Attempted::OutOfTime => {
                return Err(ZendeskError::OutcomeUnknown("out of time".into()));
            }
        };
        let status = response.status();
        let write = replay == Replay::OnlyIfNotDone;
        if status.is_success() {
            let read = match response.bytes().await {
                Ok(bytes) if bytes.is_empty() => serde_json::from_slice(b"null"),
                Ok(bytes) => serde_json::from_slice(&bytes),
                Err(err) if write => {
                    return Err(ZendeskError::OutcomeUnknown(err.without_url().to_string()));
                }
                Err(err) => return Err(ZendeskError::Malformed(err.without_url().to_string())),
            };
            // A write that succeeded stays done even when its answer cannot be read.
            return read.map_err(|err| {
                if write {
                    ZendeskError::OutcomeUnknown(format!("unreadable answer: {err}"))
                } else {
                    ZendeskError::Malformed(err.to_string())
                }
            });
        }
        let wait = retry_after(&response);
        let message = response.text().await.unwrap_or_default();
        let message: String = message.chars().take(300).collect();
        Err(match status {
            StatusCode::UNAUTHORIZED => ZendeskError::Unauthorized,
            StatusCode::FORBIDDEN => ZendeskError::Forbidden(message),
            StatusCode::NOT_FOUND => ZendeskError::NotFound,
            StatusCode::CONFLICT => ZendeskError::Conflict,
            StatusCode::TOO_MANY_REQUESTS => ZendeskError::RateLimited { retry_after: wait },
            status if status.is_server_error() && write => {
                ZendeskError::OutcomeUnknown(format!("{status}: {message}"))
            }
            status if status.is_server_error() => {
                ZendeskError::Unavailable(format!("{status}: {message}"))
            }
            status => ZendeskError::Rejected {
                status: status.as_u16(),
                message,
            },
        })
    }
}

fn too_large(max_bytes: usize) -> ZendeskError {
    ZendeskError::Rejected {
        status: 413,
        message: format!("the media is larger than {max_bytes} bytes"),
    }
}
