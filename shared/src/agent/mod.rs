//! The `Agent` port: given a turn of a conversation, answer in markdown and/or ask to
//! escalate. Backends are chosen per store.

mod knowledge;
mod openai;
mod webhook;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::time::Instant;

pub use knowledge::KnowledgeAgent;
pub use openai::OpenAiAgent;
pub use webhook::{WebhookAgent, standard_webhook_signature};

use crate::domain::{AgentSettings, StoreConfig};
use crate::http_retry::RetryPolicy;
use crate::secrets::SecretStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Messaging,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    Customer,
    Bot,
    HumanAgent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptLine {
    pub speaker: Speaker,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerProfile {
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug)]
pub struct AgentTurn {
    pub channel: Channel,
    pub instructions: String,
    pub customer: CustomerProfile,
    /// The whole conversation, oldest first; the customer's unanswered messages are last.
    pub transcript: Vec<TranscriptLine>,
}

impl AgentTurn {
    /// The customer's messages since the bot or a human last spoke.
    pub fn unanswered(&self) -> impl Iterator<Item = &TranscriptLine> {
        let start = self
            .transcript
            .iter()
            .rposition(|line| line.speaker != Speaker::Customer)
            .map_or(0, |i| i + 1);
        self.transcript[start..].iter()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escalation {
    pub summary: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentAnswer {
    /// Markdown for the customer.
    pub reply: Option<String>,
    pub escalation: Option<Escalation>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the AI agent is unavailable: {0}")]
    Unavailable(String),
    #[error("the AI agent gave an answer Deskmate cannot use: {0}")]
    Malformed(String),
    #[error("the AI agent did not answer within {0} seconds")]
    TimedOut(u64),
    #[error("the AI agent is not configured: {0}")]
    Misconfigured(String),
}

#[async_trait]
pub trait Agent: Send + Sync {
    /// Answers the turn; every attempt and wait fits before `deadline`.
    async fn respond(&self, turn: &AgentTurn, deadline: Instant)
    -> Result<AgentAnswer, AgentError>;
}

/// Chooses and builds the agent a store has configured.
#[async_trait]
pub trait AgentProvider: Send + Sync {
    async fn agent_for(&self, store: &StoreConfig) -> Result<Arc<dyn Agent>, AgentError>;
}

pub struct AgentBackends {
    http: reqwest::Client,
    secrets: Arc<dyn SecretStore>,
    policy: RetryPolicy,
    /// OpenAI-compatible servers that refused tool calling, remembered across the turns this
    /// provider serves (an agent is built per turn).
    openai_tool_refusals: openai::ToolRefusals,
    /// Synced knowledge indexes, when this provider reads them (else the markdown file alone).
    knowledge: Option<Arc<dyn crate::state::KnowledgeIndexes>>,
    /// Each knowledge store's index with its source: built once, again only when a sync
    /// saves a new version or the markdown file changes.
    knowledge_cache: std::sync::Mutex<
        std::collections::HashMap<
            crate::domain::StoreId,
            (Source, Arc<crate::knowledge_index::KnowledgeIndex>),
        >,
    >,
}

impl AgentBackends {
    pub fn new(http: reqwest::Client, secrets: Arc<dyn SecretStore>, policy: RetryPolicy) -> Self {
        Self {
            http,
            secrets,
            policy,
            openai_tool_refusals: openai::ToolRefusals::default(),
            knowledge: None,
            knowledge_cache: Default::default(),
        }
    }

    /// Knowledge agents answer from the store's synced index when it has one.
    pub fn with_knowledge_indexes(
        mut self,
        indexes: Arc<dyn crate::state::KnowledgeIndexes>,
    ) -> Self {
        self.knowledge = Some(indexes);
        self
    }

    /// The index a knowledge store answers from: its synced index when it has one, else its
    /// markdown file's. Built or loaded once per store and source (a new sync, an edited
    /// file), then reused every turn.
    async fn knowledge_index(
        &self,
        store: &StoreConfig,
        markdown: &str,
    ) -> Arc<crate::knowledge_index::KnowledgeIndex> {
        let cached = self.cache().get(&store.id).cloned();
        let source = self
            .synced_version(store)
            .await
            .unwrap_or_else(|| Source::Markdown(markdown_hash(markdown)));
        if let Some((cached_source, index)) = &cached
            && *cached_source == source
        {
            return index.clone();
        }
        let index = match source {
            Source::Synced(_) => match self.load_synced(store).await {
                Some(index) => index,
                None => Arc::new(crate::knowledge_index::KnowledgeIndex::from_markdown(
                    markdown,
                )),
            },
            Source::Markdown(_) => Arc::new(crate::knowledge_index::KnowledgeIndex::from_markdown(
                markdown,
            )),
        };
        self.cache()
            .insert(store.id.clone(), (source, index.clone()));
        index
    }

    /// The version of the store's synced index, or `None` when it has none or it cannot be
    /// read (the agent then answers from the markdown file).
    async fn synced_version(&self, store: &StoreConfig) -> Option<Source> {
        let indexes = self.knowledge.as_ref()?;
        match indexes.index_version(&store.id).await {
            Ok(version) => version.map(Source::Synced),
            Err(err) => {
                tracing::warn!(store = %store.id, error = %err, "knowledge index unreadable; answering from the markdown file");
                None
            }
        }
    }

    /// Loads the store's synced index, or `None` when it cannot be used.
    async fn load_synced(
        &self,
        store: &StoreConfig,
    ) -> Option<Arc<crate::knowledge_index::KnowledgeIndex>> {
        let indexes = self.knowledge.as_ref()?;
        let stored = match indexes.load_index(&store.id).await {
            Ok(stored) => stored?,
            Err(err) => {
                tracing::warn!(store = %store.id, error = %err, "knowledge index unreadable; answering from the markdown file");
                return None;
            }
        };
        if stored.index.format != crate::knowledge_index::INDEX_FORMAT {
            tracing::warn!(store = %store.id, format = stored.index.format, "knowledge index built by another version; answering from the markdown file until the next sync");
            return None;
        }
        Some(Arc::new(stored.index))
    }

    fn cache(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<
            crate::domain::StoreId,
            (Source, Arc<crate::knowledge_index::KnowledgeIndex>),
        >,
    > {
        self.knowledge_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where a cached knowledge index came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The store's synced index, at this version.
    Synced(u64),
    /// The store's markdown file, by a hash of its text.
    Markdown(u64),
}

fn markdown_hash(markdown: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    markdown.hash(&mut hasher);
    hasher.finish()
}

impl AgentBackends {
    async fn secret(&self, name: &str) -> Result<secrecy::SecretString, AgentError> {
        self.secrets.secret(name).await.map_err(|err| {
            if err.is_transient() {
                AgentError::Unavailable(err.to_string())
            } else {
                AgentError::Misconfigured(err.to_string())
            }
        })
    }
}

#[async_trait]
impl AgentProvider for AgentBackends {
    async fn agent_for(&self, store: &StoreConfig) -> Result<Arc<dyn Agent>, AgentError> {
        Ok(match &store.agent {
            AgentSettings::Knowledge { knowledge_markdown } => Arc::new(
                KnowledgeAgent::from_index(self.knowledge_index(store, knowledge_markdown).await),
            ),
            AgentSettings::Openai {
                base_url,
                model,
                api_key_secret,
            } => {
                let api_key = self.secret(api_key_secret).await?;
                Arc::new(
                    OpenAiAgent::new(self.http.clone(), base_url, model, api_key, self.policy)
                        .sharing_tool_refusals(&self.openai_tool_refusals),
                )
            }
            AgentSettings::Webhook {
                url,
                signing_secret,
            } => {
                let secret = self.secret(signing_secret).await?;
                Arc::new(WebhookAgent::new(
                    self.http.clone(),
                    url,
                    &secret,
                    self.policy,
                )?)
            }
        })
    }
}

/// Asks the store's agent within one budget for the whole turn: every attempt, every wait
/// between attempts, and building the agent.
pub async fn ask_agent(
    agents: &dyn AgentProvider,
    store: &StoreConfig,
    turn: &AgentTurn,
    budget: std::time::Duration,
) -> Result<AgentAnswer, AgentError> {
    let started = Instant::now();
    let deadline = started + budget;
    let answer = tokio::time::timeout_at(deadline, async {
        let agent = agents.agent_for(store).await?;
        agent.respond(turn, deadline).await
    })
    .await;
    crate::measures::agent_latency(&store.id, started.elapsed());
    match answer {
        Ok(Err(AgentError::TimedOut(_))) | Err(_) => Err(AgentError::TimedOut(budget.as_secs())),
        Ok(answer) => answer,
    }
}

/// What the worker does with the agent's answer, on either path.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Reply(String),
    Escalate(Escalate),
}

/// A hand-off to a human: why, a summary for them, and what to tell the customer (the
/// store's hand-off message when `None`).
#[derive(Debug, PartialEq, Eq)]
pub struct Escalate {
    pub reason: String,
    pub summary: String,
    pub notice: Option<String>,
}

impl Decision {
    /// The customer is never left unanswered: no answer or a failed agent means a human.
    pub fn from_answer(answer: Result<AgentAnswer, AgentError>) -> Self {
        match answer {
            Ok(AgentAnswer {
                reply: Some(reply),
                escalation: None,
            }) => Decision::Reply(reply),
            Ok(AgentAnswer {
                reply,
                escalation: Some(escalation),
            }) => Decision::Escalate(Escalate {
                reason: escalation.reason,
                summary: escalation.summary,
                notice: reply,
            }),
            Ok(AgentAnswer {
                reply: None,
                escalation: None,
            }) => Decision::Escalate(Escalate {
                reason: "The AI agent gave no answer.".into(),
                summary: "No reply was produced for the customer.".into(),
                notice: None,
            }),
            Err(err) => {
                tracing::warn!(error = %err, "agent failed; escalating");
                Decision::Escalate(Escalate {
                    reason: format!(
                        "The AI agent failed, so the customer got no automatic answer: {err}"
                    ),
                    summary: "The customer is waiting for an answer to their latest message."
                        .into(),
                    notice: None,
                })
            }
        }
    }
}

/// Sends an agent request with the retry policy, all before `deadline`, and returns the body
/// of a successful answer. Asking again is harmless, so timeouts and 5xx are retried.
pub(crate) async fn call_agent_service(
    policy: &crate::http_retry::RetryPolicy,
    deadline: Instant,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<String, AgentError> {
    let (status, text) = send_agent_request(policy, deadline, build).await?;
    if !status.is_success() {
        return Err(agent_service_error(status, &text));
    }
    Ok(text)
}

/// Like [`call_agent_service`], but hands back the final answer whatever its status, for a
/// caller that reads error bodies (an OpenAI-compatible server refusing tool calling).
pub(crate) async fn send_agent_request(
    policy: &crate::http_retry::RetryPolicy,
    deadline: Instant,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, String), AgentError> {
    use crate::http_retry::{Attempted, Replay, send_with_retry};
    let response = match send_with_retry(policy, Replay::Safe, Some(deadline), build).await {
        Attempted::Answered(response) => response,
        Attempted::Unreachable(reason) | Attempted::Unknown(reason) => {
            return Err(AgentError::Unavailable(reason));
        }
        Attempted::OutOfTime => return Err(AgentError::TimedOut(0)),
    };
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| AgentError::Unavailable(err.without_url().to_string()))?;
    Ok((status, text))
}

/// The error for an agent service's failed answer, with the start of its body.
pub(crate) fn agent_service_error(status: reqwest::StatusCode, text: &str) -> AgentError {
    let detail: String = text.chars().take(200).collect();
    AgentError::Unavailable(format!("the agent service answered {status}: {detail}"))
}
