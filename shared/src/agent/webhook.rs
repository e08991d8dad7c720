//! A customer's own agent service: each turn is POSTed to its URL, signed the Standard Webhooks
//! way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `id.timestamp.body`, keyed by the `whsec_…` secret), and the answer is `{reply, escalate}`.

use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{
    Agent, AgentAnswer, AgentError, AgentTurn, Channel, Escalation, Speaker, call_agent_service,
};
pub use crate::auth::standard_webhook_signature;
use crate::auth::{standard_webhook_headers, whsec_key};
use crate::http_retry::RetryPolicy;
use async_trait::async_trait;

pub struct WebhookAgent {
    http: reqwest::Client,
    url: String,
    key: SecretBox<Vec<u8>>,
    policy: RetryPolicy,
}

/// The signing key of a `whsec_<base64>` secret (Standard Webhooks' format).
fn signing_key(secret: &SecretString) -> Result<Vec<u8>, AgentError> {
    whsec_key(secret).ok_or_else(|| {
        AgentError::Misconfigured("the agent signing secret is not whsec_<base64>".into())
    })
}

#[derive(Deserialize)]
struct WebhookAnswer {
    #[serde(default)]
    reply: Option<String>,
    #[serde(default)]
    escalate: Option<WebhookEscalation>,
}

#[derive(Deserialize)]
struct WebhookEscalation {
    summary: String,
    #[serde(default)]
    reason: Option<String>,
}

impl WebhookAgent {
    pub fn new(
        http: reqwest::Client,
        url: &str,
        secret: &SecretString,
        policy: RetryPolicy,
    ) -> Result<Self, AgentError> {
        Ok(Self {
            http,
            url: url.to_owned(),
            key: SecretBox::new(Box::new(signing_key(secret)?)),
            policy,
        })
    }

    fn body(turn: &AgentTurn) -> String {
        let transcript: Vec<_> = turn
            .transcript
            .iter()
            .map(|line| {
                let role = match line.speaker {
                    Speaker::Customer => "customer",
                    Speaker::Bot => "bot",
                    Speaker::HumanAgent => "agent",
                };
                json!({"role": role, "text": line.text})
            })
            .collect();
        json!({
            "type": "deskmate.turn",
            "channel": match turn.channel { Channel::Email => "email", Channel::Messaging => "messaging" },
            "instructions": turn.instructions,
            "customer": {"name": turn.customer.name, "email": turn.customer.email},
            "transcript": transcript,
        })
        .to_string()
    }
}

fn read_answer(text: &str) -> Result<AgentAnswer, AgentError> {
    let answer: WebhookAnswer =
        serde_json::from_str(text).map_err(|err| AgentError::Malformed(err.to_string()))?;
    let reply = answer.reply.filter(|r| !r.trim().is_empty());
    if reply.is_none() && answer.escalate.is_none() {
        return Err(AgentError::Malformed(
            "neither `reply` nor `escalate`".into(),
        ));
    }
    Ok(AgentAnswer {
        reply,
        escalation: answer.escalate.map(|e| Escalation {
            summary: e.summary,
            reason: e
                .reason
                .unwrap_or_else(|| "The agent service asked for a human.".into()),
        }),
    })
}

#[async_trait]
impl Agent for WebhookAgent {
    async fn respond(
        &self,
        turn: &AgentTurn,
        deadline: tokio::time::Instant,
    ) -> Result<AgentAnswer, AgentError> {
        let body = Self::body(turn);
        let mut id_bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut id_bytes);
        // One id and timestamp for every retry of this turn, so the receiver can de-duplicate.
        let id = format!(
            "msg_{}",
            id_bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let headers = standard_webhook_headers(self.key.expose_secret(), &id, &body);
        let text = call_agent_service(&self.policy, deadline, || {
            headers
                .iter()
                .fold(self.http.post(&self.url), |request, (name, value)| {
                    request.header(*name, value)
                })
                .body(body.clone())
        })
        .await?;
        read_answer(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example from the Standard Webhooks specification.
        let key = signing_key(&SecretString::from(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ))
        .unwrap();
        let signature = standard_webhook_signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn answers_need_a_reply_or_an_escalation() {
        assert_eq!(
            read_answer(r#"{"reply":"Hi"}"#).unwrap().reply.as_deref(),
            Some("Hi")
        );
        let escalation = read_answer(r#"{"reply":null,"escalate":{"summary":"s"}}"#)
            .unwrap()
            .escalation
            .unwrap();
        assert_eq!(escalation.summary, "s");
        for bad in [
            r#"{}"#,
            r#"{"reply":"  "}"#,
            "[]",
            "<html>",
            r#"{"escalate":true}"#,
        ] {
            assert!(
                matches!(read_answer(bad), Err(AgentError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
