//! Typed configuration, read once per cold start from the environment template.yaml sets.

use std::time::Duration;

/// How long a failing job may keep retrying, and how fast.
#[derive(Clone, Copy, Debug)]
pub struct RetrySchedule {
    /// The wait before the second attempt; it doubles with each receive.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// A job still failing this long after it was queued goes to a human.
    pub human_within: Duration,
}

impl Default for RetrySchedule {
    /// Retries after 10, 20, 40, 60, 60 s; a customer reaches a human within about four
    /// minutes of the job being queued even when every attempt fails.
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(60),
            human_within: Duration::from_secs(180),
        }
    }
}

impl RetrySchedule {
    /// The wait after the `receive_count`-th attempt failed.
    pub fn backoff(&self, receive_count: u32) -> Duration {
        let factor = 2u32.saturating_pow(receive_count.saturating_sub(1).min(16));
        self.first_retry.saturating_mul(factor).min(self.max_retry)
    }
}

/// The clocks of hand-offs; tests scale them down.
#[derive(Clone, Copy, Debug)]
pub struct HandoffTiming {
    /// How long one attempt may run the steps before another may take over.
    pub lease: Duration,
    /// The step between the follow-up job's looks (the first is immediate; up to a minute).
    pub recheck: Duration,
}

impl Default for HandoffTiming {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            recheck: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} must be {expected}, got {value:?}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
}

/// Reads variables through `lookup`, so tests need not touch the process environment.
pub struct EnvReader<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

impl EnvReader<fn(&str) -> Option<String>> {
    pub fn process() -> Self {
        Self {
            lookup: |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> EnvReader<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        (self.lookup)(name).ok_or(ConfigError::Missing(name))
    }

    pub fn optional(&self, name: &'static str) -> Option<String> {
        (self.lookup)(name)
    }

    pub fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        match (self.lookup)(name) {
            None => Ok(Duration::from_secs(default)),
            Some(value) => {
                value
                    .trim()
                    .parse()
                    .map(Duration::from_secs)
                    .map_err(|_| ConfigError::Invalid {
                        name,
                        expected: "a whole number of seconds",
                        value,
                    })
            }
        }
    }
}

/// What the ingress (webhook) functions need: the table and the queue, no secrets.
#[derive(Clone, Debug)]
pub struct IngressConfig {
    pub table_name: String,
    pub queue_url: String,
    /// Customer messages are queued this long so a burst is answered once.
    pub burst_window: Duration,
    /// How long a delivery is remembered for de-duplication.
    pub dedup_ttl: Duration,
}

impl IngressConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            queue_url: env.required("QUEUE_URL")?,
            burst_window: env.seconds("BURST_WINDOW_SECONDS", 3)?,
            dedup_ttl: env.seconds("DEDUP_TTL_SECONDS", 24 * 3600)?,
        })
    }
}

/// What the reply worker needs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub table_name: String,
    /// Where hand-offs queue follow-up work (the messaging ticket's note).
    pub queue_url: String,
    /// Every Zendesk call goes here instead of `https://{subdomain}.zendesk.com` (the sandbox).
    pub zendesk_base_url: Option<String>,
    pub secrets_ttl: Duration,
    pub agent_timeout: Duration,
    pub http_timeout: Duration,
    /// How long a claimed message is reserved for the worker answering it.
    pub claim_lease: Duration,
    /// Where jobs that cannot succeed go (the dead-letter queue, whose consumer hands the
    /// thread to a human); without it they wait out the queue's receive count.
    pub dead_letter_queue_url: Option<String>,
    /// How soon a failing job is retried, and how long it may keep failing before a human
    /// takes over.
    pub retries: RetrySchedule,
    /// The step between the looks of a hand-off's follow-up job for the messaging ticket.
    pub handoff_recheck: Duration,
    /// The API's public base URL (attachment links in bridge events); paths when unset.
    pub public_url: Option<String>,
}

impl WorkerConfig {
    pub fn handoff_timing(&self) -> HandoffTiming {
        HandoffTiming {
            lease: self.claim_lease,
            recheck: self.handoff_recheck,
        }
    }

    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &EnvReader<F>,
    ) -> Result<Self, ConfigError> {
        let config = Self {
            table_name: env.required("TABLE_NAME")?,
            queue_url: env.required("QUEUE_URL")?,
            zendesk_base_url: env.optional("ZENDESK_BASE_URL"),
            secrets_ttl: env.seconds("SECRETS_CACHE_TTL_SECONDS", 300)?,
            agent_timeout: env.seconds("AGENT_TIMEOUT_SECONDS", 25)?,
            http_timeout: env.seconds("HTTP_TIMEOUT_SECONDS", 10)?,
            claim_lease: env.seconds("CLAIM_LEASE_SECONDS", 120)?,
            dead_letter_queue_url: env.optional("DEAD_LETTER_QUEUE_URL"),
            retries: RetrySchedule {
                human_within: env.seconds("HUMAN_WITHIN_SECONDS", 180)?,
                ..RetrySchedule::default()
            },
            handoff_recheck: env.seconds("HANDOFF_RECHECK_SECONDS", 10)?,
            public_url: env.optional("PUBLIC_URL"),
        };
        if config.claim_lease <= config.agent_timeout {
            return Err(ConfigError::Invalid {
                name: "CLAIM_LEASE_SECONDS",
                expected: "longer than AGENT_TIMEOUT_SECONDS",
                value: config.claim_lease.as_secs().to_string(),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> EnvReader<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EnvReader::new(move |name| map.get(name).cloned())
    }

    #[test]
    fn missing_and_invalid_values_are_named() {
        let err = IngressConfig::from_env(&env(&[("TABLE_NAME", "t")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable QUEUE_URL is required"
        );
        let err = WorkerConfig::from_env(&env(&[
            ("TABLE_NAME", "t"),
            ("QUEUE_URL", "q"),
            ("AGENT_TIMEOUT_SECONDS", "soon"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("AGENT_TIMEOUT_SECONDS must be a whole number"),
            "{err}"
        );
        let ok = WorkerConfig::from_env(&env(&[("TABLE_NAME", "t"), ("QUEUE_URL", "q")])).unwrap();
        assert_eq!(ok.agent_timeout, Duration::from_secs(25));
    }
}
