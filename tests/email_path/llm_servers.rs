//! Conformance with the servers stores point the `openai` backend at: vLLM with and without
//! auto tool choice, llama.cpp's server with and without `--jinja`, Ollama's OpenAI-compatible
//! endpoint and OpenAI. A fake server replays hand-made recordings of each server's answers
//! (`tests/fixtures/llm/`, see its README) and, per shape, the whole email path runs: a
//! question gets the model's answer as a public reply, a request for a human gets a hand-off.
//! Every request Deskmate sends is checked against a JSON Schema of the Chat Completions
//! request written from the spec.

use std::sync::{Arc, Mutex};

use deskmate_e2e_tests::{AppOptions, TestApp, sqs_event};
use deskmate_shared::domain::AgentSettings;
use deskmate_shared::secrets::SecretVault;
use deskmate_shared::ticket_thread::ESCALATED_TAG;
use reply_worker::ReplyWorker;
use secrecy::SecretString;
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/llm");
const MODEL: &str = "test-model";
const API_KEY: &str = "sk-conformance";
/// The recorded answer, as the sandbox renders it, and the recorded hand-off summary.
const ANSWER_HTML: &str = "<strong>5 business days</strong>";
const SUMMARY: &str = "Customer wants a person to handle their refund.";
const QUESTION: &str = "How long do refunds take?";
const WANTS_HUMAN: &str = "That is too slow. I want a human, please.";

/// A recording: `{"status": …, "body": …}`.
fn recording(shape: &str, name: &str) -> Option<(u16, Value)> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{shape}/{name}.json")).ok()?;
    let recording: Value = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{shape}/{name}.json is not JSON: {err}"));
    let status = recording["status"].as_u64().expect("a status") as u16;
    Some((status, recording["body"].clone()))
}

/// Which recording answers `request`: a refusal when the request carries tools and the
/// server refuses them; otherwise by what the customer last wrote.
fn recording_for(shape: &str, request: &Value) -> String {
    let with_tools = request.get("tools").is_some();
    if with_tools && recording(shape, "tools-refused").is_some() {
        return "tools-refused".into();
    }
    let last = request["messages"]
        .as_array()
        .and_then(|messages| messages.iter().rfind(|m| m["role"] == "user"))
        .and_then(|message| message["content"].as_str())
        .unwrap_or_default()
        .to_lowercase();
    let kind = if last.contains("human") {
        "escalate"
    } else if last.contains("everything") {
        "cut-off"
    } else {
        "answer"
    };
    format!("{}-{kind}", if with_tools { "tools" } else { "plain" })
}

/// A fake server that replays one shape's recordings and keeps every request and the name of
/// the recording it answered with.
struct FakeServer {
    base_url: String,
    exchanges: Arc<Mutex<Vec<(Value, String)>>>,
}

impl FakeServer {
    async fn start(shape: &'static str) -> Self {
        use axum::http::{HeaderMap, StatusCode};
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let seen = exchanges.clone();
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(move |headers: HeaderMap, axum::Json(request): axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    let bearer = format!("Bearer {API_KEY}");
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&bearer) {
                        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"message": "bad key"}})));
                    }
                    let name = recording_for(shape, &request);
                    let answer = recording(shape, &name);
                    seen.lock().unwrap().push((request, name.clone()));
                    match answer {
                        Some((status, body)) => (StatusCode::from_u16(status).unwrap(), axum::Json(body)),
                        None => (
                            StatusCode::NOT_IMPLEMENTED,
                            axum::Json(json!({"error": {"message": format!("no recording {shape}/{name}.json")}})),
                        ),
                    }
                }
            }),
        );
        let url = deskmate_cli::server::serve(app, "127.0.0.1:0")
            .await
            .expect("a loopback port");
        Self {
            base_url: format!("{url}/v1"),
            exchanges,
        }
    }

    fn requests(&self) -> Vec<Value> {
        let exchanges = self.exchanges.lock().unwrap();
        exchanges
            .iter()
            .map(|(request, _)| request.clone())
            .collect()
    }

    /// The recordings replayed, in order.
    fn replayed(&self) -> Vec<String> {
        let exchanges = self.exchanges.lock().unwrap();
        exchanges.iter().map(|(_, name)| name.clone()).collect()
    }
}

async fn app_for(server: &FakeServer) -> TestApp {
    let secret = format!(
        "deskmate/test/{}",
        deskmate_e2e_tests::unique_name("llm-key")
    );
    let app = TestApp::spawn_with(AppOptions {
        agent: AgentSettings::Openai {
            base_url: server.base_url.clone(),
            model: MODEL.into(),
            api_key_secret: secret.clone(),
        },
        ..AppOptions::default()
    })
    .await;
    app.secrets
        .put_secret(&secret, &SecretString::from(API_KEY))
        .await
        .unwrap();
    app
}

fn request_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(format!("{FIXTURES}/chat-completions-request.schema.json"))
        .expect("the request schema");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// Every request conforms to the spec, and offers the tool with `tool_choice: "auto"` or, in
/// the fallback, neither tools nor `tool_choice` and the marker instruction.
fn check_requests(shape: &str, requests: &[Value]) {
    assert!(
        !requests.is_empty(),
        "{shape}: no request reached the server"
    );
    let schema = request_schema();
    let mut failures = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        failures.extend(
            schema
                .iter_errors(request)
                .map(|e| format!("{shape} request {i}: {e} at {}", e.instance_path())),
        );
        assert_eq!(request["model"], MODEL);
        let system = request["messages"][0]["content"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(request["messages"][0]["role"], "system");
        if request.get("tools").is_some() {
            assert_eq!(request["tool_choice"], "auto", "{shape} request {i}");
            assert_eq!(request["tools"][0]["function"]["name"], "escalate_to_human");
            assert!(system.contains("escalate_to_human"), "{shape}: {system}");
        } else {
            assert!(request.get("tool_choice").is_none(), "{shape} request {i}");
            assert!(system.contains("ESCALATE:"), "{shape}: {system}");
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The whole email path against one shape: a question is answered with the model's words, a
/// request for a human is handed off with the model's summary. Returns the recordings replayed.
async fn answers_and_hands_off(shape: &'static str) -> Vec<String> {
    let server = FakeServer::start(shape).await;
    let app = app_for(&server).await;

    let ticket = app.customer_emails(QUESTION);
    app.run_worker().await;
    let replies = app.public_replies_by_bot(ticket);
    assert_eq!(
        replies.len(),
        1,
        "{shape}: one reply; notes: {:?}",
        app.internal_notes(ticket)
            .iter()
            .map(|n| &n.body)
            .collect::<Vec<_>>()
    );
    assert!(
        replies[0].html_body.contains(ANSWER_HTML),
        "{shape}: {}",
        replies[0].html_body
    );
    assert!(
        app.internal_notes(ticket).is_empty(),
        "{shape}: no hand-off"
    );
    assert_eq!(
        app.sandbox.ticket(ticket).unwrap().assignee_id,
        Some(app.bot)
    );

    app.sandbox.comment(app.customer, ticket, WANTS_HUMAN, true);
    app.run_worker().await;
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1, "{shape}: one hand-off note");
    assert!(
        notes[0].body.contains(&format!("Summary: {SUMMARY}")),
        "{shape}: {}",
        notes[0].body
    );
    let handed_off = app.sandbox.ticket(ticket).unwrap();
    assert_eq!(handed_off.assignee_id, None, "{shape}: unassigned");
    assert!(
        handed_off.tags.iter().any(|t| t == ESCALATED_TAG),
        "{shape}"
    );
    for comment in app.comments_by(ticket, app.bot) {
        assert!(
            !comment.body.contains("ESCALATE"),
            "{shape}: the marker reached the ticket: {}",
            comment.body
        );
    }

    check_requests(shape, &server.requests());
    server.replayed()
}

#[tokio::test]
async fn vllm_with_auto_tool_choice_answers_and_hands_off_through_the_tool() {
    let replayed = answers_and_hands_off("vllm-auto-tool-choice").await;
    assert_eq!(replayed, ["tools-answer", "tools-escalate"]);
}

#[tokio::test]
async fn vllm_without_auto_tool_choice_is_asked_again_without_tools() {
    // The 400 is not retried: each turn is one refused request and one without tools.
    let replayed = answers_and_hands_off("vllm-no-auto-tool-choice").await;
    assert_eq!(
        replayed,
        [
            "tools-refused",
            "plain-answer",
            "tools-refused",
            "plain-escalate"
        ]
    );
}

#[tokio::test]
async fn llamacpp_with_jinja_answers_and_hands_off_through_the_tool() {
    let replayed = answers_and_hands_off("llamacpp-jinja").await;
    assert_eq!(replayed, ["tools-answer", "tools-escalate"]);
}

#[tokio::test]
async fn llamacpp_without_jinja_is_asked_again_without_tools() {
    // Its refusal is a 500, which the retry policy asks again before reading it as a refusal.
    let replayed = answers_and_hands_off("llamacpp-no-jinja").await;
    let plain: Vec<_> = replayed
        .iter()
        .filter(|name| name.starts_with("plain"))
        .collect();
    assert_eq!(plain, ["plain-answer", "plain-escalate"], "{replayed:?}");
    assert!(
        replayed
            .iter()
            .all(|name| name.starts_with("plain") || name == "tools-refused"),
        "{replayed:?}"
    );
}

#[tokio::test]
async fn ollama_answers_and_hands_off_through_the_tool() {
    let replayed = answers_and_hands_off("ollama").await;
    assert_eq!(replayed, ["tools-answer", "tools-escalate"]);
}

#[tokio::test]
async fn tool_arguments_given_as_a_json_object_are_read() {
    let replayed = answers_and_hands_off("ollama-object-arguments").await;
    assert_eq!(replayed, ["tools-answer", "tools-escalate"]);
}

#[tokio::test]
async fn an_ollama_model_without_tool_support_is_asked_again_without_tools() {
    let replayed = answers_and_hands_off("ollama-no-tool-support").await;
    assert_eq!(
        replayed,
        [
            "tools-refused",
            "plain-answer",
            "tools-refused",
            "plain-escalate"
        ]
    );
}

#[tokio::test]
async fn openai_answers_and_hands_off_through_the_tool() {
    let replayed = answers_and_hands_off("openai").await;
    assert_eq!(replayed, ["tools-answer", "tools-escalate"]);
}

/// Runs `worker` over everything queued, as the Lambda event source would.
async fn run_on(app: &TestApp, worker: &ReplyWorker) {
    app.sandbox.settle().await;
    let messages = app.aws.receive_all().await;
    let response = worker.handle_batch(sqs_event(messages.clone())).await;
    app.aws
        .event_source()
        .acknowledge(&messages, &response)
        .await;
}

#[tokio::test]
async fn a_worker_remembers_that_a_server_refuses_tools() {
    let server = FakeServer::start("llamacpp-no-jinja").await;
    let app = app_for(&server).await;
    let worker = app.worker();

    let ticket = app.customer_emails(QUESTION);
    run_on(&app, &worker).await;
    assert_eq!(app.public_replies_by_bot(ticket).len(), 1);
    let first_turn = server.replayed().len();
    assert_eq!(server.replayed().last().unwrap(), "plain-answer");

    // The next turn on the same (warm) worker skips the request the server refuses.
    app.sandbox.comment(app.customer, ticket, WANTS_HUMAN, true);
    run_on(&app, &worker).await;
    assert_eq!(&server.replayed()[first_turn..], ["plain-escalate"]);
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].body.contains(SUMMARY), "{}", notes[0].body);
    assert_eq!(app.sandbox.ticket(ticket).unwrap().assignee_id, None);
    check_requests("llamacpp-no-jinja", &server.requests());
}

#[tokio::test]
async fn an_answer_cut_off_at_the_length_limit_is_handed_to_a_human() {
    let server = FakeServer::start("vllm-auto-tool-choice").await;
    let app = app_for(&server).await;

    let ticket = app.customer_emails("Tell me everything about your refunds.");
    app.run_worker().await;
    assert_eq!(server.replayed(), ["tools-cut-off"]);
    for comment in app.public_replies_by_bot(ticket) {
        assert!(
            !comment.body.contains("Eligibility"),
            "the cut-off answer was posted: {}",
            comment.body
        );
    }
    let notes = app.internal_notes(ticket);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].body.contains("cut off"), "{}", notes[0].body);
    assert_eq!(app.sandbox.ticket(ticket).unwrap().assignee_id, None);
    check_requests("vllm-auto-tool-choice", &server.requests());
}

#[test]
fn the_request_schema_bites() {
    let schema = request_schema();
    let valid = json!({
        "model": MODEL,
        "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}],
        "tools": [{"type": "function", "function": {"name": "escalate_to_human", "parameters": {"type": "object", "properties": {}}}}],
        "tool_choice": "auto"
    });
    assert!(schema.is_valid(&valid));
    let mut broken = Vec::new();
    let mut without_tools = valid.clone();
    without_tools.as_object_mut().unwrap().remove("tools");
    broken.push(("tool_choice without tools", without_tools));
    let mut no_role = valid.clone();
    no_role["messages"][1]
        .as_object_mut()
        .unwrap()
        .remove("role");
    broken.push(("a message without a role", no_role));
    let mut null_content = valid.clone();
    null_content["messages"][1]["content"] = Value::Null;
    broken.push(("a message without content", null_content));
    let mut not_a_function = valid.clone();
    not_a_function["tools"][0]["type"] = json!("retrieval");
    broken.push(("a tool that is not a function", not_a_function));
    let mut bad_name = valid.clone();
    bad_name["tools"][0]["function"]["name"] = json!("escalate to human");
    broken.push(("a function name with spaces", bad_name));
    let mut bad_choice = valid.clone();
    bad_choice["tool_choice"] = json!("sometimes");
    broken.push(("an unknown tool_choice", bad_choice));
    let mut no_model = valid;
    no_model.as_object_mut().unwrap().remove("model");
    broken.push(("no model", no_model));
    for (what, request) in broken {
        assert!(!schema.is_valid(&request), "the schema accepted {what}");
    }
}
