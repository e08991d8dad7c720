//! Fault injection by call kind on the Support and Conversations APIs, and the call log.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use zendesk_sandbox::{Call, Fault, FaultRule, MessagingKeys, Role, Sandbox};

/// A sandbox with an agent, a customer's ticket and a widget conversation, and a client
/// for both APIs with the right credentials.
struct Account {
    sandbox: Sandbox,
    http: reqwest::Client,
    token: String,
    keys: MessagingKeys,
    ticket: u64,
    agent: u64,
    conversation: String,
}

impl Account {
    async fn new() -> Self {
        let sandbox = Sandbox::start().await;
        let brand = sandbox.add_brand("Acme");
        let agent = sandbox.add_user("Bot", "bot@acme.test", Role::Agent);
        let customer = sandbox.add_user("Ana", "ana@example.com", Role::EndUser);
        let token = sandbox.add_api_token();
        let ticket = sandbox.customer_emails(customer, Some(brand), "Refund", "Where is it?");
        let keys = sandbox.enable_messaging();
        let widget = sandbox.add_web_widget(brand, "Acme widget");
        let conversation = sandbox.widget_visitor_opens(&widget, "Lee");
        Self {
            sandbox,
            http: reqwest::Client::new(),
            token,
            keys,
            ticket,
            agent,
            conversation,
        }
    }

    fn support(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.sandbox.base_url()))
            .basic_auth("bot@acme.test/token", Some(&self.token))
    }

    /// `path` below the conversation, e.g. `/messages`.
    fn conversations(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!(
            "{}/sc/v2/apps/{}/conversations/{}{path}",
            self.sandbox.base_url(),
            self.keys.app_id,
            self.conversation
        );
        self.http
            .request(method, url)
            .basic_auth(&self.keys.key_id, Some(&self.keys.key_secret))
    }

    fn show_ticket(&self) -> reqwest::RequestBuilder {
        self.support(Method::GET, &format!("/api/v2/tickets/{}", self.ticket))
    }

    fn post_message(&self, text: &str) -> reqwest::RequestBuilder {
        self.conversations(Method::POST, "/messages").json(&json!({
            "author": {"type": "business", "displayName": "Deskmate"},
            "content": {"type": "text", "text": text},
        }))
    }
}

async fn status(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn commit_then_status_on_post_message_stores_the_message_but_answers_500() {
    let account = Account::new().await;
    account.sandbox.inject(FaultRule::once(
        Call::PostMessage,
        Fault::CommitThenStatus { status: 500 },
    ));
    let response = account
        .post_message("Your refund is on its way.")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"errors": [{"code": "internal_server_error", "title": "Internal Server Error"}]})
    );
    let texts: Vec<String> = account
        .sandbox
        .conversation_messages(&account.conversation)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["Your refund is on its way."]);
    assert_eq!(
        status(account.post_message("Again")).await,
        201,
        "once only"
    );
    assert_eq!(
        account.sandbox.calls(),
        [Call::PostMessage, Call::PostMessage]
    );
}

#[tokio::test]
async fn skip_lets_matching_calls_through_and_times_counts_the_faulted_ones() {
    let account = Account::new().await;
    account.sandbox.inject(FaultRule {
        call: Call::ShowTicket,
        skip: 1,
        times: 2,
        fault: Fault::Status { status: 503 },
    });
    let comments = format!("/api/v2/tickets/{}/comments", account.ticket);
    assert_eq!(status(account.show_ticket()).await, 200, "skipped");
    assert_eq!(
        status(account.support(Method::GET, &comments)).await,
        200,
        "another call"
    );
    let response = account.show_ticket().send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "ServiceUnavailable", "{body}");
    assert!(body["description"].is_string(), "{body}");
    assert_eq!(account.sandbox.fault_rules()[0].times, 1);
    assert_eq!(status(account.show_ticket()).await, 503);
    assert!(account.sandbox.fault_rules().is_empty());
    assert_eq!(status(account.show_ticket()).await, 200, "used up");
    assert_eq!(
        account.sandbox.calls(),
        [
            Call::ShowTicket,
            Call::ListComments,
            Call::ShowTicket,
            Call::ShowTicket,
            Call::ShowTicket
        ]
    );
    assert_eq!(account.sandbox.api_requests(), 5);
}

#[tokio::test]
async fn garbage_commits_the_update_and_answers_200_with_a_body_that_is_not_json() {
    let account = Account::new().await;
    account
        .sandbox
        .inject(FaultRule::once(Call::UpdateTicket, Fault::Garbage));
    let response = account
        .support(
            Method::PUT,
            &format!("/api/v2/tickets/{}.json", account.ticket),
        )
        .json(&json!({"ticket": {"comment": {"body": "On its way", "public": true}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    let comments = account.sandbox.comments(account.ticket);
    assert_eq!(comments.last().unwrap().body, "On its way");
    assert_eq!(comments.last().unwrap().author_id, account.agent);
}

#[tokio::test]
async fn faults_that_do_nothing_come_before_authentication() {
    let account = Account::new().await;
    account.sandbox.inject(FaultRule::once(
        Call::Any,
        Fault::RateLimited {
            retry_after_secs: 7,
        },
    ));
    account.sandbox.inject(FaultRule::once(
        Call::OtherConversations,
        Fault::Status { status: 403 },
    ));
    let unauthenticated = reqwest::Client::new();
    let response = unauthenticated
        .get(format!("{}/api/v2/users/me", account.sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "APIRateLimitExceeded");
    let integrations = format!(
        "{}/sc/v2/apps/{}/integrations",
        account.sandbox.base_url(),
        account.keys.app_id
    );
    let response = unauthenticated.get(&integrations).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "forbidden");
    assert_eq!(
        status(unauthenticated.get(&integrations)).await,
        401,
        "no fault left"
    );
}

#[tokio::test]
async fn latency_answers_normally_after_the_delay() {
    let account = Account::new().await;
    account.sandbox.inject(FaultRule::once(
        Call::ListMessages,
        Fault::Latency { millis: 300 },
    ));
    let started = Instant::now();
    assert_eq!(
        status(account.conversations(Method::GET, "/messages")).await,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn commit_then_timeout_creates_the_ticket_though_the_client_gives_up() {
    let account = Account::new().await;
    account.sandbox.inject(FaultRule::once(
        Call::CreateTicket,
        Fault::CommitThenTimeout { millis: 2_000 },
    ));
    let before = account.sandbox.api_requests();
    let sent = account
        .support(Method::POST, "/api/v2/tickets.json")
        .timeout(Duration::from_millis(300))
        .json(&json!({"ticket": {"subject": "Hello", "comment": {"body": "From the bot"}}}))
        .send()
        .await;
    assert!(sent.unwrap_err().is_timeout());
    let created = account.ticket + 1..account.ticket + 50;
    let ticket = created
        .filter_map(|id| account.sandbox.ticket(id))
        .find(|t| t.subject == "Hello");
    assert!(ticket.is_some(), "the ticket was created");
    assert_eq!(account.sandbox.api_requests(), before + 1);
}

#[tokio::test]
async fn inject_faults_serves_the_next_calls_of_either_api_in_order() {
    let account = Account::new().await;
    account
        .sandbox
        .inject_faults([Fault::Status { status: 500 }, Fault::Status { status: 503 }]);
    assert_eq!(status(account.conversations(Method::GET, "")).await, 500);
    assert_eq!(status(account.show_ticket()).await, 503);
    assert_eq!(status(account.show_ticket()).await, 200);
    assert_eq!(
        account.sandbox.calls(),
        [Call::GetConversation, Call::ShowTicket, Call::ShowTicket]
    );
}

#[tokio::test]
async fn clearing_removes_every_rule() {
    let account = Account::new().await;
    account
        .sandbox
        .inject_faults(std::iter::repeat_n(Fault::Status { status: 503 }, 4));
    assert_eq!(account.sandbox.fault_rules().len(), 4);
    account.sandbox.clear_faults();
    assert_eq!(status(account.show_ticket()).await, 200);
}

#[tokio::test]
async fn every_route_is_classified() {
    let account = Account::new().await;
    let ticket = account.ticket;
    let support = [
        (
            Method::GET,
            format!("/api/v2/tickets/{ticket}"),
            Call::ShowTicket,
        ),
        (
            Method::GET,
            format!("/api/v2/tickets/{ticket}.json"),
            Call::ShowTicket,
        ),
        (
            Method::GET,
            format!("/api/v2/tickets/{ticket}/comments"),
            Call::ListComments,
        ),
        (
            Method::GET,
            format!("/api/v2/tickets/{ticket}/comments.json?include=users"),
            Call::ListComments,
        ),
        (
            Method::PUT,
            format!("/api/v2/tickets/{ticket}"),
            Call::UpdateTicket,
        ),
        (Method::POST, "/api/v2/tickets".into(), Call::CreateTicket),
        (
            Method::POST,
            "/api/v2/tickets.json".into(),
            Call::CreateTicket,
        ),
        (
            Method::GET,
            "/api/v2/search.json?query=type:ticket".into(),
            Call::Search,
        ),
        (
            Method::GET,
            "/api/v2/search?query=type:ticket".into(),
            Call::Search,
        ),
        (
            Method::GET,
            format!("/api/v2/users/{}", account.agent),
            Call::ShowUser,
        ),
        (Method::GET, "/api/v2/users/me".into(), Call::OtherSupport),
        (Method::GET, "/api/v2/webhooks".into(), Call::OtherSupport),
        (Method::POST, "/api/v2/webhooks".into(), Call::OtherSupport),
        (
            Method::PUT,
            "/api/v2/webhooks/01X".into(),
            Call::OtherSupport,
        ),
        (
            Method::GET,
            "/api/v2/webhooks/01X/signing_secret".into(),
            Call::OtherSupport,
        ),
        (
            Method::GET,
            "/api/v2/triggers.json".into(),
            Call::OtherSupport,
        ),
        (Method::POST, "/api/v2/triggers".into(), Call::OtherSupport),
        (Method::PUT, "/api/v2/triggers/1".into(), Call::OtherSupport),
        (
            Method::GET,
            "/api/v2/no_such_thing".into(),
            Call::OtherSupport,
        ),
    ];
    let conversations = [
        (Method::GET, "", Call::GetConversation),
        (Method::GET, "/messages", Call::ListMessages),
        (Method::POST, "/messages", Call::PostMessage),
        (Method::POST, "/activity", Call::PostActivity),
        (Method::POST, "/passControl", Call::PassControl),
        (Method::POST, "/releaseControl", Call::ReleaseControl),
    ];
    let app = format!("/sc/v2/apps/{}", account.keys.app_id);
    let others = [
        (Method::GET, format!("{app}/integrations")),
        (Method::GET, format!("{app}/switchboards")),
        (Method::PATCH, format!("{app}/switchboards/s")),
        (
            Method::GET,
            format!("{app}/switchboards/s/switchboardIntegrations"),
        ),
        (
            Method::POST,
            format!("{app}/switchboards/s/switchboardIntegrations"),
        ),
        (
            Method::PATCH,
            format!("{app}/switchboards/s/switchboardIntegrations/m"),
        ),
        (Method::GET, format!("{app}/no_such_thing")),
    ];
    let app_level = [
        (Method::POST, format!("{app}/users"), Call::CreateUser),
        (Method::GET, format!("{app}/users/crm-42"), Call::GetUser),
        (
            Method::GET,
            format!("{app}/users/crm-42/clients"),
            Call::OtherConversations,
        ),
        (
            Method::POST,
            format!("{app}/conversations"),
            Call::CreateConversation,
        ),
        (
            Method::GET,
            format!("{app}/conversations?filter[userId]=u"),
            Call::ListConversations,
        ),
        (
            Method::GET,
            "/sc/attachments/0123abcd/label.pdf".to_owned(),
            Call::DownloadAttachment,
        ),
        (
            Method::POST,
            "/sc/attachments/0123abcd/label.pdf".to_owned(),
            Call::OtherConversations,
        ),
    ];
    let mut expected = Vec::new();
    for (method, path, call) in support {
        account
            .support(method, &path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expected.push(call);
    }
    for (method, path, call) in conversations {
        account
            .conversations(method, path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expected.push(call);
    }
    for (method, path) in others {
        let url = format!("{}{path}", account.sandbox.base_url());
        account
            .http
            .request(method, url)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expected.push(Call::OtherConversations);
    }
    for (method, path, call) in app_level {
        let url = format!("{}{path}", account.sandbox.base_url());
        account
            .http
            .request(method, url)
            .basic_auth(&account.keys.key_id, Some(&account.keys.key_secret))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expected.push(call);
    }
    let control = format!("{}/_sandbox/calls", account.sandbox.base_url());
    let logged: Vec<Call> = account
        .http
        .get(control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(logged, expected, "the control API is not an API call");
    assert_eq!(account.sandbox.calls(), expected);
}

#[tokio::test]
async fn unknown_paths_answer_404_in_their_api_shape() {
    let account = Account::new().await;
    let response = account
        .support(Method::GET, "/api/v2/no_such_thing")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "RecordNotFound");
    let response = account
        .conversations(Method::GET, "/no_such_thing")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "not_found");
}
