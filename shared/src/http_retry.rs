//! Outbound HTTP with a bounded retry policy: 429 honours `Retry-After`, 5xx and transport
//! failures back off exponentially with full jitter. Shared by the Zendesk clients and agents.
//!
//! A request that changes something is never repeated blindly: after a 5xx or a timeout the
//! change may have been made, so only a 429 (refused before any work) or a connection that
//! never opened is retried here; the caller looks before it tries again.

use std::time::Duration;

use tokio::time::Instant;

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

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Reads, and calls whose repetition does no harm (asking an agent).
    Safe,
    /// Writes: repeated only when the peer certainly did nothing (429, no connection).
    OnlyIfNotDone,
}

/// The outcome of a request that used up its retries or got a final answer.
#[derive(Debug)]
pub enum Attempted {
    /// An HTTP answer: success, a client error, or the last 429/5xx.
    Answered(Response),
    /// No answer at all (connect failure, timeout) on the last attempt.
    Unreachable(String),
    /// The request may have been carried out, but no answer came (a timeout, a broken connection).
    Unknown(String),
    /// The deadline passed before an answer came.
    OutOfTime,
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

/// Sends the request built by `build` until it gets a final answer, the policy gives up, or
/// `deadline` passes (every attempt and every wait fit inside it).
pub async fn send_with_retry(
    policy: &RetryPolicy,
    replay: Replay,
    deadline: Option<Instant>,
    build: impl Fn() -> RequestBuilder,
) -> Attempted {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= policy.max_attempts;
        let mut request = build();
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Attempted::OutOfTime;
            }
            request = request.timeout(left);
        }
        let wait = match request.send().await {
            Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS && !last => {
                match retry_after(&response) {
                    Some(wait) if wait > policy.max_delay => return Attempted::Answered(response),
                    Some(wait) => wait,
                    None => policy.backoff(attempt),
                }
            }
            Ok(response) if is_retryable(response.status()) && replay == Replay::Safe && !last => {
                policy.backoff(attempt)
            }
            Ok(response) => return Attempted::Answered(response),
            Err(err) if err.is_timeout() && deadline.is_some_and(|d| Instant::now() >= d) => {
                return Attempted::OutOfTime;
            }
            // reqwest's errors carry the URL but never headers, so no credential can leak here.
            Err(err) if !err.is_connect() && replay == Replay::OnlyIfNotDone => {
                return Attempted::Unknown(err.without_url().to_string());
            }
            Err(err) if last => return Attempted::Unreachable(err.without_url().to_string()),
            Err(_) => policy.backoff(attempt),
        };
        if deadline.is_some_and(|deadline| Instant::now() + wait >= deadline) {
            return Attempted::OutOfTime;
        }
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
