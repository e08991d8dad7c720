//! The control API: the sandbox driven over HTTP, as `deskmate sandbox` is.

use reqwest::StatusCode;
use serde_json::{Value, json};
use zendesk_sandbox::{Call, Sandbox};

struct Control {
    sandbox: Sandbox,
    http: reqwest::Client,
}

impl Control {
    async fn start() -> Self {
        Self {
            sandbox: Sandbox::start_on("127.0.0.1:0").await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POSTs `body` as `curl -d` would (no JSON content type).
    async fn post(&self, path: &str, body: Value) -> Value {
        let request = self
            .http
            .post(format!("{}{path}", self.sandbox.control_url()))
            .body(body.to_string());
        let (status, answer) = self.send(request).await;
        assert_eq!(status, 200, "POST {path}: {answer}");
        answer
    }

    async fn get(&self, path: &str) -> Value {
        let request = self
            .http
            .get(format!("{}{path}", self.sandbox.control_url()));
        let (status, answer) = self.send(request).await;
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }
}

#[tokio::test]
async fn a_customer_a_ticket_a_comment_and_a_fault_over_http() {
    let control = Control::start().await;
    assert!(!control.sandbox.base_url().ends_with(":0"));
    let root = control.get("").await;
    assert_eq!(
        root["support_api"],
        format!("{}/api/v2", control.sandbox.base_url())
    );
    let customer = control
        .post(
            "/users",
            json!({"name": "Ana", "email": "ana@example.com", "role": "end_user"}),
        )
        .await["id"]
        .as_u64()
        .unwrap();
    let agent = control
        .post(
            "/users",
            json!({"name": "Sam", "email": "sam@acme.test", "role": "agent"}),
        )
        .await["id"]
        .as_u64()
        .unwrap();
    let token = control.post("/api_tokens", json!(null)).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let brand = control.post("/brands", json!({"name": "Acme"})).await["id"]
        .as_u64()
        .unwrap();
    let ticket = control
        .post(
            "/tickets",
            json!({"requester_id": customer, "brand_id": brand, "subject": "Refund", "body": "Where is my refund?"}),
        )
        .await["id"]
        .as_u64()
        .unwrap();
    let answered = control
        .post(
            &format!("/tickets/{ticket}/comments"),
            json!({"author_id": agent, "body": "Looking into it", "public": false}),
        )
        .await;
    assert_eq!(answered["comments"].as_array().unwrap().len(), 2);
    control
        .post(
            &format!("/tickets/{ticket}/assign"),
            json!({"actor_id": agent, "assignee_id": agent}),
        )
        .await;
    let rule = json!({"call": "show_ticket", "fault": {"kind": "status", "status": 503}});
    assert_eq!(
        control.post("/faults", rule).await,
        json!({"call": "show_ticket", "skip": 0, "times": 1, "fault": {"kind": "status", "status": 503}})
    );

    let support = |path: String| {
        control
            .http
            .get(format!("{}{path}", control.sandbox.base_url()))
            .basic_auth("sam@acme.test/token", Some(&token))
    };
    let (status, _) = control
        .send(support(format!("/api/v2/tickets/{ticket}.json")))
        .await;
    assert_eq!(status, 503);
    let (status, answer) = control
        .send(support(format!("/api/v2/tickets/{ticket}.json")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["ticket"]["assignee_id"], agent);

    assert_eq!(
        control.get("/calls").await,
        json!(["show_ticket", "show_ticket"])
    );
    assert_eq!(
        control.sandbox.calls(),
        [Call::ShowTicket, Call::ShowTicket]
    );
    assert_eq!(control.get("/faults").await, json!([]));
    let state = control.get(&format!("/tickets/{ticket}")).await;
    assert_eq!(state["status"], "open");
    assert_eq!(state["requester_id"], customer);
    assert_eq!(state["comments"][0]["body"], "Where is my refund?");
    assert_eq!(state["comments"][1]["public"], false);
    let solved = control
        .post(
            &format!("/tickets/{ticket}/solve"),
            json!({"agent_id": agent}),
        )
        .await;
    assert_eq!(solved["status"], "solved");
    assert_eq!(control.get("/deliveries").await, json!([]));

    let response = control
        .http
        .delete(format!("{}/faults", control.sandbox.control_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn a_widget_conversation_over_http() {
    let control = Control::start().await;
    let keys = control.post("/messaging", json!(null)).await;
    assert!(keys["key_secret"].is_string());
    let brand = control.post("/brands", json!({"name": "Acme"})).await["id"].clone();
    let widget = control
        .post(
            "/widgets",
            json!({"brand_id": brand, "name": "Acme widget"}),
        )
        .await["integration_id"]
        .clone();
    let conversation = control
        .post("/conversations", json!({"widget": widget, "name": "Lee"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    control
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"text": "Hi, anyone there?"}),
        )
        .await;
    control
        .post(
            &format!("/conversations/{conversation}/agent_messages"),
            json!({"name": "Sam", "text": "Hello Lee"}),
        )
        .await;
    let state = control.get(&format!("/conversations/{conversation}")).await;
    assert_eq!(state["messages"][0]["author_type"], "user");
    assert_eq!(state["messages"][1]["text"], "Hello Lee");
    assert_eq!(state["in_control"], "zd-agentWorkspace");
    assert_eq!(state["ticket_id"], Value::Null);
    assert_eq!(
        control.sandbox.conversation_messages(&conversation).len(),
        2
    );
}

#[tokio::test]
async fn mistakes_get_clear_errors() {
    let control = Control::start().await;
    let url = |path: &str| format!("{}{path}", control.sandbox.control_url());
    let (status, answer) = control.send(control.http.get(url("/tickets/42"))).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "no ticket 42");
    let (status, answer) = control
        .send(
            control
                .http
                .post(url("/tickets"))
                .body(json!({"requester_id": 7, "subject": "s", "body": "b"}).to_string()),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = control
        .send(control.http.post(url("/users")).body("{\"name\": 1}"))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].is_string());
    let (status, _) = control
        .send(
            control
                .http
                .post(url("/faults"))
                .body(json!({"call": "no_such_call", "fault": {"kind": "garbage"}}).to_string()),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = control
        .send(
            control
                .http
                .post(url("/conversations/nope/messages"))
                .body("{\"text\": \"hi\"}"),
        )
        .await;
    assert_eq!(status, 404);
}
