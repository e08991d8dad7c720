//! The DynamoDB, SQS and Secrets Manager adapters against moto's real server.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use deskmate_e2e_tests::{AwsResources, unique_name};
use deskmate_shared::auth::TokenHash;
use deskmate_shared::domain::{
    AgentSettings, BotState, BridgeSession, ConversationsAccount, HandoffIntent, Job, StoreConfig,
    StoreId, Thread, TicketEvent,
};
use deskmate_shared::queue::{JobQueue, SqsQueue};
use deskmate_shared::secrets::{SecretStore, SecretVault, SecretsError, SecretsManagerStore};
use deskmate_shared::state::{
    BotStates, BridgeSessions, ClaimOutcome, ConversationsAccounts, DeliveryLog, DynamoState,
    HandoffLease, HandoffStart, ReplyClaims, SessionClaim, StateError, StoreDirectory,
    WidgetRoutes,
};
use secrecy::{ExposeSecret, SecretString};

fn store(id: &str) -> StoreConfig {
    StoreConfig {
        id: StoreId::parse(id).unwrap(),
        name: "Acme".into(),
        subdomain: "acme".into(),
        bot_email: "bot@acme.test".into(),
        bot_user_id: 11,
        brand_id: Some(22),
        zendesk_token_secret: "deskmate/acme/zendesk-api-token".into(),
        webhook_token_hash: TokenHash::of("dmw_token"),
        tool_token_hash: Some(TokenHash::of("dmt_token")),
        webhook_signing_secret: Some(SecretString::from("signing-secret")),
        escalation_group_id: Some(33),
        instructions: "Be kind.".into(),
        handoff_message: "A person will reply.".into(),
        agent: AgentSettings::Knowledge {
            knowledge_markdown: "# Hi\nHello".into(),
        },
        widget_integration_id: None,
        display_name: "Acme Bot".into(),
        avatar_url: None,
        welcome_message: "Welcome!".into(),
        mode: Default::default(),
        bridge: None,
    }
}

#[tokio::test]
async fn the_table_expires_items_through_its_ttl_attribute() {
    let aws = AwsResources::create().await;
    let ttl = aws
        .dynamodb
        .describe_time_to_live()
        .table_name(&aws.table)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));

    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    assert!(
        state
            .record_first("acme:abc", Duration::from_secs(600))
            .await
            .unwrap()
    );
    let item = aws
        .dynamodb
        .get_item()
        .table_name(&aws.table)
        .key("pk", AttributeValue::S("DELIVERY#acme:abc".into()))
        .key("sk", AttributeValue::S("DELIVERY".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let expires_at: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 590..=now + 610).contains(&expires_at),
        "{expires_at} vs {now}"
    );
}

#[tokio::test]
async fn deliveries_are_recorded_once_and_can_be_forgotten() {
    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    let ttl = Duration::from_secs(600);
    assert!(state.record_first("k1", ttl).await.unwrap());
    assert!(
        !state.record_first("k1", ttl).await.unwrap(),
        "the conditional write refuses a repeat"
    );
    assert!(state.record_first("k2", ttl).await.unwrap());
    state.forget("k1").await.unwrap();
    assert!(state.record_first("k1", ttl).await.unwrap());
    // A record past its expiry counts as gone even before DynamoDB deletes it.
    assert!(state.record_first("k3", Duration::ZERO).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(state.record_first("k3", ttl).await.unwrap());
}

#[tokio::test]
async fn reply_claims_let_exactly_one_worker_answer() {
    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    let store = StoreId::parse("acme").unwrap();
    let thread = Thread::Ticket(7);
    let lease = Duration::from_secs(60);
    let claim = |owner: &'static str, message: &'static str, lease| {
        let (state, store, thread) = (&state, &store, &thread);
        async move {
            state
                .claim_reply(store, thread, message, owner, lease)
                .await
                .unwrap()
        }
    };
    let fresh = || ClaimOutcome::Acquired { recorded: None };
    let (a, b) = tokio::join!(
        claim("worker-a", "100", lease),
        claim("worker-b", "100", lease)
    );
    let a_won = a == fresh();
    let mut outcomes = [a, b];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [fresh(), ClaimOutcome::HeldByAnother]);

    let winner = if a_won { "worker-a" } else { "worker-b" };
    state
        .finish_reply(&store, &thread, "100", winner)
        .await
        .unwrap();
    assert_eq!(
        claim("worker-c", "100", lease).await,
        ClaimOutcome::AlreadyAnswered
    );

    // A released claim is free at once; someone else's release changes nothing.
    assert_eq!(claim("worker-a", "101", lease).await, fresh());
    state
        .release_reply(&store, &thread, "101", "worker-b")
        .await
        .unwrap();
    assert_eq!(
        claim("worker-b", "101", lease).await,
        ClaimOutcome::HeldByAnother
    );
    state
        .release_reply(&store, &thread, "101", "worker-a")
        .await
        .unwrap();
    assert_eq!(claim("worker-b", "101", lease).await, fresh());

    // A dead worker's lease runs out and the claim can be taken over, with the answer the
    // dead worker recorded (so the new owner posts that one, not another).
    assert_eq!(
        claim("worker-a", "102", Duration::from_millis(1)).await,
        fresh()
    );
    state
        .record_reply(&store, &thread, "102", "worker-a", "Ships in 3 days.")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        claim("worker-b", "102", lease).await,
        ClaimOutcome::Acquired {
            recorded: Some("Ships in 3 days.".into())
        }
    );
}

#[tokio::test]
async fn one_hand_off_per_thread_and_a_stopped_one_is_resumed() {
    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    let store = StoreId::parse("acme").unwrap();
    let thread = Thread::Conversation("c-9".into());
    let intent = |id: &str| HandoffIntent {
        id: id.into(),
        reason: "asked for a person".into(),
        note: "note".into(),
        notice: "A person will reply.".into(),
        first_message_id: Some("m1".into()),
    };
    let (intent_a, intent_b) = (intent("a"), intent("b"));
    let (first, second) = tokio::join!(
        state.begin_handoff(&store, &thread, &intent_a, "a", Duration::from_millis(1)),
        state.begin_handoff(&store, &thread, &intent_b, "b", Duration::from_millis(1)),
    );
    let mut starts = [first.unwrap(), second.unwrap()];
    starts.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(starts, [HandoffStart::Started, HandoffStart::UnderWay]);
    assert_eq!(
        state.bot_state(&store, &thread).await.unwrap(),
        BotState::HandingOff
    );
    // Once the winner's lease runs out, whoever resumes it finishes the recorded hand-off.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let winner = match state
        .take_handoff(&store, &thread, "c", Duration::from_secs(60))
        .await
        .unwrap()
    {
        HandoffLease::Resume(intent) => intent.id,
        other => panic!("unexpected {other:?}"),
    };
    assert!(winner == "a" || winner == "b");
    assert_eq!(
        state
            .take_handoff(&store, &thread, "d", Duration::from_secs(60))
            .await
            .unwrap(),
        HandoffLease::HeldByAnother
    );
    state.finish_handoff(&store, &thread).await.unwrap();
    assert!(matches!(
        state
            .take_handoff(&store, &thread, "d", Duration::from_secs(60))
            .await
            .unwrap(),
        HandoffLease::Finished(_)
    ));
    assert_eq!(
        state
            .begin_handoff(&store, &thread, &intent("e"), "e", Duration::from_secs(60))
            .await
            .unwrap(),
        HandoffStart::AlreadyDone
    );
    // The bot resumes when control comes back; a new hand-off can then start.
    state
        .set_bot_state(&store, &thread, BotState::Resumed)
        .await
        .unwrap();
    assert_eq!(
        state
            .begin_handoff(&store, &thread, &intent("f"), "f", Duration::from_secs(60))
            .await
            .unwrap(),
        HandoffStart::Started
    );
}

#[tokio::test]
async fn bot_state_and_store_config_round_trip() {
    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    let id = StoreId::parse("acme").unwrap();
    let thread = Thread::Conversation("c-1".into());
    assert_eq!(state.bot_state(&id, &thread).await.unwrap(), BotState::Bot);
    state
        .set_bot_state(&id, &thread, BotState::Escalated)
        .await
        .unwrap();
    assert_eq!(
        state.bot_state(&id, &thread).await.unwrap(),
        BotState::Escalated
    );
    assert_eq!(
        state.bot_state(&id, &Thread::Ticket(1)).await.unwrap(),
        BotState::Bot
    );

    assert!(state.store(&id).await.unwrap().is_none());
    state.save_store(&store("acme")).await.unwrap();
    let loaded = state.store(&id).await.unwrap().unwrap();
    assert_eq!(loaded.bot_user_id, 11);
    assert_eq!(loaded.brand_id, Some(22));
    assert!(loaded.webhook_token_hash.matches("dmw_token"));
    assert_eq!(
        loaded.webhook_signing_secret.unwrap().expose_secret(),
        "signing-secret"
    );
    assert!(
        !format!("{:?}", store("acme")).contains("signing-secret"),
        "Debug hides secrets"
    );

    aws.dynamodb
        .put_item()
        .table_name(&aws.table)
        .item("pk", AttributeValue::S("STORE#broken".into()))
        .item("sk", AttributeValue::S("CONFIG".into()))
        .item("doc", AttributeValue::S("{not json".into()))
        .send()
        .await
        .unwrap();
    let err = state
        .store(&StoreId::parse("broken").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
}

#[tokio::test]
async fn an_unreachable_table_is_reported_as_unavailable() {
    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), unique_name("missing-table"));
    let err = state
        .record_first("k", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StateError::Unavailable(ref m) if m.contains("ResourceNotFound")),
        "{err}"
    );
}

#[tokio::test]
async fn jobs_travel_through_sqs_intact() {
    let aws = AwsResources::create().await;
    let queue = SqsQueue::new(aws.sqs.clone(), &aws.queue_url);
    let job = Job::Ticket {
        store_id: StoreId::parse("acme").unwrap(),
        ticket_id: 42,
        event: TicketEvent::TicketCreated,
    };
    queue.enqueue(&job, Duration::ZERO).await.unwrap();
    let messages = aws.receive_all().await;
    assert_eq!(messages.len(), 1);
    let received: Job = serde_json::from_str(messages[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(received, job);

    let missing = SqsQueue::new(aws.sqs.clone(), format!("{}-gone", aws.queue_url));
    assert!(missing.enqueue(&job, Duration::ZERO).await.is_err());
}

#[tokio::test]
async fn secrets_are_stored_fetched_and_cached_for_their_ttl() {
    let aws = AwsResources::create().await;
    let name = unique_name("deskmate/test/token");
    let cached = SecretsManagerStore::new(aws.secretsmanager.clone(), Duration::from_secs(300));
    let uncached = SecretsManagerStore::new(aws.secretsmanager.clone(), Duration::ZERO);

    assert!(matches!(
        cached.secret(&name).await,
        Err(SecretsError::NotFound(_))
    ));
    cached
        .put_secret(&name, &SecretString::from("v1"))
        .await
        .unwrap();
    assert_eq!(cached.secret(&name).await.unwrap().expose_secret(), "v1");

    // Rotated behind the cache's back: the cached reader keeps v1 until its TTL runs out.
    uncached
        .put_secret(&name, &SecretString::from("v2"))
        .await
        .unwrap();
    assert_eq!(cached.secret(&name).await.unwrap().expose_secret(), "v1");
    assert_eq!(uncached.secret(&name).await.unwrap().expose_secret(), "v2");
    // Writing through a store refreshes its own cache.
    cached
        .put_secret(&name, &SecretString::from("v3"))
        .await
        .unwrap();
    assert_eq!(cached.secret(&name).await.unwrap().expose_secret(), "v3");
}

#[tokio::test]
async fn a_widget_routes_to_at_most_one_store_and_unmapped_widgets_fall_back() {
    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    let (mut a, mut b) = (store("store-a"), store("store-b"));
    a.subdomain = "acme".into();
    b.subdomain = "acme".into();
    state.save_store(&a).await.unwrap();
    state.save_store(&b).await.unwrap();
    let id = |s: &str| Some(StoreId::parse(s).unwrap());

    // Nothing mapped: the account's first store without a widget answers.
    assert_eq!(
        state.route_widget("acme", "w1").await.unwrap(),
        id("store-a")
    );
    state.map_widget(&a, "w1").await.unwrap();
    state.map_widget(&a, "w1").await.unwrap();
    let taken = state.map_widget(&b, "w1").await.unwrap_err();
    assert_eq!(
        taken.to_string(),
        "widget w1 is already taken by store store-a"
    );
    assert_eq!(
        state.route_widget("acme", "w1").await.unwrap(),
        id("store-a")
    );
    // store-a now has a widget, so store-b is the fallback for any other widget.
    assert_eq!(
        state.route_widget("acme", "w2").await.unwrap(),
        id("store-b")
    );
    let mapped = state.store(&a.id).await.unwrap().unwrap();
    assert_eq!(mapped.widget_integration_id.as_deref(), Some("w1"));
    state.map_widget(&b, "w2").await.unwrap();
    assert_eq!(
        state.route_widget("acme", "w3").await.unwrap(),
        None,
        "no fallback: silence"
    );
    assert_eq!(
        state.route_widget("globex", "w1").await.unwrap(),
        None,
        "widgets are per account"
    );
}

#[tokio::test]
async fn conversations_settings_round_trip_without_the_shared_secret() {
    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    assert!(state.account("acme").await.unwrap().is_none());
    let account = ConversationsAccount {
        subdomain: "acme".into(),
        app_id: "app1".into(),
        key_id: "app_key".into(),
        key_secret_name: "deskmate/accounts/acme/conversations-key-secret".into(),
        shared_secret_hash: TokenHash::of("shared-secret"),
        integration_id: "int1".into(),
    };
    state.save_account(&account).await.unwrap();
    let loaded = state.account("acme").await.unwrap().unwrap();
    assert_eq!(loaded.app_id, "app1");
    assert_eq!(loaded.integration_id, "int1");
    assert!(loaded.shared_secret_hash.matches("shared-secret"));
    let raw = aws
        .dynamodb
        .get_item()
        .table_name(&aws.table)
        .key("pk", AttributeValue::S("ACCOUNT#acme".into()))
        .key("sk", AttributeValue::S("CONVERSATIONS".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(
        !format!("{raw:?}").contains("shared-secret"),
        "only the hash is stored"
    );
}

/// The store's knowledge items (head and chunks) in the table.
async fn knowledge_items(aws: &AwsResources, store: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut start = None;
    loop {
        let page = aws
            .dynamodb
            .query()
            .table_name(&aws.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :k)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("STORE#{store}")))
            .expression_attribute_values(":k", AttributeValue::S("KNOWLEDGE".into()))
            .projection_expression("sk")
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        keys.extend(
            page.items()
                .iter()
                .filter_map(|item| item.get("sk")?.as_s().ok().cloned()),
        );
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return keys,
        }
    }
}

#[tokio::test]
async fn a_knowledge_index_larger_than_an_item_is_saved_in_chunks_and_deleted_with_its_store() {
    use deskmate_shared::knowledge_index::{KnowledgeIndex, article_passages};
    use deskmate_shared::state::KnowledgeIndexes;

    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    let id = unique_name("kb").to_lowercase();
    let config = store(&id);
    state.save_store(&config).await.unwrap();
    assert!(state.load_index(&config.id).await.unwrap().is_none());

    // About 1.5 MB of JSON: far over DynamoDB's 400 KB item limit.
    let passages = (0..1500)
        .flat_map(|i| {
            article_passages(
                &format!("Article {i} über Größen"),
                &format!(
                    "<h2>Part</h2><p>{}</p>",
                    format!("word{i} größe ✓ ").repeat(60)
                ),
                &format!("https://acme.zendesk.com/hc/en-us/articles/{i}"),
                &format!("{}", i % 10),
            )
        })
        .collect::<Vec<_>>();
    let big = KnowledgeIndex::build(passages);
    assert!(serde_json::to_string(&big).unwrap().len() > 1_000_000);
    let first = state.save_index(&config.id, &big).await.unwrap();
    let loaded = state.load_index(&config.id).await.unwrap().unwrap();
    assert_eq!(loaded.version, first);
    assert_eq!(loaded.index.passages(), big.passages());
    assert_eq!(state.index_version(&config.id).await.unwrap(), Some(first));
    let chunked = knowledge_items(&aws, &id).await;
    assert!(chunked.len() >= 5, "a head and several chunks: {chunked:?}");

    // Saved again twice: the version grows, and only the last two versions' chunks remain.
    let small = KnowledgeIndex::from_markdown("# Shipping\nWe ship worldwide.\n");
    let second = state.save_index(&config.id, &small).await.unwrap();
    let third = state.save_index(&config.id, &small).await.unwrap();
    assert!(first < second && second < third);
    let loaded = state.load_index(&config.id).await.unwrap().unwrap();
    assert_eq!(loaded.version, third);
    assert_eq!(loaded.index.passages(), small.passages());
    assert_eq!(
        knowledge_items(&aws, &id).await.len(),
        3,
        "the head and two chunks"
    );

    state.delete_store(&config).await.unwrap();
    assert!(knowledge_items(&aws, &id).await.is_empty());
    assert!(state.load_index(&config.id).await.unwrap().is_none());
}

#[tokio::test]
async fn bridge_sessions_are_claimed_once_and_number_their_events_without_gaps() {
    let aws = AwsResources::create().await;
    let state = DynamoState::new(aws.dynamodb.clone(), &aws.table);
    let acme = StoreId::parse("acme").unwrap();
    let new = BridgeSession {
        store_id: acme.clone(),
        id: "chat-1".into(),
        fingerprint: "f1".into(),
        account: "acme".into(),
        user_id: None,
        conversation_id: None,
        context_message_id: None,
        handed_over: false,
        ended: None,
    };
    let lease = Duration::from_secs(60);
    // One at a time: moto's server does not serialise concurrent conditional writes to one
    // item as DynamoDB does, so a race here would test moto, not the condition.
    assert!(matches!(
        state.claim_session(&new, "a", lease).await.unwrap(),
        SessionClaim::Mine(_)
    ));
    assert_eq!(
        state.claim_session(&new, "b", lease).await.unwrap(),
        SessionClaim::Busy
    );
    let owner = "a";
    let other = BridgeSession {
        fingerprint: "f2".into(),
        ..new.clone()
    };
    assert_eq!(
        state.claim_session(&other, "c", lease).await.unwrap(),
        SessionClaim::Conflict
    );
    let foreign = BridgeSession {
        store_id: StoreId::parse("shoes").unwrap(),
        ..new.clone()
    };
    assert_eq!(
        state.claim_session(&foreign, "d", lease).await.unwrap(),
        SessionClaim::Foreign
    );
    // Progress is saved by the lease holder only; the conversation then finds its session.
    let progress = BridgeSession {
        conversation_id: Some("conv-1".into()),
        handed_over: true,
        ..new.clone()
    };
    assert!(state.save_session(&progress, "someone-else").await.is_err());
    state.link_conversation(&progress).await.unwrap();
    state.save_session(&progress, owner).await.unwrap();
    assert_eq!(
        state.session_of_conversation("conv-1").await.unwrap(),
        Some(progress.clone())
    );
    assert!(matches!(
        state.claim_session(&new, "e", lease).await.unwrap(),
        SessionClaim::Open(_)
    ));

    // Each key twice: eight events, numbered 1..=8, each key once with its first number.
    for round in 0..2 {
        for i in 0..8u64 {
            let key = format!("message:{i}");
            let event = state
                .record_event(
                    &acme,
                    "chat-1",
                    &key,
                    "agent.message",
                    &serde_json::json!({"round": round}),
                )
                .await
                .unwrap();
            assert_eq!(event.seq, i + 1);
            assert_eq!(event.data["round"], 0, "the first recording stays");
        }
    }
    let logged = state.events_after(&acme, "chat-1", 0, 100).await.unwrap();
    let seqs: Vec<u64> = logged.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<u64>>());
    assert_eq!(
        state
            .events_after(&acme, "chat-1", 6, 100)
            .await
            .unwrap()
            .len(),
        2
    );
    // Ending keeps the first reason.
    state
        .end_session(&acme, "chat-1", "ticketClosed")
        .await
        .unwrap();
    let ended = state
        .end_session(&acme, "chat-1", "ended_by_caller")
        .await
        .unwrap();
    assert_eq!(ended.ended.as_deref(), Some("ticketClosed"));
}
