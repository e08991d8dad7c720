//! The embedded default agent: answers from a store's knowledge (its markdown file and its
//! synced Help Center articles) by text retrieval, citing the article it answers from.
//! Offline and deterministic; see [`crate::knowledge_index`].

use std::sync::Arc;

use async_trait::async_trait;

use super::{Agent, AgentAnswer, AgentError, AgentTurn, Escalation};
use crate::knowledge_index::{KnowledgeIndex, Passage, Verdict};

/// Phrases that mean "let me talk to a person".
const HUMAN_REQUESTS: &[&str] = &[
    "human",
    "real person",
    "a person",
    "someone real",
    "representative",
    "operator",
    "live agent",
    "real agent",
    "an agent",
    "a manager",
    "speak to someone",
    "talk to someone",
];

const FRUSTRATION: &[&str] = &[
    "ridiculous",
    "useless",
    "unacceptable",
    "terrible",
    "furious",
    "angry",
    "frustrat",
    "waste of time",
    "not helpful",
    "worst",
    "!!!",
];

pub struct KnowledgeAgent {
    index: Arc<KnowledgeIndex>,
}

impl KnowledgeAgent {
    /// An agent over a markdown knowledge file alone.
    pub fn new(markdown: &str) -> Self {
        Self::from_index(Arc::new(KnowledgeIndex::from_markdown(markdown)))
    }

    /// An agent over a built index (a synced Help Center and the markdown file).
    pub fn from_index(index: Arc<KnowledgeIndex>) -> Self {
        Self { index }
    }
}

/// The reply for a passage: its title, its text and, for an article, a link to it.
fn grounded_reply(passage: &Passage) -> String {
    let mut reply = if passage.title.is_empty() {
        passage.text.clone()
    } else {
        format!("**{}**\n\n{}", passage.title, passage.text)
    };
    if let Some(url) = &passage.url {
        let name = passage.title.split(" › ").next().unwrap_or(&passage.title);
        reply.push_str(&format!("\n\nSource: [{name}]({url})"));
    }
    reply
}

fn mentions_any(text: &str, phrases: &[&str]) -> bool {
    let lower = text.to_lowercase();
    phrases.iter().any(|phrase| lower.contains(phrase))
}

#[async_trait]
impl Agent for KnowledgeAgent {
    async fn respond(
        &self,
        turn: &AgentTurn,
        _deadline: tokio::time::Instant,
    ) -> Result<AgentAnswer, AgentError> {
        let question = turn
            .unanswered()
            .map(|line| line.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let escalate = |reason: &str| AgentAnswer {
            reply: None,
            escalation: Some(Escalation {
                summary: format!("The customer wrote: \"{}\"", question.trim()),
                reason: reason.to_owned(),
            }),
        };
        if mentions_any(&question, HUMAN_REQUESTS) {
            return Ok(escalate(crate::domain::CUSTOMER_ASKED));
        }
        if mentions_any(&question, FRUSTRATION) {
            return Ok(escalate("The customer sounds frustrated."));
        }
        match self.index.answer(&question) {
            Verdict::Answer(hit) => Ok(AgentAnswer {
                reply: Some(grounded_reply(hit.passage)),
                escalation: None,
            }),
            Verdict::NoMatch { .. } => Ok(escalate(
                "The knowledge base has no answer to this question.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{Channel, CustomerProfile, Speaker, TranscriptLine};

    const KNOWLEDGE: &str = "# Shipping\nWe ship worldwide within 3 business days. Tracking links arrive by email.\n\n\
        # Returns and refunds\nReturn any item within 30 days for a full refund. Refunds reach your card in 5 days.\n\n\
        # Opening hours\nOur team works Monday to Friday, 9:00-17:00 CET.\n";

    fn turn(messages: &[&str]) -> AgentTurn {
        AgentTurn {
            channel: Channel::Email,
            instructions: String::new(),
            customer: CustomerProfile::default(),
            transcript: messages
                .iter()
                .map(|text| TranscriptLine {
                    speaker: Speaker::Customer,
                    text: (*text).to_owned(),
                })
                .collect(),
        }
    }

    async fn answer(messages: &[&str]) -> AgentAnswer {
        KnowledgeAgent::new(KNOWLEDGE)
            .respond(&turn(messages), tokio::time::Instant::now())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn answers_from_the_matching_section() {
        let answer = answer(&["How long do refunds take?"]).await;
        let reply = answer.reply.unwrap();
        assert!(
            reply.contains("Refunds reach your card in 5 days"),
            "{reply}"
        );
        assert!(answer.escalation.is_none());
        let answer = self::answer(&["Do you ship to Canada? I need tracking"]).await;
        assert!(answer.reply.unwrap().contains("We ship worldwide"));
        // A long, chatty message still finds its answer through two matching words.
        let answer = self::answer(&[
            "Great, thanks so much. The colour was wrong and my partner hated it, can I return it for a refund?",
        ])
        .await;
        assert!(answer.reply.unwrap().contains("full refund"));
    }

    #[tokio::test]
    async fn escalates_on_request_frustration_or_no_match() {
        for (messages, reason) in [
            (
                vec!["Can I talk to a human please?"],
                "asked to talk to a person",
            ),
            (
                vec!["This is ridiculous, it is the third time!!!"],
                "frustrated",
            ),
            (vec!["Do you sell gift cards for llamas?"], "no answer"),
        ] {
            let answer = answer(&messages).await;
            assert!(answer.reply.is_none(), "{messages:?}");
            let escalation = answer.escalation.unwrap();
            assert!(escalation.reason.contains(reason), "{escalation:?}");
            assert!(escalation.summary.contains(messages[0]));
        }
    }

    #[tokio::test]
    async fn cites_the_article_it_answers_from() {
        let mut passages = crate::knowledge_index::article_passages(
            "Shipping to Portugal",
            "<h2>Shipping times</h2><p>Parcels reach Portugal in 3 to 5 business days.</p>",
            "https://help.example.com/hc/en-us/articles/7-Shipping-to-Portugal",
            "shipping",
        );
        passages.extend(crate::knowledge_index::markdown_passages(KNOWLEDGE));
        let agent = KnowledgeAgent::from_index(Arc::new(KnowledgeIndex::build(passages)));
        let answer = agent
            .respond(
                &turn(&["How long does shipping take to Portugal?"]),
                tokio::time::Instant::now(),
            )
            .await
            .unwrap();
        let reply = answer.reply.unwrap();
        assert!(reply.contains("3 to 5 business days"), "{reply}");
        assert!(
            reply.contains("(https://help.example.com/hc/en-us/articles/7-Shipping-to-Portugal)"),
            "{reply}"
        );
    }
}
