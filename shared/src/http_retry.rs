//! Outbound HTTP with a bounded retry policy: 429 honours `Retry-After`, 5xx and transport
//! failures back off exponentially with full jitter. Shared by the Zendesk clients and agents.

use std::time::Duration;

use rand::Rng;
use reqwest::{RequestBuilder, Response, StatusCode};

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    /// No single wait is longer; a `Retry-After` beyond it is handed back to the caller.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random wait in [0, min(max, base * 2^attempt)].
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        let millis = ceiling.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// The outcome of a request that used up its retries or got a final answer.
#[derive(Debug)]
pub enum Attempted {
    /// An HTTP answer: success, a client error, or the last 429/5xx.
    Answered(Response),
    /// No answer at all (connect failure, timeout) on the last attempt.
    Unreachable(String),
}

pub fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Sends the request built by `build` until it gets a final answer or the policy gives up.
pub async fn send_with_retry(
    policy: &RetryPolicy,
    build: impl Fn() -> RequestBuilder,
) -> Attempted {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= policy.max_attempts;
        let wait = match build().send().await {
            Ok(response) if !is_retryable(response.status()) || last => {
                return Attempted::Answered(response);
            }
            Ok(response) => match retry_after(&response) {
                Some(wait) if wait > policy.max_delay => return Attempted::Answered(response),
                Some(wait) => wait,
                None => policy.backoff(attempt),
            },
            // reqwest's errors carry the URL but never headers, so no credential can leak here.
            Err(err) if last => return Attempted::Unreachable(err.without_url().to_string()),
            Err(_) => policy.backoff(attempt),
        };
        tracing::debug!(
            attempt,
            wait_ms = wait.as_millis() as u64,
            "retrying request"
        );
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
        };
        for attempt in 0..20 {
            assert!(policy.backoff(attempt) <= Duration::from_millis(800));
        }
    }
}
