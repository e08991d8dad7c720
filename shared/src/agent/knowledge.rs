//! The embedded default agent: answers from a store's markdown knowledge file by text
//! retrieval (BM25 over its sections). Offline and deterministic.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;

use super::{Agent, AgentAnswer, AgentError, AgentTurn, Escalation};

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

const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "does",
    "for", "from", "get", "hello", "hi", "how", "i", "if", "in", "is", "it", "me", "my", "of",
    "on", "or", "please", "thank", "thanks", "that", "the", "there", "this", "to", "was", "we",
    "what", "when", "where", "which", "will", "with", "would", "you", "your", "can't", "im",
    "great", "ok", "okay", "also", "just", "don't", "doesn't", "it's", "i'm", "i'd", "i've", "hey",
    "dear", "regards", "cheers", "yes", "no", "so", "some", "any", "have", "has", "had", "am",
    "been", "should", "know", "and", "then", "too", "very", "much", "there's", "our", "us",
];

/// BM25 parameters (the usual ones).
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// A section answers a question when it holds this share of the question's words, or at
/// least `MIN_MATCHED_TERMS` of them (long, chatty messages dilute the share).
const MIN_COVERAGE: f64 = 0.3;
const MIN_MATCHED_TERMS: usize = 2;

struct Section {
    title: String,
    body: String,
    term_counts: HashMap<String, usize>,
    length: usize,
}

pub struct KnowledgeAgent {
    sections: Vec<Section>,
    average_length: f64,
}

fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|word| word.trim_matches('\'').to_lowercase())
        .filter(|word| word.len() > 1 && !STOPWORDS.contains(&word.as_str()))
        .map(|word| stem(&word))
        .collect()
}

/// A light stemmer: enough to match "refunds" with "refund" and "shipping" with "ship".
fn stem(word: &str) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stripped) = word.strip_suffix(suffix)
            && stripped.chars().count() >= 3
        {
            let mut chars: Vec<char> = stripped.chars().collect();
            let doubled = chars.len() >= 2 && chars[chars.len() - 1] == chars[chars.len() - 2];
            if doubled && !"aeiouls".contains(chars[chars.len() - 1]) {
                chars.pop();
            }
            return chars.into_iter().collect();
        }
    }
    word.to_owned()
}

impl KnowledgeAgent {
    pub fn new(markdown: &str) -> Self {
        let mut sections = Vec::new();
        let mut title = String::new();
        let mut body = String::new();
        let mut flush = |title: &str, body: &str| {
            let body = body.trim();
            if body.is_empty() {
                return;
            }
            let words = terms(&format!("{title} {title} {body}"));
            let mut term_counts = HashMap::new();
            for word in &words {
                *term_counts.entry(word.clone()).or_insert(0) += 1;
            }
            sections.push(Section {
                title: title.to_owned(),
                body: body.to_owned(),
                length: words.len(),
                term_counts,
            });
        };
        for line in markdown.lines() {
            if let Some(heading) = line.strip_prefix('#') {
                flush(&title, &body);
                title = heading.trim_start_matches('#').trim().to_owned();
                body.clear();
            } else {
                body.push_str(line);
                body.push('\n');
            }
        }
        flush(&title, &body);
        let average_length = if sections.is_empty() {
            1.0
        } else {
            sections.iter().map(|s| s.length).sum::<usize>() as f64 / sections.len() as f64
        };
        Self {
            sections,
            average_length,
        }
    }

    /// The best section for `question`, if one is relevant enough.
    fn best_section(&self, question: &str) -> Option<&Section> {
        let query: HashSet<String> = terms(question).into_iter().collect();
        if query.is_empty() {
            return None;
        }
        let total = self.sections.len() as f64;
        let scored = self.sections.iter().map(|section| {
            let mut score = 0.0;
            let mut matched = 0;
            for term in &query {
                let Some(&count) = section.term_counts.get(term) else {
                    continue;
                };
                matched += 1;
                let containing = self
                    .sections
                    .iter()
                    .filter(|s| s.term_counts.contains_key(term))
                    .count() as f64;
                let idf = ((total - containing + 0.5) / (containing + 0.5) + 1.0).ln();
                let tf = count as f64;
                let norm = K1 * (1.0 - B + B * section.length as f64 / self.average_length);
                score += idf * tf * (K1 + 1.0) / (tf + norm);
            }
            let relevant =
                matched >= MIN_MATCHED_TERMS || matched as f64 / query.len() as f64 >= MIN_COVERAGE;
            (section, score, relevant)
        });
        scored
            .filter(|(_, score, relevant)| *score > 0.0 && *relevant)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(section, _, _)| section)
    }
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
        match self.best_section(&question) {
            Some(section) => Ok(AgentAnswer {
                reply: Some(format!("**{}**\n\n{}", section.title, section.body)),
                escalation: None,
            }),
            None => Ok(escalate(
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

    #[test]
    fn stemming_matches_simple_inflections() {
        assert_eq!(stem("refunds"), "refund");
        assert_eq!(stem("shipping"), "ship");
        assert_eq!(stem("shipped"), "ship");
        assert_eq!(stem("ship"), "ship");
    }
}
