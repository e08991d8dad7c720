//! The DynamoDB adapter: one table, string `pk`/`sk`, TTL on `expires_at`.
//!
//! | item              | pk                              | sk              |
//! |-------------------|---------------------------------|-----------------|
//! | store config      | `STORE#{store}`                 | `CONFIG`        |
//! | webhook delivery  | `DELIVERY#{key}`                | `DELIVERY`      |
//! | bot state, hand-off | `THREAD#{store}#{thread}`     | `STATE`         |
//! | reply claim       | `THREAD#{store}#{thread}`       | `CLAIM#{msg}`   |
//! | account's store   | `ACCOUNT#{subdomain}`           | `STORE#{store}` |
//! | Conversations     | `ACCOUNT#{subdomain}`           | `CONVERSATIONS` |
//! | widget route      | `WIDGET#{subdomain}#{widget}`   | `ROUTE`         |
//! | tool token        | `TOOL#{sha256 of token}`        | `TOKEN`         |
//! | created ticket    | `THREAD#{store}#create:{key}`   | `CREATION`      |
//! | knowledge head    | `STORE#{store}`                 | `KNOWLEDGE`     |
//! | knowledge chunk   | `STORE#{store}`                 | `KNOWLEDGE#{version}#{n}` |
//! | bridge session    | `THREAD#{store}#bridge:{id}`    | `SESSION`       |
//! | bridge event      | `THREAD#{store}#bridge:{id}`    | `EVENT#{seq}`   |
//! | bridge event key  | `THREAD#{store}#bridge:{id}`    | `KEY#{key}`     |
//! | bridged conversation | `BRIDGED#{conversation}`     | `SESSION`       |
//! | bridge session id | `BRIDGEID#{id}`                 | `SESSION`       |
//!
//! A knowledge index is serde JSON cut into chunks of [`KNOWLEDGE_CHUNK_BYTES`] (items are
//! limited to 400 KB); the head, written last, names the version and its chunk count, so a
//! reader never mixes two saves. The previous version's chunks are kept (a worker may be
//! reading them) and older ones deleted.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{
    BotStates, BridgeSessions, ClaimOutcome, ConversationsAccounts, CreationClaim, DeliveryLog,
    HandoffLease, HandoffStart, KnowledgeIndexes, ReplyClaims, SessionClaim, StateError,
    StoreDirectory, StoredIndex, TicketCreations, WidgetError, WidgetRoutes, bridge_event_id,
    epoch_millis_now, epoch_seconds_now, now_rfc3339,
};
use crate::auth::TokenHash;
use crate::domain::{
    AgentSettings, BotState, BridgeEvent, BridgeSession, BridgeSettings, ConversationsAccount,
    HandoffIntent, StoreConfig, StoreId, StoreMode, Thread,
};

pub const TTL_ATTRIBUTE: &str = "expires_at";
/// Answered-message claims are kept long enough to outlive any redelivery.
const CLAIM_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

#[derive(Clone)]
pub struct DynamoState {
    client: Client,
    table: String,
}

impl DynamoState {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table as template.yaml declares it (for local runs and tests).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StateError> {
        let key = |name: &str, key_type| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .expect("key schema is complete")
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition is complete")
        };
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .attribute_definitions(attribute("pk"))
            .attribute_definitions(attribute("sk"))
            .send()
            .await
            .map_err(unavailable)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .expect("TTL specification is complete"),
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Every item whose partition key starts with one of `prefixes`, in one scan (operator
    /// tooling only: a scan reads the whole table).
    async fn scan_items(&self, prefixes: &[String]) -> Result<Vec<Item>, StateError> {
        let filter = (0..prefixes.len())
            .map(|i| format!("begins_with(pk, :prefix{i})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut scan = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(&filter);
            for (i, prefix) in prefixes.iter().enumerate() {
                scan = scan.expression_attribute_values(format!(":prefix{i}"), s(prefix));
            }
            let page = scan
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StateError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }
}

type Item = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A store's config item, read back into its domain form.
fn store_from_item(id: StoreId, item: &Item) -> Result<StoreConfig, StateError> {
    let corrupt = |reason: String| StateError::Corrupt {
        key: store_pk(&id),
        reason,
    };
    let doc = text(item, "doc").ok_or_else(|| corrupt("no doc attribute".into()))?;
    let record: StoreRecord = serde_json::from_str(doc).map_err(|e| corrupt(e.to_string()))?;
    record.into_config(id.clone()).map_err(corrupt)
}

fn store_pk(id: &StoreId) -> String {
    format!("STORE#{id}")
}

fn tool_token_pk(hash: &TokenHash) -> String {
    format!("TOOL#{}", hash.to_hex())
}

fn account_pk(subdomain: &str) -> String {
    format!("ACCOUNT#{subdomain}")
}

fn widget_pk(account: &str, widget: &str) -> String {
    format!("WIDGET#{account}#{widget}")
}

fn thread_pk(store: &StoreId, thread: &Thread) -> String {
    format!("THREAD#{store}#{thread}")
}

/// Under the store's `THREAD#` prefix, so deleting the store deletes it too.
fn creation_pk(store: &StoreId, key: &str) -> String {
    format!("THREAD#{store}#create:{key}")
}

fn claim_sk(message_id: &str) -> String {
    format!("CLAIM#{message_id}")
}

/// The SDK's errors say nothing secret; keep their code and message for the logs.
fn unavailable<E, R>(err: SdkError<E, R>) -> StateError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = match err.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("")
        ),
        // The whole chain, e.g. "dispatch failure: … Connection refused" or missing credentials.
        None => aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
    };
    StateError::Unavailable(detail)
}

fn condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// The stored form of a store's configuration (a JSON document in the `doc` attribute).
#[derive(Serialize, Deserialize)]
struct StoreRecord {
    name: String,
    subdomain: String,
    bot_email: String,
    bot_user_id: u64,
    brand_id: Option<u64>,
    zendesk_token_secret: String,
    webhook_token_sha256: String,
    #[serde(default)]
    tool_token_sha256: Option<String>,
    webhook_signing_secret: Option<String>,
    escalation_group_id: Option<u64>,
    instructions: String,
    handoff_message: String,
    agent: AgentSettings,
    #[serde(default)]
    widget_integration_id: Option<String>,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    avatar_url: Option<String>,
    #[serde(default)]
    welcome_message: String,
    /// Absent in items written before draft mode: those stores answer on their own.
    #[serde(default)]
    mode: StoreMode,
    #[serde(default)]
    bridge: Option<BridgeSettings>,
}

impl StoreRecord {
    fn from_config(store: &StoreConfig) -> Self {
        Self {
            name: store.name.clone(),
            subdomain: store.subdomain.clone(),
            bot_email: store.bot_email.clone(),
            bot_user_id: store.bot_user_id,
            brand_id: store.brand_id,
            zendesk_token_secret: store.zendesk_token_secret.clone(),
            webhook_token_sha256: store.webhook_token_hash.to_hex(),
            tool_token_sha256: store.tool_token_hash.as_ref().map(TokenHash::to_hex),
            webhook_signing_secret: store
                .webhook_signing_secret
                .as_ref()
                .map(|secret| secret.expose_secret().to_owned()),
            escalation_group_id: store.escalation_group_id,
            instructions: store.instructions.clone(),
            handoff_message: store.handoff_message.clone(),
            agent: store.agent.clone(),
            widget_integration_id: store.widget_integration_id.clone(),
            display_name: store.display_name.clone(),
            avatar_url: store.avatar_url.clone(),
            welcome_message: store.welcome_message.clone(),
            mode: store.mode,
            bridge: store.bridge.clone(),
        }
    }

    fn into_config(self, id: StoreId) -> Result<StoreConfig, String> {
        Ok(StoreConfig {
            webhook_token_hash: TokenHash::from_hex(&self.webhook_token_sha256)
                .ok_or("webhook_token_sha256 is not a SHA-256 hex digest")?,
            tool_token_hash: match self.tool_token_sha256 {
                Some(hex) => Some(
                    TokenHash::from_hex(&hex)
                        .ok_or("tool_token_sha256 is not a SHA-256 hex digest")?,
                ),
                None => None,
            },
            webhook_signing_secret: self.webhook_signing_secret.map(SecretString::from),
            id,
            name: self.name,
            subdomain: self.subdomain,
            bot_email: self.bot_email,
            bot_user_id: self.bot_user_id,
            brand_id: self.brand_id,
            zendesk_token_secret: self.zendesk_token_secret,
            escalation_group_id: self.escalation_group_id,
            instructions: self.instructions,
            handoff_message: self.handoff_message,
            agent: self.agent,
            widget_integration_id: self.widget_integration_id,
            display_name: self.display_name,
            avatar_url: self.avatar_url,
            welcome_message: self.welcome_message,
            mode: self.mode,
            bridge: self.bridge,
        })
    }
}

#[async_trait]
impl StoreDirectory for DynamoState {
    async fn store(&self, id: &StoreId) -> Result<Option<StoreConfig>, StateError> {
        let item = self.get(store_pk(id), "CONFIG").await?;
        item.map(|item| store_from_item(id.clone(), &item))
            .transpose()
    }

    async fn save_store(&self, store: &StoreConfig) -> Result<(), StateError> {
        let doc = serde_json::to_string(&StoreRecord::from_config(store))
            .expect("store records always serialise");
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(store_pk(&store.id)))
            .item("sk", s("CONFIG"))
            .item("doc", s(doc))
            .send()
            .await
            .map_err(unavailable)?;
        // The account's list of stores, for routing unmapped widgets.
        let mut index = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(account_pk(&store.subdomain)))
            .item("sk", s(store_pk(&store.id)))
            .item("store_id", s(store.id.as_str()));
        if let Some(widget) = &store.widget_integration_id {
            index = index.item("widget", s(widget));
        }
        index.send().await.map_err(unavailable)?;
        if let Some(hash) = &store.tool_token_hash {
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(tool_token_pk(hash)))
                .item("sk", s("TOKEN"))
                .item("store_id", s(store.id.as_str()))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn stores_of_account(&self, subdomain: &str) -> Result<Vec<StoreConfig>, StateError> {
        let ids: Vec<StoreId> = self
            .account_index(subdomain)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let stores = futures::future::try_join_all(ids.iter().map(|id| self.store(id))).await?;
        Ok(stores.into_iter().flatten().collect())
    }

    async fn list_stores(&self) -> Result<Vec<StoreConfig>, StateError> {
        let mut stores = Vec::new();
        for item in self.scan_items(&["STORE#".into()]).await? {
            let id = text(&item, "pk").and_then(|pk| pk.strip_prefix("STORE#"));
            if let (Some("CONFIG"), Some(Ok(id))) = (text(&item, "sk"), id.map(StoreId::parse)) {
                stores.push(store_from_item(id, &item)?);
            }
        }
        stores.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(stores)
    }

    async fn delete_store(&self, store: &StoreConfig) -> Result<(), StateError> {
        let mut keys = vec![
            (store_pk(&store.id), "CONFIG".to_owned()),
            (account_pk(&store.subdomain), store_pk(&store.id)),
        ];
        if let Some(hash) = &store.tool_token_hash {
            keys.push((tool_token_pk(hash), "TOKEN".to_owned()));
        }
        if let Some(widget) = &store.widget_integration_id
            && self.widget_owner(&store.subdomain, widget).await?.as_ref() == Some(&store.id)
        {
            keys.push((widget_pk(&store.subdomain, widget), "ROUTE".to_owned()));
        }
        let kept_for_store = [
            format!("THREAD#{}#", store.id),
            format!("DELIVERY#{}:", store.id),
        ];
        for item in self.scan_items(&kept_for_store).await? {
            if let (Some(pk), Some(sk)) = (text(&item, "pk"), text(&item, "sk")) {
                keys.push((pk.to_owned(), sk.to_owned()));
            }
            // A bridge session's conversation link and id live outside the store's prefix.
            if let Some(conversation) = text(&item, "conversation_id") {
                keys.push((bridged_pk(conversation), SESSION_SK.to_owned()));
            }
            if let (Some(pk), Some(SESSION_SK)) = (text(&item, "pk"), text(&item, "sk"))
                && let Some((_, session)) = pk.split_once("#bridge:")
            {
                keys.push((session_owner_pk(session), SESSION_SK.to_owned()));
            }
        }
        for sk in self.knowledge_keys(&store.id, KNOWLEDGE_HEAD).await? {
            keys.push((store_pk(&store.id), sk));
        }
        for (pk, sk) in keys {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(sk))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn store_for_tool_token(&self, hash: &TokenHash) -> Result<Option<StoreId>, StateError> {
        let item = self.get(tool_token_pk(hash), "TOKEN").await?;
        Ok(item
            .as_ref()
            .and_then(|item| text(item, "store_id"))
            .and_then(|id| StoreId::parse(id).ok()))
    }
}

#[async_trait]
impl TicketCreations for DynamoState {
    async fn claim_creation(
        &self,
        store: &StoreId,
        key: &str,
        lease: Duration,
    ) -> Result<CreationClaim, StateError> {
        let pk = creation_pk(store, key);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s("CREATION"))
            .update_expression("SET lease_until = :lease, #ttl = :ttl")
            .condition_expression(
                "attribute_not_exists(pk) OR (attribute_not_exists(ticket_id) AND lease_until < :now)",
            )
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":lease", lease_end(lease))
            .expression_attribute_values(":ttl", n(epoch_seconds_now() + CLAIM_RETENTION.as_secs()))
            .expression_attribute_values(":now", n(epoch_millis_now()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(CreationClaim::Mine),
            Err(err) if condition_failed(&err) => {
                let item = self.get(pk.clone(), "CREATION").await?;
                match item.as_ref().and_then(|item| item.get("ticket_id")) {
                    Some(id) => id
                        .as_n()
                        .ok()
                        .and_then(|id| id.parse().ok())
                        .map(CreationClaim::Created)
                        .ok_or_else(|| StateError::Corrupt {
                            key: pk,
                            reason: "ticket_id is not a number".into(),
                        }),
                    None => Ok(CreationClaim::InProgress),
                }
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn record_creation(
        &self,
        store: &StoreId,
        key: &str,
        ticket_id: u64,
    ) -> Result<(), StateError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(creation_pk(store, key)))
            .key("sk", s("CREATION"))
            .update_expression("SET ticket_id = :id")
            .expression_attribute_values(":id", n(ticket_id))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn release_creation(&self, store: &StoreId, key: &str) -> Result<(), StateError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(creation_pk(store, key)))
            .key("sk", s("CREATION"))
            .update_expression("SET lease_until = :zero")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(ticket_id)")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }
}

#[async_trait]
impl DeliveryLog for DynamoState {
    async fn record_first(&self, key: &str, ttl: Duration) -> Result<bool, StateError> {
        let now = epoch_seconds_now();
        // TTL deletion lags by up to two days, so an expired record counts as absent.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("DELIVERY#{key}")))
            .item("sk", s("DELIVERY"))
            .item(TTL_ATTRIBUTE, n(now + ttl.as_secs()))
            .condition_expression("attribute_not_exists(pk) OR #exp < :now")
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(unavailable(err)),
        }
    }

    /// Reads which keys were seen (`BatchGetItem`, 100 a call), then records the others
    /// (`BatchWriteItem`, 25 a call). Unlike [`DeliveryLog::record_first`] this is not atomic:
    /// two deliveries of one payload at the same instant may both count as first. That only
    /// costs a duplicate job; the reply claim still lets one reply through.
    async fn record_first_many(
        &self,
        keys: &[String],
        ttl: Duration,
    ) -> Result<Vec<bool>, StateError> {
        let now = epoch_seconds_now();
        let mut unique: Vec<&str> = Vec::new();
        for key in keys {
            if !unique.contains(&key.as_str()) {
                unique.push(key);
            }
        }
        let seen: Vec<Vec<String>> = futures::future::try_join_all(
            unique
                .chunks(100)
                .map(|chunk| self.live_deliveries(chunk, now)),
        )
        .await?;
        let seen: std::collections::HashSet<String> = seen.into_iter().flatten().collect();
        let new: Vec<&str> = unique
            .iter()
            .copied()
            .filter(|key| !seen.contains(*key))
            .collect();
        futures::future::try_join_all(
            new.chunks(25)
                .map(|chunk| self.write_deliveries(chunk, now + ttl.as_secs())),
        )
        .await?;
        let mut firsts = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let repeated = keys[..i].contains(key);
            firsts.push(!repeated && !seen.contains(key));
        }
        Ok(firsts)
    }

    async fn forget(&self, key: &str) -> Result<(), StateError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("DELIVERY#{key}")))
            .key("sk", s("DELIVERY"))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl DynamoState {
    fn delivery_key(key: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), s(format!("DELIVERY#{key}"))),
            ("sk".to_owned(), s("DELIVERY")),
        ])
    }

    /// Which of `keys` have an unexpired delivery record.
    async fn live_deliveries(&self, keys: &[&str], now: u64) -> Result<Vec<String>, StateError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys.iter().map(|k| Self::delivery_key(k)).collect()))
                .consistent_read(true)
                .build()
                .expect("keys are set"),
        );
        let mut seen = Vec::new();
        while let Some(batch) = request.take() {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, batch)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                let expires = item
                    .get(TTL_ATTRIBUTE)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or_default();
                if expires >= now
                    && let Some(key) = text(&item, "pk").and_then(|pk| pk.strip_prefix("DELIVERY#"))
                {
                    seen.push(key.to_owned());
                }
            }
            request = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.table));
        }
        Ok(seen)
    }

    /// Records `keys` as delivered until `expires_at`.
    async fn write_deliveries(&self, keys: &[&str], expires_at: u64) -> Result<(), StateError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut writes: Vec<WriteRequest> = keys
            .iter()
            .map(|key| {
                let mut item = Self::delivery_key(key);
                item.insert(TTL_ATTRIBUTE.to_owned(), n(expires_at));
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .expect("the item is set");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        while !writes.is_empty() {
            let output = self
                .client
                .batch_write_item()
                .request_items(&self.table, writes)
                .send()
                .await
                .map_err(unavailable)?;
            writes = output
                .unprocessed_items
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                .unwrap_or_default();
        }
        Ok(())
    }
}

fn lease_end(lease: Duration) -> AttributeValue {
    n(epoch_millis_now() + lease.as_millis() as u64)
}

impl DynamoState {
    fn parse_state(pk: &str, item: &Item) -> Result<BotState, StateError> {
        let raw = text(item, "bot_state").unwrap_or_default();
        BotState::parse(raw).ok_or_else(|| StateError::Corrupt {
            key: pk.to_owned(),
            reason: format!("unknown bot_state {raw:?}"),
        })
    }

    fn parse_intent(pk: &str, item: &Item) -> Result<Option<HandoffIntent>, StateError> {
        text(item, "handoff")
            .map(|raw| {
                serde_json::from_str(raw).map_err(|err| StateError::Corrupt {
                    key: pk.to_owned(),
                    reason: format!("unreadable hand-off: {err}"),
                })
            })
            .transpose()
    }
}

#[async_trait]
impl BotStates for DynamoState {
    async fn bot_state(&self, store: &StoreId, thread: &Thread) -> Result<BotState, StateError> {
        let pk = thread_pk(store, thread);
        match self.get(pk.clone(), "STATE").await? {
            Some(item) => Self::parse_state(&pk, &item),
            None => Ok(BotState::Bot),
        }
    }

    async fn set_bot_state(
        &self,
        store: &StoreId,
        thread: &Thread,
        state: BotState,
    ) -> Result<(), StateError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(thread_pk(store, thread)))
            .item("sk", s("STATE"))
            .item("bot_state", s(state.as_str()))
            .item("updated_at", n(epoch_seconds_now()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn begin_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        intent: &HandoffIntent,
        owner: &str,
        lease: Duration,
    ) -> Result<HandoffStart, StateError> {
        let pk = thread_pk(store, thread);
        let intent = serde_json::to_string(intent).expect("a hand-off always serialises");
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk.clone()))
            .item("sk", s("STATE"))
            .item("bot_state", s(BotState::HandingOff.as_str()))
            .item("handoff", s(intent))
            .item("handoff_owner", s(owner))
            .item("lease_until", lease_end(lease))
            .item("updated_at", n(epoch_seconds_now()))
            .condition_expression(
                "attribute_not_exists(pk) OR NOT bot_state IN (:handing, :escalated)",
            )
            .expression_attribute_values(":handing", s(BotState::HandingOff.as_str()))
            .expression_attribute_values(":escalated", s(BotState::Escalated.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(HandoffStart::Started),
            Err(err) if condition_failed(&err) => match self.bot_state(store, thread).await? {
                BotState::Escalated => Ok(HandoffStart::AlreadyDone),
                _ => Ok(HandoffStart::UnderWay),
            },
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn take_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        owner: &str,
        lease: Duration,
    ) -> Result<HandoffLease, StateError> {
        let pk = thread_pk(store, thread);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s("STATE"))
            .update_expression("SET handoff_owner = :owner, lease_until = :lease")
            .condition_expression(
                "bot_state = :handing AND attribute_exists(handoff) AND (lease_until < :now OR handoff_owner = :owner)",
            )
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":lease", lease_end(lease))
            .expression_attribute_values(":now", n(epoch_millis_now()))
            .expression_attribute_values(":handing", s(BotState::HandingOff.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                Ok(match Self::parse_intent(&pk, &item)? {
                    Some(intent) => HandoffLease::Resume(intent),
                    None => HandoffLease::None,
                })
            }
            Err(err) if condition_failed(&err) => {
                let Some(item) = self.get(pk.clone(), "STATE").await? else {
                    return Ok(HandoffLease::None);
                };
                let state = Self::parse_state(&pk, &item)?;
                Ok(match (state, Self::parse_intent(&pk, &item)?) {
                    (_, None) => HandoffLease::None,
                    (BotState::HandingOff, Some(_)) => HandoffLease::HeldByAnother,
                    (_, Some(intent)) => HandoffLease::Finished(intent),
                })
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn finish_handoff(&self, store: &StoreId, thread: &Thread) -> Result<(), StateError> {
        self.end_handoff_lease(store, thread, None, BotState::Escalated)
            .await
    }

    async fn release_handoff(
        &self,
        store: &StoreId,
        thread: &Thread,
        owner: &str,
    ) -> Result<(), StateError> {
        self.end_handoff_lease(store, thread, Some(owner), BotState::HandingOff)
            .await
    }
}

impl DynamoState {
    /// Ends the lease of the thread's hand-off under way (`owner`'s only, when given) and
    /// moves it to `next`; a hand-off already finished or taken over is left alone.
    async fn end_handoff_lease(
        &self,
        store: &StoreId,
        thread: &Thread,
        owner: Option<&str>,
        next: BotState,
    ) -> Result<(), StateError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(thread_pk(store, thread)))
            .key("sk", s("STATE"))
            .update_expression("SET bot_state = :next, lease_until = :zero")
            .expression_attribute_values(":next", s(next.as_str()))
            .expression_attribute_values(":handing", s(BotState::HandingOff.as_str()))
            .expression_attribute_values(":zero", n(0));
        let request = match owner {
            Some(owner) => request
                .condition_expression("bot_state = :handing AND handoff_owner = :owner")
                .expression_attribute_values(":owner", s(owner)),
            None => request.condition_expression("bot_state = :handing"),
        };
        match request.send().await {
            Err(err) if condition_failed(&err) => Ok(()),
            other => other.map(|_| ()).map_err(unavailable),
        }
    }
}

#[async_trait]
impl ReplyClaims for DynamoState {
    async fn claim_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<ClaimOutcome, StateError> {
        let pk = thread_pk(store, thread);
        let sk = claim_sk(message_id);
        // An update, not a put: taking over an expired claim keeps the answer it recorded.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(sk.clone()))
            .update_expression(
                "SET #owner = :owner, claim_state = :claimed, lease_until = :lease, #ttl = :ttl",
            )
            .condition_expression(
                "attribute_not_exists(pk) OR (claim_state = :claimed AND lease_until < :now)",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":lease", lease_end(lease))
            .expression_attribute_values(":ttl", n(epoch_seconds_now() + CLAIM_RETENTION.as_secs()))
            .expression_attribute_values(":now", n(epoch_millis_now()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                Ok(ClaimOutcome::Acquired {
                    recorded: text(&item, "recorded_reply").map(str::to_owned),
                })
            }
            Err(err) if condition_failed(&err) => {
                let item = self.get(pk, &sk).await?;
                let answered = item
                    .as_ref()
                    .and_then(|item| text(item, "claim_state"))
                    .is_some_and(|state| state == "answered");
                Ok(if answered {
                    ClaimOutcome::AlreadyAnswered
                } else {
                    ClaimOutcome::HeldByAnother
                })
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn record_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
        answer: &str,
    ) -> Result<(), StateError> {
        self.update_own_claim(
            store,
            thread,
            message_id,
            owner,
            "SET recorded_reply = :value",
            s(answer),
        )
        .await
    }

    async fn finish_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
    ) -> Result<(), StateError> {
        self.update_own_claim(
            store,
            thread,
            message_id,
            owner,
            "SET claim_state = :value",
            s("answered"),
        )
        .await
    }

    async fn release_reply(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
    ) -> Result<(), StateError> {
        self.update_own_claim(
            store,
            thread,
            message_id,
            owner,
            "SET lease_until = :value",
            n(0),
        )
        .await
    }
}

impl DynamoState {
    /// Changes a claim this owner still holds (unanswered); a claim another worker took over
    /// after our lease ran out is left alone: that worker sees what we posted.
    async fn update_own_claim(
        &self,
        store: &StoreId,
        thread: &Thread,
        message_id: &str,
        owner: &str,
        update: &str,
        value: AttributeValue,
    ) -> Result<(), StateError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(thread_pk(store, thread)))
            .key("sk", s(claim_sk(message_id)))
            .update_expression(update)
            .condition_expression("#owner = :owner AND claim_state = :claimed")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":value", value)
            .send()
            .await;
        match result {
            Err(err) if condition_failed(&err) => Ok(()),
            other => other.map(|_| ()).map_err(unavailable),
        }
    }
}

#[async_trait]
impl ConversationsAccounts for DynamoState {
    async fn account(&self, subdomain: &str) -> Result<Option<ConversationsAccount>, StateError> {
        let pk = account_pk(subdomain);
        let Some(item) = self.get(pk.clone(), "CONVERSATIONS").await? else {
            return Ok(None);
        };
        let field = |name: &str| {
            text(&item, name)
                .map(str::to_owned)
                .ok_or_else(|| StateError::Corrupt {
                    key: pk.clone(),
                    reason: format!("no {name} attribute"),
                })
        };
        Ok(Some(ConversationsAccount {
            subdomain: subdomain.to_owned(),
            app_id: field("app_id")?,
            key_id: field("key_id")?,
            key_secret_name: field("key_secret_name")?,
            shared_secret_hash: TokenHash::from_hex(&field("shared_secret_sha256")?).ok_or_else(
                || StateError::Corrupt {
                    key: pk.clone(),
                    reason: "shared_secret_sha256 is not a SHA-256 hex digest".into(),
                },
            )?,
            integration_id: field("integration_id")?,
        }))
    }

    async fn save_account(&self, account: &ConversationsAccount) -> Result<(), StateError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(account_pk(&account.subdomain)))
            .item("sk", s("CONVERSATIONS"))
            .item("app_id", s(&account.app_id))
            .item("key_id", s(&account.key_id))
            .item("key_secret_name", s(&account.key_secret_name))
            .item(
                "shared_secret_sha256",
                s(account.shared_secret_hash.to_hex()),
            )
            .item("integration_id", s(&account.integration_id))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl WidgetRoutes for DynamoState {
    async fn map_widget(&self, store: &StoreConfig, widget: &str) -> Result<(), WidgetError> {
        let pk = widget_pk(&store.subdomain, widget);
        let claimed = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk.clone()))
            .item("sk", s("ROUTE"))
            .item("store_id", s(store.id.as_str()))
            .condition_expression("attribute_not_exists(pk) OR store_id = :store")
            .expression_attribute_values(":store", s(store.id.as_str()))
            .send()
            .await;
        match claimed {
            Ok(_) => {}
            Err(err) if condition_failed(&err) => {
                let owner = self
                    .get(pk, "ROUTE")
                    .await?
                    .and_then(|item| text(&item, "store_id").map(str::to_owned))
                    .unwrap_or_default();
                return Err(WidgetError::Taken {
                    widget: widget.to_owned(),
                    store: owner,
                });
            }
            Err(err) => return Err(unavailable(err).into()),
        }
        let mut mapped = store.clone();
        mapped.widget_integration_id = Some(widget.to_owned());
        self.save_store(&mapped).await?;
        Ok(())
    }

    async fn unmap_widget(&self, store: &StoreConfig) -> Result<(), StateError> {
        let Some(widget) = &store.widget_integration_id else {
            return Ok(());
        };
        let removed = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(widget_pk(&store.subdomain, widget)))
            .key("sk", s("ROUTE"))
            .condition_expression("store_id = :store")
            .expression_attribute_values(":store", s(store.id.as_str()))
            .send()
            .await;
        if let Err(err) = removed
            && !condition_failed(&err)
        {
            return Err(unavailable(err));
        }
        let mut unmapped = store.clone();
        unmapped.widget_integration_id = None;
        // The account index item is rewritten without its widget attribute.
        self.save_store(&unmapped).await
    }

    async fn widget_owner(
        &self,
        account: &str,
        widget: &str,
    ) -> Result<Option<StoreId>, StateError> {
        let mapped = self.get(widget_pk(account, widget), "ROUTE").await?;
        Ok(mapped
            .as_ref()
            .and_then(|item| text(item, "store_id"))
            .and_then(|id| StoreId::parse(id).ok()))
    }

    async fn route_widget(
        &self,
        account: &str,
        widget: &str,
    ) -> Result<Option<StoreId>, StateError> {
        if let Some(store) = self.widget_owner(account, widget).await? {
            return Ok(Some(store));
        }
        Ok(self
            .account_index(account)
            .await?
            .into_iter()
            .filter(|(_, widget)| !widget)
            .map(|(id, _)| id)
            .min_by(|a, b| a.as_str().cmp(b.as_str())))
    }
}

impl DynamoState {
    /// The account's stores from its index (one query): each id, and whether it has a widget.
    async fn account_index(&self, subdomain: &str) -> Result<Vec<(StoreId, bool)>, StateError> {
        let index = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :store)")
            .expression_attribute_values(":pk", s(account_pk(subdomain)))
            .expression_attribute_values(":store", s("STORE#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(index
            .items()
            .iter()
            .filter_map(|item| {
                let id = StoreId::parse(text(item, "store_id")?).ok()?;
                Some((id, item.contains_key("widget")))
            })
            .collect())
    }
}

/// A knowledge chunk holds at most this many bytes of the index's JSON.
pub const KNOWLEDGE_CHUNK_BYTES: usize = 300_000;
/// The head's sort key, which every knowledge item's starts with.
const KNOWLEDGE_HEAD: &str = "KNOWLEDGE";
/// Every chunk's sort key starts so.
const KNOWLEDGE_CHUNKS: &str = "KNOWLEDGE#";

fn knowledge_chunk_prefix(version: u64) -> String {
    format!("{KNOWLEDGE_CHUNKS}{version:020}#")
}

/// `json` cut into pieces of at most `max` bytes, on character boundaries.
fn chunks(json: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = json;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

impl DynamoState {
    /// Sort keys of the store's items under `STORE#{store}` that start with `prefix`.
    async fn knowledge_keys(
        &self,
        store: &StoreId,
        prefix: &str,
    ) -> Result<Vec<String>, StateError> {
        Ok(self
            .knowledge_items(store, prefix, false)
            .await?
            .iter()
            .filter_map(|item| text(item, "sk").map(str::to_owned))
            .collect())
    }

    /// The store's items whose sort key starts with `prefix`, in key order, every page.
    async fn knowledge_items(
        &self,
        store: &StoreId,
        prefix: &str,
        with_data: bool,
    ) -> Result<Vec<Item>, StateError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(store_pk(store)))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true);
            if !with_data {
                query = query.projection_expression("sk");
            }
            let page = query
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }

    async fn knowledge_head(&self, store: &StoreId) -> Result<Option<(u64, u64)>, StateError> {
        let Some(item) = self.get(store_pk(store), KNOWLEDGE_HEAD).await? else {
            return Ok(None);
        };
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| StateError::Corrupt {
                    key: format!("{}/{KNOWLEDGE_HEAD}", store_pk(store)),
                    reason: format!("no {name}"),
                })
        };
        Ok(Some((number("version")?, number("chunks")?)))
    }
}

#[async_trait]
impl KnowledgeIndexes for DynamoState {
    async fn save_index(
        &self,
        store: &StoreId,
        index: &crate::knowledge_index::KnowledgeIndex,
    ) -> Result<u64, StateError> {
        let json = serde_json::to_string(index).map_err(|err| StateError::Corrupt {
            key: format!("{}/{KNOWLEDGE_HEAD}", store_pk(store)),
            reason: err.to_string(),
        })?;
        let previous = self
            .knowledge_head(store)
            .await
            .ok()
            .flatten()
            .map(|(v, _)| v);
        let version = previous.map_or(1, |v| v + 1).max(epoch_millis_now());
        let pieces = chunks(&json, KNOWLEDGE_CHUNK_BYTES);
        let prefix = knowledge_chunk_prefix(version);
        for (n, piece) in pieces.iter().enumerate() {
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(store_pk(store)))
                .item("sk", s(format!("{prefix}{n:06}")))
                .item("data", s(*piece))
                .send()
                .await
                .map_err(unavailable)?;
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(store_pk(store)))
            .item("sk", s(KNOWLEDGE_HEAD))
            .item("version", n(version))
            .item("chunks", n(pieces.len() as u64))
            .item("bytes", n(json.len() as u64))
            .send()
            .await
            .map_err(unavailable)?;
        // Keep this version and the previous one; older chunks go.
        let kept = [Some(version), previous]
            .into_iter()
            .flatten()
            .map(knowledge_chunk_prefix)
            .collect::<Vec<_>>();
        for sk in self.knowledge_keys(store, KNOWLEDGE_CHUNKS).await? {
            if kept.iter().any(|prefix| sk.starts_with(prefix)) {
                continue;
            }
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(store_pk(store)))
                .key("sk", s(sk))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(version)
    }

    async fn index_version(&self, store: &StoreId) -> Result<Option<u64>, StateError> {
        Ok(self
            .knowledge_head(store)
            .await?
            .map(|(version, _)| version))
    }

    async fn load_index(&self, store: &StoreId) -> Result<Option<StoredIndex>, StateError> {
        let Some((version, count)) = self.knowledge_head(store).await? else {
            return Ok(None);
        };
        let items = self
            .knowledge_items(store, &knowledge_chunk_prefix(version), true)
            .await?;
        if items.len() as u64 != count {
            // A newer save replaced this version while it was read; a retry reads that one.
            return Err(StateError::Unavailable(format!(
                "knowledge index {version} of {store} has {} of its {count} chunks",
                items.len()
            )));
        }
        let mut json = String::new();
        for item in &items {
            json.push_str(text(item, "data").unwrap_or_default());
        }
        let index = serde_json::from_str(&json).map_err(|err| StateError::Corrupt {
            key: format!("{}/{KNOWLEDGE_HEAD}", store_pk(store)),
            reason: err.to_string(),
        })?;
        Ok(Some(StoredIndex { version, index }))
    }
}

/// Bridge sessions and their events are kept this long after their last change.
const BRIDGE_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
const SESSION_SK: &str = "SESSION";
/// Attempts at numbering an event when concurrent writers keep taking the number.
const EVENT_NUMBER_ATTEMPTS: usize = 8;

/// Under the store's `THREAD#` prefix, so deleting the store deletes its sessions too.
fn bridge_pk(store: &StoreId, session: &str) -> String {
    format!("THREAD#{store}#bridge:{session}")
}

fn session_owner_pk(session: &str) -> String {
    format!("BRIDGEID#{session}")
}

fn bridged_pk(conversation: &str) -> String {
    format!("BRIDGED#{conversation}")
}

fn event_sk(seq: u64) -> String {
    // Zero-padded so the sort key orders events by number.
    format!("EVENT#{seq:012}")
}

fn bridge_ttl() -> AttributeValue {
    n(epoch_seconds_now() + BRIDGE_RETENTION.as_secs())
}

impl DynamoState {
    fn session_from_item(pk: &str, item: &Item) -> Result<BridgeSession, StateError> {
        let corrupt = |reason: String| StateError::Corrupt {
            key: pk.to_owned(),
            reason,
        };
        let doc = text(item, "doc").ok_or_else(|| corrupt("no doc attribute".into()))?;
        let mut session: BridgeSession =
            serde_json::from_str(doc).map_err(|e| corrupt(e.to_string()))?;
        session.ended = text(item, "ended").map(str::to_owned);
        Ok(session)
    }

    fn event_from_item(pk: &str, item: &Item) -> Result<BridgeEvent, StateError> {
        let doc = text(item, "doc").ok_or_else(|| StateError::Corrupt {
            key: pk.to_owned(),
            reason: "no doc attribute".into(),
        })?;
        serde_json::from_str(doc).map_err(|e| StateError::Corrupt {
            key: pk.to_owned(),
            reason: e.to_string(),
        })
    }

    fn session_doc(session: &BridgeSession) -> AttributeValue {
        // `ended` lives in its own attribute, written by whoever ends the session.
        let stored = BridgeSession {
            ended: None,
            ..session.clone()
        };
        s(serde_json::to_string(&stored).expect("sessions serialise"))
    }

    /// The event recorded for `key`, if one was.
    async fn event_for_key(&self, pk: &str, key: &str) -> Result<Option<BridgeEvent>, StateError> {
        let Some(item) = self.get(pk.to_owned(), &format!("KEY#{key}")).await? else {
            return Ok(None);
        };
        let seq = item
            .get("seq")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StateError::Corrupt {
                key: pk.to_owned(),
                reason: format!("event key {key} has no number"),
            })?;
        let event = self
            .get(pk.to_owned(), &event_sk(seq))
            .await?
            .ok_or_else(|| StateError::Corrupt {
                key: pk.to_owned(),
                reason: format!("event {seq} is missing"),
            })?;
        Self::event_from_item(pk, &event).map(Some)
    }
}

#[async_trait]
impl BridgeSessions for DynamoState {
    async fn claim_session(
        &self,
        new: &BridgeSession,
        owner: &str,
        lease: Duration,
    ) -> Result<SessionClaim, StateError> {
        // One namespace of session ids: the id is the first store's.
        let owned = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(session_owner_pk(&new.id)))
            .item("sk", s(SESSION_SK))
            .item("store_id", s(new.store_id.to_string()))
            .item(TTL_ATTRIBUTE, bridge_ttl())
            .condition_expression("attribute_not_exists(pk) OR store_id = :store")
            .expression_attribute_values(":store", s(new.store_id.to_string()))
            .send()
            .await;
        match owned {
            Ok(_) => {}
            Err(err) if condition_failed(&err) => return Ok(SessionClaim::Foreign),
            Err(err) => return Err(unavailable(err)),
        }
        let pk = bridge_pk(&new.store_id, &new.id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(SESSION_SK))
            .update_expression(
                "SET doc = if_not_exists(doc, :doc), fingerprint = if_not_exists(fingerprint, :fp), \
                 opened = if_not_exists(opened, :false), event_count = if_not_exists(event_count, :zero), \
                 #owner = :owner, lease_until = :lease, #ttl = :ttl",
            )
            .condition_expression(
                "attribute_not_exists(pk) OR (fingerprint = :fp AND opened = :false \
                 AND attribute_not_exists(ended) AND (#owner = :owner OR lease_until < :now))",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":doc", Self::session_doc(new))
            .expression_attribute_values(":fp", s(new.fingerprint.clone()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":lease", lease_end(lease))
            .expression_attribute_values(":ttl", bridge_ttl())
            .expression_attribute_values(":now", n(epoch_millis_now()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                Ok(SessionClaim::Mine(Self::session_from_item(&pk, &item)?))
            }
            Err(err) if condition_failed(&err) => {
                let Some(item) = self.get(pk.clone(), SESSION_SK).await? else {
                    // Deleted between the write and the read: as busy, the caller retries.
                    return Ok(SessionClaim::Busy);
                };
                if text(&item, "fingerprint") != Some(new.fingerprint.as_str()) {
                    return Ok(SessionClaim::Conflict);
                }
                let session = Self::session_from_item(&pk, &item)?;
                let opened = item.get("opened").and_then(|v| v.as_bool().ok()) == Some(&true);
                Ok(if opened || session.ended.is_some() {
                    SessionClaim::Open(session)
                } else {
                    SessionClaim::Busy
                })
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn save_session(&self, session: &BridgeSession, owner: &str) -> Result<(), StateError> {
        let mut expression = String::from("SET doc = :doc");
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(bridge_pk(&session.store_id, &session.id)))
            .key("sk", s(SESSION_SK))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":doc", Self::session_doc(session))
            .expression_attribute_values(":owner", s(owner));
        if session.handed_over {
            expression.push_str(", opened = :true, lease_until = :zero");
            update = update
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":zero", n(0));
        }
        if let Some(conversation) = &session.conversation_id {
            // Kept beside the doc, so deleting the store finds the conversation's link.
            expression.push_str(", conversation_id = :conversation");
            update = update.expression_attribute_values(":conversation", s(conversation.clone()));
        }
        let update = update.update_expression(expression);
        match update.send().await {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Err(StateError::Unavailable(format!(
                "the lease on bridge session {} was lost",
                session.id
            ))),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn link_conversation(&self, session: &BridgeSession) -> Result<(), StateError> {
        let Some(conversation) = &session.conversation_id else {
            return Ok(());
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(bridged_pk(conversation)))
            .item("sk", s(SESSION_SK))
            .item("store_id", s(session.store_id.to_string()))
            .item("session_id", s(session.id.clone()))
            .item(TTL_ATTRIBUTE, bridge_ttl())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn release_session(
        &self,
        store: &StoreId,
        id: &str,
        owner: &str,
    ) -> Result<(), StateError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(bridge_pk(store, id)))
            .key("sk", s(SESSION_SK))
            .update_expression("SET lease_until = :zero")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn session(
        &self,
        store: &StoreId,
        id: &str,
    ) -> Result<Option<BridgeSession>, StateError> {
        let pk = bridge_pk(store, id);
        match self.get(pk.clone(), SESSION_SK).await? {
            Some(item) => Self::session_from_item(&pk, &item).map(Some),
            None => Ok(None),
        }
    }

    async fn session_owner(&self, id: &str) -> Result<Option<StoreId>, StateError> {
        let item = self.get(session_owner_pk(id), SESSION_SK).await?;
        Ok(item
            .as_ref()
            .and_then(|item| text(item, "store_id"))
            .and_then(|id| StoreId::parse(id).ok()))
    }

    async fn session_of_conversation(
        &self,
        conversation_id: &str,
    ) -> Result<Option<BridgeSession>, StateError> {
        let Some(link) = self.get(bridged_pk(conversation_id), SESSION_SK).await? else {
            return Ok(None);
        };
        let store = text(&link, "store_id").and_then(|id| StoreId::parse(id).ok());
        match (store, text(&link, "session_id")) {
            (Some(store), Some(id)) => self.session(&store, id).await,
            _ => Err(StateError::Corrupt {
                key: bridged_pk(conversation_id),
                reason: "the link names no store and session".into(),
            }),
        }
    }

    async fn end_session(
        &self,
        store: &StoreId,
        id: &str,
        reason: &str,
    ) -> Result<BridgeSession, StateError> {
        let pk = bridge_pk(store, id);
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk.clone()))
            .key("sk", s(SESSION_SK))
            .update_expression("SET ended = if_not_exists(ended, :reason)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":reason", s(reason))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable)?;
        Self::session_from_item(&pk, &output.attributes.unwrap_or_default())
    }

    async fn record_event(
        &self,
        store: &StoreId,
        session: &str,
        key: &str,
        kind: &str,
        data: &serde_json::Value,
    ) -> Result<BridgeEvent, StateError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
        let pk = bridge_pk(store, session);
        for _ in 0..EVENT_NUMBER_ATTEMPTS {
            if let Some(event) = self.event_for_key(&pk, key).await? {
                return Ok(event);
            }
            let head =
                self.get(pk.clone(), SESSION_SK)
                    .await?
                    .ok_or_else(|| StateError::Corrupt {
                        key: pk.clone(),
                        reason: "no such bridge session".into(),
                    })?;
            let count: u64 = head
                .get("event_count")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let event = BridgeEvent {
                seq: count + 1,
                id: bridge_event_id(store, session, key),
                kind: kind.to_owned(),
                timestamp: now_rfc3339(),
                data: data.clone(),
            };
            let doc = serde_json::to_string(&event).expect("events serialise");
            // The number, the key and the event commit together or not at all: a reader never
            // sees a number without its event, and a key is numbered once.
            let built = |what: &str| StateError::Unavailable(format!("building {what}"));
            let number = Update::builder()
                .table_name(&self.table)
                .key("pk", s(pk.clone()))
                .key("sk", s(SESSION_SK))
                .update_expression("SET event_count = :next")
                .condition_expression("event_count = :count")
                .expression_attribute_values(":next", n(event.seq))
                .expression_attribute_values(":count", n(count))
                .build()
                .map_err(|_| built("the event number"))?;
            let key_item = Put::builder()
                .table_name(&self.table)
                .item("pk", s(pk.clone()))
                .item("sk", s(format!("KEY#{key}")))
                .item("seq", n(event.seq))
                .item(TTL_ATTRIBUTE, bridge_ttl())
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|_| built("the event key"))?;
            let event_item = Put::builder()
                .table_name(&self.table)
                .item("pk", s(pk.clone()))
                .item("sk", s(event_sk(event.seq)))
                .item("doc", s(doc))
                .item(TTL_ATTRIBUTE, bridge_ttl())
                .build()
                .map_err(|_| built("the event"))?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(number).build())
                .transact_items(TransactWriteItem::builder().put(key_item).build())
                .transact_items(TransactWriteItem::builder().put(event_item).build())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(event),
                Err(err)
                    if err
                        .as_service_error()
                        .and_then(|e| e.code())
                        .is_some_and(|code| code == "TransactionCanceledException") =>
                {
                    // Another writer took the number or the key: look again.
                    continue;
                }
                Err(err) => return Err(unavailable(err)),
            }
        }
        Err(StateError::Unavailable(format!(
            "could not number an event of bridge session {session}"
        )))
    }

    async fn events_after(
        &self,
        store: &StoreId,
        session: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<BridgeEvent>, StateError> {
        let pk = bridge_pk(store, session);
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":from", s(event_sk(after.saturating_add(1))))
            .expression_attribute_values(":to", s(event_sk(999_999_999_999)))
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(unavailable)?;
        page.items
            .unwrap_or_default()
            .iter()
            .map(|item| Self::event_from_item(&pk, item))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knowledge_json_is_cut_on_character_boundaries() {
        let json = "aé€😀".repeat(1000);
        let pieces = chunks(&json, 7);
        assert!(pieces.iter().all(|p| p.len() <= 7 && !p.is_empty()));
        assert_eq!(pieces.concat(), json);
        assert!(chunks("", 7).is_empty());
    }

    #[test]
    fn item_keys_keep_stores_and_threads_apart() {
        let store = StoreId::parse("acme").unwrap();
        assert_eq!(store_pk(&store), "STORE#acme");
        assert_eq!(
            thread_pk(&store, &Thread::Ticket(7)),
            "THREAD#acme#ticket:7"
        );
        assert_eq!(
            thread_pk(&store, &Thread::Conversation("c1".into())),
            "THREAD#acme#conversation:c1"
        );
        assert_eq!(claim_sk("991"), "CLAIM#991");
    }
}
