//! How fast the conversations webhook takes a full payload: a 256 KiB Conversations payload of
//! routable user messages, accepted against the table and queue on a local AWS server (moto),
//! compared in the same run with the per-event way the webhook used to work (a conditional put
//! and a send per event, one after the other).
//!
//! Run: `infra/bench.sh` (it starts the local AWS server), or with one running:
//! `DESKMATE_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT cargo run -p deskmate-e2e-tests --example
//! bench_conversations_webhook`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use conversations_webhook::{ConversationsWebhook, EventOutcome, MAX_BODY_BYTES};
use deskmate_e2e_tests::{AwsResources, unique_name};
use deskmate_shared::auth::TokenHash;
use deskmate_shared::domain::{
    AgentSettings, ConversationEvent, ConversationsAccount, Job, StoreConfig, StoreId,
};
use deskmate_shared::queue::SqsQueue;
use deskmate_shared::state::{ConversationsAccounts, DynamoState, StoreDirectory, WidgetRoutes};
use http::HeaderMap;
use serde_json::json;

const SHARED_SECRET: &str = "bench-shared-secret";
const INTEGRATION: &str = "5f0000000000000000000001";
const WIDGET: &str = "5f0000000000000000000002";

/// A payload of user messages in distinct conversations, as large as the webhook accepts.
fn payload() -> (Vec<u8>, usize) {
    let event = |i: usize| {
        json!({
            "id": format!("{i:024x}"),
            "type": "conversation:message",
            "createdAt": "2026-11-21T10:00:00.000Z",
            "payload": {
                "conversation": {"id": format!("c{i:023x}"), "type": "personal",
                    "activeSwitchboardIntegration": {"id": "sb1", "name": "deskmate", "integrationId": INTEGRATION, "integrationType": "custom"}},
                "message": {"id": format!("m{i:023x}"), "received": "2026-11-21T10:00:00.000Z",
                    "author": {"type": "user", "userId": "u1", "displayName": "Lee"},
                    "content": {"type": "text", "text": "Hi"},
                    "source": {"type": "web", "integrationId": WIDGET}}
            }
        })
    };
    let mut events = Vec::new();
    loop {
        events.push(event(events.len()));
        let body = json!({"app": {"id": "app"}, "webhook": {"id": "wh", "version": "v2"}, "events": events});
        let bytes = serde_json::to_vec(&body).expect("JSON");
        if bytes.len() > MAX_BODY_BYTES - 256 {
            events.pop();
            let body = json!({"app": {"id": "app"}, "webhook": {"id": "wh", "version": "v2"}, "events": events});
            return (serde_json::to_vec(&body).expect("JSON"), events.len());
        }
    }
}

async fn webhook() -> (ConversationsWebhook, String) {
    let aws = AwsResources::create().await;
    let state = Arc::new(DynamoState::new(aws.dynamodb.clone(), &aws.table));
    let account = unique_name("bench").to_lowercase().replace('_', "-");
    state
        .save_account(&ConversationsAccount {
            subdomain: account.clone(),
            app_id: "app".into(),
            key_id: "key".into(),
            key_secret_name: "unused".into(),
            shared_secret_hash: TokenHash::of(SHARED_SECRET),
            integration_id: INTEGRATION.into(),
        })
        .await
        .expect("the account is saved");
    let store = StoreConfig {
        id: StoreId::parse("bench-shoes").expect("a store id"),
        name: "Shoes".into(),
        subdomain: account.clone(),
        bot_email: "bot@bench.test".into(),
        bot_user_id: 1,
        brand_id: None,
        zendesk_token_secret: "unused".into(),
        webhook_token_hash: TokenHash::of("unused"),
        tool_token_hash: None,
        webhook_signing_secret: None,
        escalation_group_id: None,
        instructions: String::new(),
        handoff_message: StoreConfig::DEFAULT_HANDOFF_MESSAGE.into(),
        agent: AgentSettings::Knowledge {
            knowledge_markdown: String::new(),
        },
        widget_integration_id: None,
        display_name: "Shoes".into(),
        avatar_url: None,
        welcome_message: StoreConfig::DEFAULT_WELCOME_MESSAGE.into(),
        mode: Default::default(),
        bridge: None,
    };
    state.save_store(&store).await.expect("the store is saved");
    state
        .map_widget(&store, WIDGET)
        .await
        .expect("the widget is mapped");
    let webhook = ConversationsWebhook {
        accounts: state.clone(),
        routes: state.clone(),
        deliveries: state,
        queue: Arc::new(SqsQueue::new(aws.sqs.clone(), &aws.queue_url)),
        burst_window: Duration::ZERO,
        dedup_ttl: Duration::from_secs(3600),
    };
    (webhook, account)
}

async fn batched(body: &[u8]) -> Duration {
    let (webhook, account) = webhook().await;
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", SHARED_SECRET.parse().expect("a header"));
    let started = Instant::now();
    let outcomes = webhook
        .accept(&account, &headers, body)
        .await
        .expect("the payload is accepted");
    let took = started.elapsed();
    assert!(outcomes.iter().all(|(_, o)| *o == EventOutcome::Queued));
    took
}

/// The old way: for each event, a conditional put and a send, one after the other.
async fn per_event(events: usize) -> Duration {
    let (webhook, account) = webhook().await;
    let store_id = StoreId::parse("bench-shoes").expect("a store id");
    let started = Instant::now();
    for i in 0..events {
        let key = format!("conversations:{account}:{i:024x}");
        assert!(
            webhook
                .deliveries
                .record_first(&key, Duration::from_secs(3600))
                .await
                .expect("recorded")
        );
        let job = Job::Conversation {
            store_id: store_id.clone(),
            account: account.clone(),
            conversation_id: format!("c{i:023x}"),
            event: ConversationEvent::UserMessage {
                message_id: format!("m{i:023x}"),
            },
        };
        webhook
            .queue
            .enqueue(&job, Duration::ZERO)
            .await
            .expect("queued");
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let (body, events) = payload();
    let old = per_event(events).await;
    let new = batched(&body).await;
    println!("| payload | events | per event (old) | batched (now) | speed-up |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} KiB | {events} | {:.2} s | {:.2} s | {:.1}x |",
        body.len() / 1024,
        old.as_secs_f64(),
        new.as_secs_f64(),
        old.as_secs_f64() / new.as_secs_f64()
    );
}
