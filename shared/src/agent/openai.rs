//! Any OpenAI-compatible Chat Completions endpoint, offered an `escalate_to_human` tool.
//!
//! Servers that call themselves OpenAI-compatible differ where it matters here:
//!
//! - Tool calling may be switched off (vLLM without `--enable-auto-tool-choice`, llama.cpp's
//!   server without `--jinja`, an Ollama model without tool support): the server refuses a
//!   request that carries `tools`. Deskmate then asks the same turn again, once, without tools,
//!   and tells the model to ask for a human with a line starting with [`ESCALATE_MARKER`]. The
//!   refusal is remembered for [`TOOLS_RECHECK_AFTER`], so later turns skip the failing call.
//! - Answers vary in shape: `tool_calls` may be `null` or absent, `content` `null` or absent,
//!   and a tool call's `arguments` a JSON string (the spec) or a JSON object.
//! - An answer cut off at the length limit (`finish_reason: "length"`) is never posted: it is
//!   an error, so the customer goes to a human with a note saying why.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Agent, AgentAnswer, AgentError, AgentTurn, Channel, Escalation, Speaker, agent_service_error,
    call_agent_service, send_agent_request,
};
use crate::http_retry::RetryPolicy;

pub const ESCALATE_TOOL: &str = "escalate_to_human";

/// Without tool calling, the model asks for a human with a line starting with this, followed
/// by a one-line summary for the human agent.
pub const ESCALATE_MARKER: &str = "ESCALATE:";

/// How long a server's refusal of tool calling is believed before tools are offered again (the
/// operator may restart the server with tool calling switched on).
pub const TOOLS_RECHECK_AFTER: Duration = Duration::from_secs(600);

/// The OpenAI-compatible servers (endpoint and model) that refused tool calling, and when.
/// Cloning shares the memory.
#[derive(Clone, Default)]
pub(crate) struct ToolRefusals(Arc<Mutex<HashMap<String, Instant>>>);

impl ToolRefusals {
    fn refused_recently(&self, key: &str, now: Instant) -> bool {
        let refusals = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        refusals
            .get(key)
            .is_some_and(|at| now.saturating_duration_since(*at) < TOOLS_RECHECK_AFTER)
    }

    fn remember(&self, key: &str, now: Instant) {
        let mut refusals = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        refusals.insert(key.to_owned(), now);
    }
}

/// Whether a request offers the model the escalation tool or asks it to use the marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Tools,
    PlainText,
}

pub struct OpenAiAgent {
    http: reqwest::Client,
    endpoint: String,
    model: String,
    authorization: HeaderValue,
    policy: RetryPolicy,
    tool_refusals: ToolRefusals,
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
            tool_refusals: ToolRefusals::default(),
        }
    }

    /// Shares what servers refused tool calling with the other agents built with `refusals`
    /// (by default an agent remembers only its own).
    pub(crate) fn sharing_tool_refusals(mut self, refusals: &ToolRefusals) -> Self {
        self.tool_refusals = refusals.clone();
        self
    }

    fn server_key(&self) -> String {
        format!("{} {}", self.endpoint, self.model)
    }

    fn request_body(&self, turn: &AgentTurn, mode: Mode) -> Value {
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
        let escalate = match mode {
            Mode::Tools => {
                format!(
                    "If you cannot help, or the customer asks for a person, call {ESCALATE_TOOL}."
                )
            }
            Mode::PlainText => format!(
                "If you cannot help, or the customer asks for a person, hand them to a human \
                 colleague: write a line that starts with {ESCALATE_MARKER} followed by a \
                 one-line summary for that colleague (what the customer needs and what was \
                 tried). You may write a short message for the customer before that line."
            ),
        };
        let system = format!(
            "{}\n\n{style} Reply in markdown. {customer} {escalate}",
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
        let mut body = json!({
            "model": self.model,
            "messages": messages,
        });
        if mode == Mode::Tools {
            body["tools"] = json!([{
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
            }]);
            body["tool_choice"] = json!("auto");
        }
        body
    }

    async fn post(
        &self,
        body: &Value,
        deadline: Instant,
    ) -> Result<(StatusCode, String), AgentError> {
        send_agent_request(&self.policy, deadline, || self.build(body)).await
    }

    fn build(&self, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(&self.endpoint)
            .header(AUTHORIZATION, self.authorization.clone())
            .json(body)
    }
}

/// Whether an error answer says the server does not take tools or `tool_choice`: vLLM without
/// `--enable-auto-tool-choice` (400), llama.cpp's server without `--jinja` (500, or 400 in
/// some builds), an Ollama model without tool support (400), a strict server rejecting the
/// unknown fields (422). Another error (a bad key, an over-long prompt) is not a refusal.
fn refuses_tools(status: StatusCode, body: &str) -> bool {
    if !matches!(status.as_u16(), 400 | 422 | 500) {
        return false;
    }
    let text = body.to_ascii_lowercase();
    if text.contains("auto-tool-choice") || text.contains("auto tool choice") {
        return true;
    }
    text.contains("tool")
        && [
            "support",
            "require",
            "jinja",
            "not allowed",
            "not permitted",
            "unrecognized",
            "unknown",
        ]
        .iter()
        .any(|hint| text.contains(hint))
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<AssistantMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AssistantMessage {
    /// A string, `null`, absent, or (some servers) an array of `{type: "text", text}` parts.
    #[serde(default)]
    content: Value,
    #[serde(default, deserialize_with = "crate::serde_null::null_as_default")]
    tool_calls: Vec<ToolCall>,
    /// OpenAI's structured refusal: the model declined to answer.
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct ToolCall {
    function: FunctionCall,
}

#[derive(Deserialize)]
struct FunctionCall {
    name: String,
    /// A JSON string per the spec; a JSON object from some servers.
    #[serde(default)]
    arguments: Value,
}

#[derive(Deserialize)]
struct EscalateArguments {
    summary: String,
    #[serde(default)]
    reason: Option<String>,
}

fn message_text(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter(|part| part["type"] == "text")
                .filter_map(|part| part["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

fn escalate_arguments(arguments: &Value) -> Result<EscalateArguments, AgentError> {
    let parsed = match arguments {
        Value::String(text) if text.trim().is_empty() => serde_json::from_str("{}"),
        Value::String(text) => serde_json::from_str(text),
        Value::Null => serde_json::from_str("{}"),
        object => serde_json::from_value(object.clone()),
    };
    parsed.map_err(|err| AgentError::Malformed(format!("{ESCALATE_TOOL} arguments: {err}")))
}

/// Splits the marker lines off a plain-text answer: what is left for the customer, and the
/// summary of the first marker line (`None` when there is none). Markdown emphasis around
/// the marker (`**ESCALATE:**`) is tolerated.
fn split_marker(text: &str) -> (String, Option<String>) {
    let mut summary = None;
    let mut kept = Vec::new();
    for line in text.lines() {
        let bare = line.trim_start_matches(|c: char| c.is_whitespace() || "*_>`#".contains(c));
        match bare.strip_prefix(ESCALATE_MARKER) {
            Some(rest) => {
                let rest = rest.trim_matches(|c: char| c.is_whitespace() || "*_`".contains(c));
                summary.get_or_insert_with(|| rest.to_owned());
            }
            None => kept.push(line),
        }
    }
    (kept.join("\n").trim().to_owned(), summary)
}

const ASKED_FOR_A_HUMAN: &str = "The AI agent asked for a human.";

/// Reads a Chat Completions answer: a reply, an escalation, or both.
fn read_completion(body: &str) -> Result<AgentAnswer, AgentError> {
    let completion: Completion =
        serde_json::from_str(body).map_err(|err| AgentError::Malformed(err.to_string()))?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| AgentError::Malformed("no choices".into()))?;
    match choice.finish_reason.as_deref() {
        Some("length") => {
            return Err(AgentError::Malformed(
                "the answer was cut off at the model's length limit (finish_reason \"length\"), \
                 so it was not posted"
                    .into(),
            ));
        }
        Some("content_filter") => {
            return Err(AgentError::Malformed(
                "the model's content filter stopped the answer (finish_reason \
                 \"content_filter\"), so it was not posted"
                    .into(),
            ));
        }
        _ => {}
    }
    let message = choice
        .message
        .ok_or_else(|| AgentError::Malformed("the choice has no message".into()))?;
    let tool_escalation = message
        .tool_calls
        .iter()
        .find(|call| call.function.name == ESCALATE_TOOL)
        .map(|call| {
            escalate_arguments(&call.function.arguments).map(|args| Escalation {
                summary: args.summary,
                reason: args.reason.unwrap_or_else(|| ASKED_FOR_A_HUMAN.into()),
            })
        })
        .transpose()?;
    let (text, marker_summary) = split_marker(&message_text(&message.content).unwrap_or_default());
    let marker_escalation = marker_summary.map(|summary| Escalation {
        summary: if summary.is_empty() {
            "The customer needs a person; see the conversation.".into()
        } else {
            summary
        },
        reason: ASKED_FOR_A_HUMAN.into(),
    });
    let reply = Some(text).filter(|text| !text.is_empty());
    let refusal = message
        .refusal
        .map(|refusal| refusal.trim().chars().take(500).collect::<String>())
        .filter(|refusal| !refusal.is_empty());
    let escalation = tool_escalation.or(marker_escalation).or_else(|| {
        // The model declined and said nothing else: a human should answer.
        refusal
            .filter(|_| reply.is_none())
            .map(|refusal| Escalation {
                summary: "The AI model declined to answer the customer's latest message.".into(),
                reason: format!("The AI model refused to answer: {refusal}"),
            })
    });
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
        deadline: Instant,
    ) -> Result<AgentAnswer, AgentError> {
        let server = self.server_key();
        if !self.tool_refusals.refused_recently(&server, Instant::now()) {
            let (status, text) = self
                .post(&self.request_body(turn, Mode::Tools), deadline)
                .await?;
            if status.is_success() {
                return read_completion(&text);
            }
            if !refuses_tools(status, &text) {
                return Err(agent_service_error(status, &text));
            }
            let detail: String = text.chars().take(200).collect();
            tracing::warn!(
                status = status.as_u16(),
                detail,
                "the model server refused tool calling; asking again without tools"
            );
            self.tool_refusals.remember(&server, Instant::now());
        }
        // Without tools, within the same deadline: the model asks for a human with the marker.
        let body = self.request_body(turn, Mode::PlainText);
        let text = call_agent_service(&self.policy, deadline, || self.build(&body)).await?;
        read_completion(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{CustomerProfile, TranscriptLine};

    fn malformed(body: &str) -> String {
        match read_completion(body) {
            Err(AgentError::Malformed(reason)) => reason,
            other => panic!("expected a malformed answer for {body}, got {other:?}"),
        }
    }

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
            r#"{"choices":null}"#,
            r#"{"choices":[{"message":{"content":"  "}}]}"#,
            r#"{"choices":[{"message":{"content":null,"tool_calls":null}}]}"#,
            r#"{"choices":[{"finish_reason":"stop"}]}"#,
            r#"not json"#,
            r#"{"choices":[{"message":{"tool_calls":[{"function":{"name":"escalate_to_human","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"message":{"tool_calls":[{"function":{"name":"escalate_to_human","arguments":"{\"summ"}}]}}]}"#,
        ] {
            malformed(bad);
        }
    }

    #[test]
    fn null_tool_calls_and_missing_or_null_content_are_read() {
        // vLLM and llama.cpp write `tool_calls: null` or `[]`, Ollama leaves it out.
        for body in [
            r#"{"choices":[{"message":{"role":"assistant","content":"Hello","tool_calls":null},"finish_reason":"stop"}]}"#,
            r#"{"choices":[{"message":{"role":"assistant","content":"Hello","tool_calls":[]},"finish_reason":"stop"}]}"#,
            r#"{"choices":[{"message":{"role":"assistant","content":"Hello"},"finish_reason":null}]}"#,
            r#"{"choices":[{"message":{"role":"assistant","content":[{"type":"text","text":"Hello"}]}}]}"#,
        ] {
            let answer = read_completion(body).unwrap();
            assert_eq!(answer.reply.as_deref(), Some("Hello"), "{body}");
            assert!(answer.escalation.is_none(), "{body}");
        }
        // A tool call with `content` absent, or null next to `refusal: null` (OpenAI).
        for body in [
            r#"{"choices":[{"message":{"role":"assistant","tool_calls":[{"function":{"name":"escalate_to_human","arguments":"{\"summary\":\"s\"}"}}]}}]}"#,
            r#"{"choices":[{"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"escalate_to_human","arguments":"{\"summary\":\"s\"}"}}]},"finish_reason":"tool_calls"}]}"#,
        ] {
            let answer = read_completion(body).unwrap();
            assert!(answer.reply.is_none(), "{body}");
            let escalation = answer.escalation.unwrap();
            assert_eq!(escalation.summary, "s");
            assert_eq!(escalation.reason, ASKED_FOR_A_HUMAN);
        }
    }

    #[test]
    fn tool_arguments_may_be_a_json_string_or_a_json_object() {
        let object = r#"{"choices":[{"message":{"role":"assistant","content":"","tool_calls":[
            {"function":{"name":"escalate_to_human","arguments":{"summary":"wants a refund","reason":"policy"}}}]},
            "finish_reason":"tool_calls"}]}"#;
        let answer = read_completion(object).unwrap();
        assert!(answer.reply.is_none(), "empty content is no reply");
        let escalation = answer.escalation.unwrap();
        assert_eq!(escalation.summary, "wants a refund");
        assert_eq!(escalation.reason, "policy");

        // Another tool's call is not an escalation; an object without a summary is malformed.
        let other = r#"{"choices":[{"message":{"content":"Hi","tool_calls":[
            {"function":{"name":"lookup_order","arguments":{"id":7}}}]}}]}"#;
        assert!(read_completion(other).unwrap().escalation.is_none());
        let reason = malformed(
            r#"{"choices":[{"message":{"tool_calls":[{"function":{"name":"escalate_to_human","arguments":{"reason":"x"}}}]}}]}"#,
        );
        assert!(reason.contains("summary"), "{reason}");
    }

    #[test]
    fn a_cut_off_or_filtered_answer_is_never_a_reply() {
        let cut = r#"{"choices":[{"message":{"role":"assistant","content":"Refunds take five business days and you can"},"finish_reason":"length"}]}"#;
        assert!(malformed(cut).contains("cut off"));
        // Even a cut-off tool call: its arguments may be truncated.
        let cut_call = r#"{"choices":[{"message":{"content":null,"tool_calls":[{"function":{"name":"escalate_to_human","arguments":"{\"summary\":\"s\"}"}}]},"finish_reason":"length"}]}"#;
        assert!(malformed(cut_call).contains("cut off"));
        let filtered =
            r#"{"choices":[{"message":{"content":"Sorry"},"finish_reason":"content_filter"}]}"#;
        assert!(malformed(filtered).contains("content filter"));
    }

    #[test]
    fn the_plain_text_marker_is_an_escalation_and_never_shown_to_the_customer() {
        let body = |content: &str| {
            json!({"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
                .to_string()
        };
        let answer = read_completion(&body(
            "I'm passing you to a colleague.\nESCALATE: Parcel arrived damaged, wants a replacement.",
        ))
        .unwrap();
        assert_eq!(
            answer.reply.as_deref(),
            Some("I'm passing you to a colleague.")
        );
        let escalation = answer.escalation.unwrap();
        assert_eq!(
            escalation.summary,
            "Parcel arrived damaged, wants a replacement."
        );
        assert_eq!(escalation.reason, ASKED_FOR_A_HUMAN);

        for (content, summary) in [
            ("ESCALATE: wants a person", "wants a person"),
            ("  **ESCALATE:** wants a person", "wants a person"),
            ("`ESCALATE: wants a person`", "wants a person"),
            (
                "ESCALATE:",
                "The customer needs a person; see the conversation.",
            ),
        ] {
            let answer = read_completion(&body(content)).unwrap();
            assert!(answer.reply.is_none(), "{content}");
            assert_eq!(answer.escalation.unwrap().summary, summary, "{content}");
        }

        // Only the marker at the start of a line, in capitals, counts.
        for content in [
            "We never escalate: we answer.",
            "Escalate: is not the marker",
            "Write ESCALATE: to reach us",
        ] {
            let answer = read_completion(&body(content)).unwrap();
            assert!(answer.escalation.is_none(), "{content}");
            assert_eq!(answer.reply.as_deref(), Some(content));
        }
    }

    #[test]
    fn a_refusal_without_an_answer_goes_to_a_human() {
        let body = r#"{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#;
        let escalation = read_completion(body).unwrap().escalation.unwrap();
        assert!(
            escalation.reason.contains("I can't help with that."),
            "{}",
            escalation.reason
        );
    }

    #[test]
    fn recognises_servers_that_refuse_tool_calling() {
        let refusals = [
            // vLLM without --enable-auto-tool-choice, in its current and its older error shape.
            (
                400,
                r#"{"error":{"message":"\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set","type":"BadRequestError","param":null,"code":400}}"#,
            ),
            (
                400,
                r#"{"object":"error","message":"\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set","type":"BadRequestError","param":null,"code":400}"#,
            ),
            // llama.cpp's server without --jinja.
            (
                500,
                r#"{"error":{"code":500,"message":"tools param requires --jinja flag","type":"server_error"}}"#,
            ),
            (
                500,
                r#"{"error":{"code":500,"message":"Unsupported param: tool_choice","type":"server_error"}}"#,
            ),
            // Ollama, a model without tool support.
            (
                400,
                r#"{"error":{"message":"registry.ollama.ai/library/gemma3:1b does not support tools","type":"invalid_request_error","param":null,"code":null}}"#,
            ),
            // A strict server that does not know the fields.
            (
                422,
                r#"{"detail":[{"type":"extra_forbidden","loc":["body","tool_choice"],"msg":"Extra inputs are not permitted"}]}"#,
            ),
        ];
        for (status, body) in refusals {
            assert!(
                refuses_tools(StatusCode::from_u16(status).unwrap(), body),
                "{status} {body}"
            );
        }
        let other_errors = [
            (
                400,
                r#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"BadRequestError","code":400}}"#,
            ),
            (500, r#"{"error":{"message":"CUDA out of memory"}}"#),
            (
                401,
                r#"{"error":{"message":"tools are not supported with this key"}}"#,
            ),
            (
                503,
                r#"{"error":{"message":"tools unsupported while loading"}}"#,
            ),
            (429, r#"{"error":{"message":"slow down"}}"#),
        ];
        for (status, body) in other_errors {
            assert!(
                !refuses_tools(StatusCode::from_u16(status).unwrap(), body),
                "{status} {body}"
            );
        }
    }

    fn agent(base_url: &str) -> OpenAiAgent {
        OpenAiAgent::new(
            reqwest::Client::new(),
            base_url,
            "m",
            SecretString::from("sk-test"),
            RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
        )
    }

    fn turn(text: &str) -> AgentTurn {
        AgentTurn {
            channel: Channel::Email,
            instructions: "Be kind.".into(),
            customer: CustomerProfile::default(),
            transcript: vec![TranscriptLine {
                speaker: Speaker::Customer,
                text: text.into(),
            }],
        }
    }

    #[test]
    fn tools_go_with_tool_choice_auto_and_the_fallback_drops_both() {
        let agent = agent("http://model.test/v1/");
        assert_eq!(agent.endpoint, "http://model.test/v1/chat/completions");
        let with_tools = agent.request_body(&turn("Hi"), Mode::Tools);
        assert_eq!(with_tools["tool_choice"], "auto");
        assert_eq!(with_tools["tools"][0]["function"]["name"], ESCALATE_TOOL);
        assert!(
            with_tools["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains(ESCALATE_TOOL)
        );

        let plain = agent.request_body(&turn("Hi"), Mode::PlainText);
        assert!(plain.get("tools").is_none() && plain.get("tool_choice").is_none());
        let system = plain["messages"][0]["content"].as_str().unwrap();
        assert!(
            system.contains(ESCALATE_MARKER) && !system.contains(ESCALATE_TOOL),
            "{system}"
        );
        assert_eq!(
            plain["messages"][1],
            json!({"role": "user", "content": "Hi"})
        );
    }

    #[test]
    fn a_refusal_is_believed_for_a_while_then_tools_are_tried_again() {
        let refusals = ToolRefusals::default();
        let now = Instant::now();
        assert!(!refusals.refused_recently("a m", now));
        refusals.remember("a m", now);
        assert!(refusals.refused_recently("a m", now + Duration::from_secs(60)));
        assert!(!refusals.refused_recently("b m", now), "per server");
        assert!(!refusals.refused_recently("a m", now + TOOLS_RECHECK_AFTER));
    }

    /// A server that refuses tools the way vLLM does without auto tool choice, and answers
    /// plain requests; it records every request.
    async fn refusing_server(seen: Arc<Mutex<Vec<Value>>>) -> String {
        use axum::http::StatusCode as Status;
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(body.clone());
                    if body.get("tools").is_some() {
                        return (
                            Status::BAD_REQUEST,
                            axum::Json(json!({"error": {"message": "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set", "type": "BadRequestError", "param": null, "code": 400}})),
                        );
                    }
                    let last = body["messages"].as_array().unwrap().last().unwrap()["content"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    let content = if last.contains("human") {
                        "Of course.\nESCALATE: Customer asks for a person."
                    } else {
                        "Refunds take **5 days**."
                    };
                    (
                        Status::OK,
                        axum::Json(json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content, "tool_calls": []}, "finish_reason": "stop"}]})),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}/v1")
    }

    #[tokio::test]
    async fn a_refusal_of_tools_is_answered_again_without_them_and_remembered() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let base_url = refusing_server(seen.clone()).await;
        let deadline = || Instant::now() + Duration::from_secs(5);
        let shared = ToolRefusals::default();
        let first = agent(&base_url).sharing_tool_refusals(&shared);

        let answer = first.respond(&turn("How long?"), deadline()).await.unwrap();
        assert_eq!(answer.reply.as_deref(), Some("Refunds take **5 days**."));
        {
            let seen = seen.lock().unwrap();
            assert_eq!(
                seen.len(),
                2,
                "the refusal is not retried, the plain request once"
            );
            assert!(seen[0].get("tools").is_some());
            assert!(seen[1].get("tools").is_none() && seen[1].get("tool_choice").is_none());
        }

        // The next turn, on this agent or another built with the same memory, skips tools.
        let answer = first
            .respond(&turn("I want a human"), deadline())
            .await
            .unwrap();
        assert_eq!(answer.reply.as_deref(), Some("Of course."));
        assert_eq!(
            answer.escalation.unwrap().summary,
            "Customer asks for a person."
        );
        let second = agent(&base_url).sharing_tool_refusals(&shared);
        second
            .respond(&turn("How long?"), deadline())
            .await
            .unwrap();
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 4);
            assert!(
                seen[2..]
                    .iter()
                    .all(|request| request.get("tools").is_none())
            );
        }

        // An agent with its own memory tries tools first.
        agent(&base_url)
            .respond(&turn("How long?"), deadline())
            .await
            .unwrap();
        assert!(seen.lock().unwrap()[4].get("tools").is_some());
    }

    #[tokio::test]
    async fn other_errors_are_not_answered_again_without_tools() {
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(|| async {
                (
                    axum::http::StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})),
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let agent = agent(&format!("http://{address}/v1"));
        let deadline = Instant::now() + Duration::from_secs(5);
        match agent.respond(&turn("Hi"), deadline).await {
            Err(AgentError::Unavailable(reason)) => assert!(reason.contains("401"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(
            !agent
                .tool_refusals
                .refused_recently(&agent.server_key(), Instant::now())
        );
    }
}
