//! Every kind of bad request to the ticket webhook gets the right status and a message that
//! says what is wrong, and nothing is queued for it.

use deskmate_e2e_tests::TestApp;
use deskmate_shared::auth::zendesk_signature;
use deskmate_shared::state::StoreDirectory;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Case {
    name: &'static str,
    path_store: Option<&'static str>,
    authorization: Auth,
    signature: Signature,
    body: Vec<u8>,
    status: u16,
    message: &'static str,
}

enum Auth {
    None,
    Bearer,
    Raw(&'static str),
}

enum Signature {
    Valid,
    Missing,
    MissingTimestamp,
    Wrong,
    OverOtherBody,
    /// Signed correctly, this many seconds away from now.
    At(i64),
    Timestamp(&'static str),
}

fn payload(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn good(ticket_id: serde_json::Value) -> Vec<u8> {
    payload(json!({"event": "ticket_created", "ticket_id": ticket_id}))
}

fn cases() -> Vec<Case> {
    let case = |name, authorization, signature, body, status, message| Case {
        name,
        path_store: None,
        authorization,
        signature,
        body,
        status,
        message,
    };
    let unauthorized = "missing or invalid credentials";
    vec![
        case(
            "no authorization header",
            Auth::None,
            Signature::Valid,
            good(json!("7")),
            401,
            unauthorized,
        ),
        case(
            "wrong bearer token",
            Auth::Raw("Bearer dmw_not-the-token"),
            Signature::Valid,
            good(json!("7")),
            401,
            unauthorized,
        ),
        case(
            "basic instead of bearer",
            Auth::Raw("Basic Ym90OnNlY3JldA=="),
            Signature::Valid,
            good(json!("7")),
            401,
            unauthorized,
        ),
        case(
            "empty bearer token",
            Auth::Raw("Bearer "),
            Signature::Valid,
            good(json!("7")),
            401,
            unauthorized,
        ),
        Case {
            path_store: Some("no-such-store"),
            ..case(
                "unknown store",
                Auth::Bearer,
                Signature::Valid,
                good(json!("7")),
                401,
                unauthorized,
            )
        },
        Case {
            path_store: Some("Not_A..Store"),
            ..case(
                "malformed store id",
                Auth::Bearer,
                Signature::Valid,
                good(json!("7")),
                401,
                unauthorized,
            )
        },
        case(
            "missing signature",
            Auth::Bearer,
            Signature::Missing,
            good(json!("7")),
            401,
            "X-Zendesk-Webhook-Signature header is missing",
        ),
        case(
            "missing signature timestamp",
            Auth::Bearer,
            Signature::MissingTimestamp,
            good(json!("7")),
            401,
            "X-Zendesk-Webhook-Signature-Timestamp header is missing",
        ),
        case(
            "forged signature",
            Auth::Bearer,
            Signature::Wrong,
            good(json!("7")),
            401,
            "signature does not match the body",
        ),
        case(
            "signature over another body",
            Auth::Bearer,
            Signature::OverOtherBody,
            good(json!("7")),
            401,
            "signature does not match the body",
        ),
        case(
            "stale timestamp",
            Auth::Bearer,
            Signature::At(-600),
            good(json!("7")),
            401,
            "more than 5 minutes away",
        ),
        case(
            "timestamp from the future",
            Auth::Bearer,
            Signature::At(600),
            good(json!("7")),
            401,
            "more than 5 minutes away",
        ),
        case(
            "malformed timestamp",
            Auth::Bearer,
            Signature::Timestamp("yesterday at noon"),
            good(json!("7")),
            401,
            "not an RFC 3339 time",
        ),
        case(
            "malformed JSON",
            Auth::Bearer,
            Signature::Valid,
            b"{\"event\": \"ticket_created\",".to_vec(),
            400,
            "body is not valid JSON",
        ),
        case(
            "empty body",
            Auth::Bearer,
            Signature::Valid,
            Vec::new(),
            400,
            "body is not valid JSON",
        ),
        case(
            "JSON array",
            Auth::Bearer,
            Signature::Valid,
            payload(json!([1, 2])),
            400,
            "body must be a JSON object",
        ),
        case(
            "missing event",
            Auth::Bearer,
            Signature::Valid,
            payload(json!({"ticket_id": "7"})),
            400,
            "field `event` is required",
        ),
        case(
            "event is a number",
            Auth::Bearer,
            Signature::Valid,
            payload(json!({"event": 3, "ticket_id": "7"})),
            400,
            "field `event` must be a string",
        ),
        case(
            "missing ticket id",
            Auth::Bearer,
            Signature::Valid,
            payload(json!({"event": "comment_added"})),
            400,
            "field `ticket_id` is required",
        ),
        case(
            "ticket id is text",
            Auth::Bearer,
            Signature::Valid,
            good(json!("seven")),
            400,
            "field `ticket_id` must be a positive integer",
        ),
        case(
            "ticket id is zero",
            Auth::Bearer,
            Signature::Valid,
            good(json!(0)),
            400,
            "field `ticket_id` must be a positive integer",
        ),
        case(
            "ticket id is negative",
            Auth::Bearer,
            Signature::Valid,
            good(json!("-5")),
            400,
            "field `ticket_id` must be a positive integer",
        ),
        case(
            "ticket id is an object",
            Auth::Bearer,
            Signature::Valid,
            good(json!({"id": 7})),
            400,
            "must be a positive integer or a string of digits",
        ),
        case(
            "unrendered placeholder",
            Auth::Bearer,
            Signature::Valid,
            good(json!("{{ticket.id}}")),
            400,
            "placeholder Zendesk did not render",
        ),
        case(
            "brand id is text",
            Auth::Bearer,
            Signature::Valid,
            payload(json!({"event": "ticket_created", "ticket_id": "7", "brand_id": "acme"})),
            400,
            "field `brand_id` must be a positive integer",
        ),
        case(
            "oversized body",
            Auth::Bearer,
            Signature::Valid,
            payload(
                json!({"event": "ticket_created", "ticket_id": "7", "padding": "x".repeat(65 * 1024)}),
            ),
            413,
            "larger than 65536 bytes",
        ),
    ]
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

async fn send(
    app: &TestApp,
    secret: &SecretString,
    token: &str,
    case: &Case,
) -> (u16, serde_json::Value) {
    let store = case.path_store.unwrap_or(app.store.config.id.as_str());
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/zendesk/{store}", app.deskmate_url))
        .header("content-type", "application/json")
        .body(case.body.clone());
    match case.authorization {
        Auth::None => {}
        Auth::Bearer => request = request.header("authorization", format!("Bearer {token}")),
        Auth::Raw(value) => request = request.header("authorization", value),
    }
    let now = rfc3339(OffsetDateTime::now_utc());
    let (timestamp, signature) = match &case.signature {
        Signature::Valid => (
            Some(now.clone()),
            Some(zendesk_signature(secret, &now, &case.body)),
        ),
        Signature::Missing => (Some(now.clone()), None),
        Signature::MissingTimestamp => (None, Some(zendesk_signature(secret, &now, &case.body))),
        Signature::Wrong => (Some(now.clone()), Some("c2lnbmF0dXJl".to_owned())),
        Signature::OverOtherBody => (
            Some(now.clone()),
            Some(zendesk_signature(secret, &now, b"{}")),
        ),
        Signature::At(offset) => {
            let at = rfc3339(OffsetDateTime::now_utc() + time::Duration::seconds(*offset));
            let signature = zendesk_signature(secret, &at, &case.body);
            (Some(at), Some(signature))
        }
        Signature::Timestamp(text) => (
            Some(text.to_string()),
            Some(zendesk_signature(secret, text, &case.body)),
        ),
    };
    if let Some(timestamp) = timestamp {
        request = request.header("x-zendesk-webhook-signature-timestamp", timestamp);
    }
    if let Some(signature) = signature {
        request = request.header("x-zendesk-webhook-signature", signature);
    }
    let response = request.send().await.expect("the webhook answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_answers_and_queue_nothing() {
    let app = TestApp::spawn().await;
    let stored = app
        .state
        .store(&app.store.config.id)
        .await
        .unwrap()
        .unwrap();
    let secret = stored
        .webhook_signing_secret
        .expect("setup stored the signing secret");
    let token = app.store.webhook_token.expose_secret().to_owned();
    let cases = cases();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in &cases {
        let (status, body) = send(&app, &secret, &token, case).await;
        let error = body["error"].as_str().unwrap_or_default();
        if status != case.status || !error.contains(case.message) {
            failures.push(format!(
                "{}: got {status} {body}, want {} ..{}..",
                case.name, case.status, case.message
            ));
        }
        assert!(
            !error.contains(&token),
            "{}: the token leaked into the answer",
            case.name
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(app.aws.queue_depth().await, 0, "nothing was queued");
}

#[tokio::test]
async fn events_deskmate_does_not_act_on_are_acknowledged_and_ignored() {
    let app = TestApp::spawn().await;
    let (secret, token) = webhook_credentials(&app).await;
    let bot = app.bot.to_string();
    let other_brand = (app.brand + 1).to_string();
    for (body, reason) in [
        (
            json!({"event": "ticket_solved", "ticket_id": "7"}),
            "event \"ticket_solved\" is not one Deskmate acts on",
        ),
        (
            json!({"event": "comment_added", "ticket_id": "7", "brand_id": other_brand}),
            "this store answers brand",
        ),
        (
            json!({"event": "comment_added", "ticket_id": "7", "current_user_id": bot}),
            "made by the bot itself",
        ),
    ] {
        let case = Case {
            name: "ignored",
            path_store: None,
            authorization: Auth::Bearer,
            signature: Signature::Valid,
            body: payload(body),
            status: 200,
            message: "",
        };
        let (status, answer) = send(&app, &secret, &token, &case).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "ignored");
        assert!(
            answer["reason"].as_str().unwrap().contains(reason),
            "{answer}"
        );
    }
    assert_eq!(app.aws.queue_depth().await, 0);
}

/// Sends `body` signed and authenticated as Zendesk would, with its invocation id if given.
async fn deliver(
    app: &TestApp,
    secret: &SecretString,
    token: &str,
    body: &[u8],
    invocation: Option<&str>,
) -> (u16, serde_json::Value) {
    let now = rfc3339(OffsetDateTime::now_utc());
    let mut request = reqwest::Client::new()
        .post(app.webhook_url())
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .header("x-zendesk-webhook-signature-timestamp", &now)
        .header(
            "x-zendesk-webhook-signature",
            zendesk_signature(secret, &now, body),
        )
        .body(body.to_vec());
    if let Some(id) = invocation {
        request = request.header("x-zendesk-webhook-invocation-id", id);
    }
    let response = request.send().await.expect("the webhook answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// The store's webhook signing secret and bearer token, as Zendesk holds them.
async fn webhook_credentials(app: &TestApp) -> (SecretString, String) {
    let stored = app
        .state
        .store(&app.store.config.id)
        .await
        .unwrap()
        .unwrap();
    let secret = stored.webhook_signing_secret.unwrap();
    (secret, app.store.webhook_token.expose_secret().to_owned())
}

#[tokio::test]
async fn deliveries_are_told_apart_by_zendesks_invocation_id_not_by_their_body() {
    let app = TestApp::spawn().await;
    let (secret, token) = webhook_credentials(&app).await;
    // Two customer comments a second apart can render the very same body.
    let customer = app.customer.to_string();
    let body =
        payload(json!({"event": "comment_added", "ticket_id": "7", "current_user_id": customer}));

    let (status, answer) = deliver(&app, &secret, &token, &body, Some("8350205582")).await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = deliver(&app, &secret, &token, &body, Some("8350205583")).await;
    assert_eq!(
        status, 202,
        "another invocation is another comment: {answer}"
    );
    let (status, answer) = deliver(&app, &secret, &token, &body, Some("8350205582")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["reason"], "duplicate delivery",
        "Zendesk's retry of an invocation"
    );
    assert_eq!(app.aws.queue_depth().await, 2);

    // Without the header, the body is all there is to go by.
    let other = payload(json!({"event": "comment_added", "ticket_id": "8"}));
    let (status, _) = deliver(&app, &secret, &token, &other, None).await;
    assert_eq!(status, 202);
    let (status, answer) = deliver(&app, &secret, &token, &other, None).await;
    assert_eq!(
        (status, &answer["reason"]),
        (200, &json!("duplicate delivery"))
    );
    assert_eq!(app.aws.queue_depth().await, 3);
}

#[tokio::test]
async fn a_delivery_that_could_not_be_queued_is_taken_when_zendesk_retries_it() {
    let app = TestApp::spawn().await;
    let (secret, token) = webhook_credentials(&app).await;
    let customer = app.customer.to_string();
    let body =
        payload(json!({"event": "comment_added", "ticket_id": "7", "current_user_id": customer}));
    // The same function over the same table, while its queue is down.
    let ingress = deskmate_shared::config::IngressConfig {
        table_name: app.aws.table.clone(),
        queue_url: app.aws.queue_url.clone(),
        burst_window: std::time::Duration::ZERO,
        dedup_ttl: std::time::Duration::from_secs(3600),
    };
    let missing = format!("{}-gone", app.aws.queue_url);
    let down = ticket_webhook::TicketWebhook::new(
        app.state.clone(),
        std::sync::Arc::new(deskmate_shared::queue::SqsQueue::new(
            app.aws.sqs.clone(),
            &missing,
        )),
        &ingress,
    );
    let now = rfc3339(OffsetDateTime::now_utc());
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json".to_owned()),
        ("authorization", format!("Bearer {token}")),
        ("x-zendesk-webhook-signature-timestamp", now.clone()),
        (
            "x-zendesk-webhook-signature",
            zendesk_signature(&secret, &now, &body),
        ),
        ("x-zendesk-webhook-invocation-id", "8350209999".to_owned()),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    let answer = down
        .respond(app.store.config.id.as_str(), &headers, &body)
        .await;
    assert_eq!(answer.status().as_u16(), 503, "{}", answer.body());
    assert_eq!(app.aws.queue_depth().await, 0);

    // Zendesk retries the same invocation once the queue is back: it is taken, not refused
    // as a duplicate, and queued once.
    let (status, answer) = deliver(&app, &secret, &token, &body, Some("8350209999")).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(app.aws.queue_depth().await, 1);
}
