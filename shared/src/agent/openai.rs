//! Any OpenAI-compatible Chat Completions endpoint, offered an `escalate_to_human` tool.

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Agent, AgentAnswer, AgentError, AgentTurn, Channel, Escalation, Speaker, call_agent_service,
};
use crate::http_retry::RetryPolicy;

pub const ESCALATE_TOOL: &str = "escalate_to_human";

pub struct OpenAiAgent {
    http: reqwest::Client,
    endpoint: String,
    model: String,
    authorization: HeaderValue,
    policy: RetryPolicy,
}

impl OpenAiAgent {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        model: &str,
        api_key: SecretString,
        policy: RetryPolicy,
    ) -> Self {
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", api_key.expose_secret()))
                .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid-key"));
        authorization.set_sensitive(true);
        Self {
            http,
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            model: model.to_owned(),
            authorization,
            policy,
        }
    }

    fn request_body(&self, turn: &AgentTurn) -> Value {
        let style = match turn.channel {
            Channel::Email => {
                "You are answering an email ticket: write a complete, polite email reply."
            }
            Channel::Messaging => "You are answering a live chat: keep replies short.",
        };
        let customer = match (&turn.customer.name, &turn.customer.email) {
            (Some(name), Some(email)) => format!("The customer is {name} <{email}>."),
            (Some(name), None) => format!("The customer is {name}."),
            (None, Some(email)) => format!("The customer's email is {email}."),
            (None, None) => String::new(),
        };
        let system = format!(
            "{}\n\n{style} Reply in markdown. {customer} If you cannot help, or the customer asks \
             for a person, call {ESCALATE_TOOL}.",
            turn.instructions
        );
        let mut messages = vec![json!({"role": "system", "content": system})];
        messages.extend(turn.transcript.iter().map(|line| {
            let role = match line.speaker {
                Speaker::Customer => "user",
                Speaker::Bot | Speaker::HumanAgent => "assistant",
            };
            json!({"role": role, "content": line.text})
        }));
        json!({
            "model": self.model,
            "messages": messages,
            "tools": [{
                "type": "function",
                "function": {
                    "name": ESCALATE_TOOL,
                    "description": "Hand the customer to a human support agent, with a summary for them.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "summary": {"type": "string", "description": "What the customer needs and what was tried."},
                            "reason": {"type": "string", "description": "Why a human is needed."}
                        },
                        "required": ["summary"]
                    }
                }
            }]
        })
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: AssistantMessage,
}

#[derive(Deserialize)]
struct AssistantMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCall>,
}

#[derive(Deserialize)]
struct ToolCall {
    function: FunctionCall,
}

#[derive(Deserialize)]
struct FunctionCall {
    name: String,
    arguments: String,
}

#[derive(Deserialize)]
struct EscalateArguments {
    summary: String,
    #[serde(default)]
    reason: Option<String>,
}

/// Reads a Chat Completions answer: a reply, an escalation, or both.
fn read_completion(body: &str) -> Result<AgentAnswer, AgentError> {
    let completion: Completion =
        serde_json::from_str(body).map_err(|err| AgentError::Malformed(err.to_string()))?;
    let message = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| AgentError::Malformed("no choices".into()))?
        .message;
    let escalation = message
        .tool_calls
        .iter()
        .find(|call| call.function.name == ESCALATE_TOOL)
        .map(|call| {
            serde_json::from_str::<EscalateArguments>(&call.function.arguments)
                .map(|args| Escalation {
                    summary: args.summary,
                    reason: args
                        .reason
                        .unwrap_or_else(|| "The AI agent asked for a human.".into()),
                })
                .map_err(|err| AgentError::Malformed(format!("{ESCALATE_TOOL} arguments: {err}")))
        })
        .transpose()?;
    let reply = message.content.filter(|text| !text.trim().is_empty());
    if reply.is_none() && escalation.is_none() {
        return Err(AgentError::Malformed(
            "neither a reply nor an escalation".into(),
        ));
    }
    Ok(AgentAnswer { reply, escalation })
}

#[async_trait]
impl Agent for OpenAiAgent {
    async fn respond(
        &self,
        turn: &AgentTurn,
        deadline: tokio::time::Instant,
    ) -> Result<AgentAnswer, AgentError> {
        let body = self.request_body(turn);
        let text = call_agent_service(&self.policy, deadline, || {
            self.http
                .post(&self.endpoint)
                .header(AUTHORIZATION, self.authorization.clone())
                .json(&body)
        })
        .await?;
        read_completion(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_replies_tool_calls_and_refuses_empty_answers() {
        let reply =
            read_completion(r#"{"choices":[{"message":{"content":"Hi **there**"}}]}"#).unwrap();
        assert_eq!(reply.reply.as_deref(), Some("Hi **there**"));
        assert!(reply.escalation.is_none());

        let tool = r#"{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c1","type":"function",
            "function":{"name":"escalate_to_human","arguments":"{\"summary\":\"wants a refund\",\"reason\":\"policy\"}"}}]}}]}"#;
        let escalation = read_completion(tool).unwrap().escalation.unwrap();
        assert_eq!(escalation.summary, "wants a refund");
        assert_eq!(escalation.reason, "policy");

        for bad in [
            r#"{"choices":[]}"#,
            r#"{"choices":[{"message":{"content":"  "}}]}"#,
            r#"not json"#,
            r#"{"choices":[{"message":{"tool_calls":[{"function":{"name":"escalate_to_human","arguments":"{}"}}]}}]}"#,
        ] {
            assert!(
                matches!(read_completion(bad), Err(AgentError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
