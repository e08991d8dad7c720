//! The bridge end to end: a chat outside Zendesk hands its customer to a Zendesk agent through
//! Deskmate's API, against the Zendesk sandbox and the AWS-compatible server; the agent side
//! comes back to the caller's own webhook receiver, signed.

mod conformance;
mod faults;
mod sessions;
#[path = "../support/spec_check.rs"]
mod spec_check;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use deskmate_e2e_tests::{MessagingSetup, TestApp};
use deskmate_shared::auth::{standard_webhook_signature, whsec_key};
use deskmate_shared::domain::BridgeSettings;
use deskmate_shared::secrets::SecretVault;
use deskmate_shared::state::StoreDirectory;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// One delivery the caller's receiver got.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: String,
    pub body: Value,
    /// The Standard Webhooks signature checked out with the store's secret.
    pub signed: bool,
}

#[derive(Default)]
struct Inbox {
    deliveries: Vec<Delivery>,
    /// Answer 503 to this many deliveries first.
    fail_next: usize,
    /// Answer 400 to every delivery (a receiver that refuses them for good).
    refuse: bool,
    key: Vec<u8>,
}

/// The caller's webhook receiver: verifies signatures the Standard Webhooks way.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inbox: Arc<Mutex<Inbox>>,
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut inbox = inbox.lock().unwrap();
    if inbox.refuse {
        return StatusCode::BAD_REQUEST;
    }
    if inbox.fail_next > 0 {
        inbox.fail_next -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let id = header("webhook-id");
    let timestamp: u64 = header("webhook-timestamp").parse().unwrap_or_default();
    let text = String::from_utf8_lossy(&body).to_string();
    let expected = standard_webhook_signature(&inbox.key, &id, timestamp, &text);
    let signed = header("webhook-signature")
        .split(' ')
        .any(|signature| signature == expected);
    inbox.deliveries.push(Delivery {
        id,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        signed,
    });
    StatusCode::NO_CONTENT
}

impl Receiver {
    async fn start(secret: &SecretString) -> Self {
        let inbox = Arc::new(Mutex::new(Inbox {
            key: whsec_key(secret).expect("a whsec secret"),
            ..Inbox::default()
        }));
        let app = axum::Router::new()
            .route("/events", axum::routing::post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, inbox }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inbox.lock().unwrap().deliveries.clone()
    }

    pub fn fail_next(&self, count: usize) {
        self.inbox.lock().unwrap().fail_next = count;
    }

    pub fn refuse(&self, refuse: bool) {
        self.inbox.lock().unwrap().refuse = refuse;
    }
}

/// A test app whose store has a bridge webhook, and messaging set up the way
/// `deskmate widgets switchboard` leaves it (standby events on).
pub struct BridgeApp {
    pub app: TestApp,
    pub messaging: MessagingSetup,
    pub receiver: Receiver,
    pub token: SecretString,
    http: reqwest::Client,
}

impl BridgeApp {
    pub async fn spawn() -> Self {
        let app = TestApp::spawn().await;
        let messaging = app.enable_messaging().await;
        app.sandbox.set_standby_events("deskmate", true);
        let secret = deskmate_shared::auth::generate_whsec();
        let receiver = Receiver::start(&secret).await;
        let name = format!("deskmate/{}/bridge-signing-secret", app.store.config.id);
        app.secrets
            .put_secret(&name, &secret)
            .await
            .expect("the secret is saved");
        let mut store = app.store.config.clone();
        store.bridge = Some(BridgeSettings {
            webhook_url: receiver.url.clone(),
            signing_secret: name,
        });
        app.state
            .save_store(&store)
            .await
            .expect("the store is saved");
        let token = app.store.tool_token.clone();
        Self {
            app,
            messaging,
            receiver,
            token,
            http: reqwest::Client::new(),
        }
    }

    /// Calls the bridge API with the store's tool token (or `token`).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&SecretString>,
    ) -> (u16, Value) {
        let token = token.unwrap_or(&self.token);
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.app.deskmate_url))
            .bearer_auth(token.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the bridge answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn open(&self, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, "/bridge/sessions", Some(body), None)
            .await
    }

    /// Lets the sandbox's webhooks land, then runs the worker over what they queued.
    pub async fn relay(&self) {
        self.app.sandbox.settle().await;
        self.app.run_worker().await;
    }

    pub async fn events(&self, session: &str, after: u64) -> Value {
        let (status, events) = self
            .call(
                reqwest::Method::GET,
                &format!("/bridge/sessions/{session}/events?after={after}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{events}");
        events
    }
}

/// A session request with a transcript long enough to need two messages.
pub fn session_request(session_id: &str) -> Value {
    let long = "I ordered the blue jacket in size M and it arrived in size S. ".repeat(45);
    json!({
        "session_id": session_id,
        "customer": {"external_id": format!("cust-{session_id}"), "name": "Ana Lima", "email": "ana@example.test"},
        "summary": "Ana got the wrong size and wants an exchange before Friday.",
        "transcript": [
            {"role": "customer", "text": long},
            {"role": "assistant", "text": "Could you tell me more?"},
            {"role": "customer", "text": long},
            {"role": "assistant", "text": "I'm sorry! Let me get a person to arrange the exchange."},
            {"role": "customer", "text": "Thanks, please hurry."},
        ],
        "tags": ["vip"],
        "ticket_fields": {"360001": "ORDER-1042"},
    })
}
