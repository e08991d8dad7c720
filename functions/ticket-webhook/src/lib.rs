//! `POST /webhooks/zendesk/{store_id}`: Zendesk trigger webhooks for the email & ticket path.
//!
//! Verifies the store's bearer token (and signature, when the store has a signing secret) over
//! the raw body, validates the trigger payload, de-duplicates, enqueues one job and answers
//! 202. It reads the table and writes to the queue; it never calls Zendesk or Secrets Manager.
//!
//! De-duplication is by Zendesk's invocation id: every webhook request carries
//! `x-zendesk-webhook-invocation-id`, the same on Zendesk's retries of one invocation and a new
//! one for each invocation, so two customer comments whose bodies render the same are two
//! deliveries. A request without the header falls back to a hash of its body.

use axum::body::Bytes;
use axum::extract::{Path, State};
use deskmate_shared::ingress::GATEWAY_BODY_LIMIT;
use std::sync::Arc;
use std::time::Duration;

use deskmate_shared::auth::{bearer_token, verify_zendesk_signature};
use deskmate_shared::config::IngressConfig;
use deskmate_shared::domain::{Job, StoreConfig, StoreId, TicketEvent};
use deskmate_shared::ingress::{Rejection, header_text, json_response, unavailable};
use deskmate_shared::queue::JobQueue;
use deskmate_shared::state::{DeliveryLog, StoreDirectory};
use http::{HeaderMap, Response, StatusCode, header};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Trigger payloads are small; anything larger is not ours.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const SIGNATURE_HEADER: &str = "x-zendesk-webhook-signature";
pub const SIGNATURE_TIMESTAMP_HEADER: &str = "x-zendesk-webhook-signature-timestamp";
pub const INVOCATION_ID_HEADER: &str = "x-zendesk-webhook-invocation-id";

/// The key a delivery is remembered by: the store and Zendesk's invocation id, or the store
/// and a hash of the body when the request has no invocation id.
pub fn delivery_key(store: &StoreId, headers: &HeaderMap, body: &[u8]) -> String {
    match header_text(headers, INVOCATION_ID_HEADER)
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        Some(id) => format!("{store}:invocation:{:x}", Sha256::digest(id.as_bytes())),
        None => format!("{store}:{:x}", Sha256::digest(body)),
    }
}

/// What Deskmate did with a delivery it accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    Queued { ticket_id: u64 },
    Ignored(String),
}

/// The fields of Deskmate's trigger payload template that the webhook acts on.
#[derive(Debug, PartialEq, Eq)]
pub struct TriggerPayload {
    pub event: TicketEvent,
    pub ticket_id: u64,
    pub brand_id: Option<u64>,
    pub current_user_id: Option<u64>,
}

enum Parsed {
    Payload(TriggerPayload),
    UnsupportedEvent(String),
}

/// An id Zendesk rendered as a string (or a number, if the template was edited).
fn id_field(
    object: &Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<u64>, Rejection> {
    let bad = |detail: &str| Rejection::BadRequest(format!("field `{name}` {detail}"));
    match object.get(name) {
        None | Some(Value::Null) if required => Err(bad("is required")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => match number.as_u64() {
            Some(id) if id > 0 => Ok(Some(id)),
            _ => Err(bad("must be a positive integer")),
        },
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.is_empty() && !required {
                return Ok(None);
            }
            if text.contains("{{") {
                return Err(bad(
                    "holds a placeholder Zendesk did not render; check the trigger's JSON body",
                ));
            }
            match text.parse::<u64>() {
                Ok(id) if id > 0 => Ok(Some(id)),
                _ => Err(bad("must be a positive integer")),
            }
        }
        Some(_) => Err(bad("must be a positive integer or a string of digits")),
    }
}

fn parse_payload(body: &[u8]) -> Result<Parsed, Rejection> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| Rejection::BadRequest(format!("body is not valid JSON: {err}")))?;
    let Value::Object(object) = value else {
        return Err(Rejection::BadRequest("body must be a JSON object".into()));
    };
    let event = match object.get("event") {
        None | Some(Value::Null) => {
            return Err(Rejection::BadRequest("field `event` is required".into()));
        }
        Some(Value::String(event)) => event.trim(),
        Some(_) => {
            return Err(Rejection::BadRequest(
                "field `event` must be a string".into(),
            ));
        }
    };
    let event = match event {
        "ticket_created" => TicketEvent::TicketCreated,
        "comment_added" => TicketEvent::CommentAdded,
        other => return Ok(Parsed::UnsupportedEvent(other.chars().take(64).collect())),
    };
    Ok(Parsed::Payload(TriggerPayload {
        event,
        ticket_id: id_field(&object, "ticket_id", true)?.expect("required ids are present"),
        brand_id: id_field(&object, "brand_id", false)?,
        current_user_id: id_field(&object, "current_user_id", false)?,
    }))
}

pub struct TicketWebhook {
    pub stores: Arc<dyn StoreDirectory>,
    pub deliveries: Arc<dyn DeliveryLog>,
    pub queue: Arc<dyn JobQueue>,
    /// Comment jobs wait this long so a burst of customer comments is answered once.
    pub burst_window: Duration,
    pub dedup_ttl: Duration,
}

impl TicketWebhook {
    pub fn new<S>(state: Arc<S>, queue: Arc<dyn JobQueue>, config: &IngressConfig) -> Self
    where
        S: StoreDirectory + DeliveryLog + 'static,
    {
        Self {
            stores: state.clone(),
            deliveries: state,
            queue,
            burst_window: config.burst_window,
            dedup_ttl: config.dedup_ttl,
        }
    }

    /// Handles one delivery and renders the HTTP answer.
    pub async fn respond(
        &self,
        store_id: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<String> {
        match self
            .accept(store_id, headers, body, OffsetDateTime::now_utc())
            .await
        {
            Ok(Accepted::Queued { ticket_id }) => json_response(
                StatusCode::ACCEPTED,
                &json!({"status": "accepted", "ticket_id": ticket_id}),
            ),
            Ok(Accepted::Ignored(reason)) => json_response(
                StatusCode::OK,
                &json!({"status": "ignored", "reason": reason}),
            ),
            Err(rejection) => {
                tracing::info!(store_id, status = rejection.status().as_u16(), %rejection, "webhook rejected");
                rejection.into_response()
            }
        }
    }

    pub async fn accept(
        &self,
        store_id: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<Accepted, Rejection> {
        if body.len() > MAX_BODY_BYTES {
            return Err(Rejection::TooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let store = self.authenticate(store_id, headers, body, now).await?;
        let payload = match parse_payload(body)? {
            Parsed::Payload(payload) => payload,
            Parsed::UnsupportedEvent(event) => {
                return Ok(Accepted::Ignored(format!(
                    "event \"{event}\" is not one Deskmate acts on"
                )));
            }
        };
        if let (Some(ours), Some(theirs)) = (store.brand_id, payload.brand_id)
            && ours != theirs
        {
            return Ok(Accepted::Ignored(format!(
                "ticket is from brand {theirs}; this store answers brand {ours}"
            )));
        }
        if payload.current_user_id == Some(store.bot_user_id) {
            return Ok(Accepted::Ignored(
                "the update was made by the bot itself".into(),
            ));
        }

        let delivery_key = delivery_key(&store.id, headers, body);
        let first = self
            .deliveries
            .record_first(&delivery_key, self.dedup_ttl)
            .await
            .map_err(|err| unavailable("could not record delivery", &err))?;
        if !first {
            return Ok(Accepted::Ignored("duplicate delivery".into()));
        }
        let job = Job::Ticket {
            store_id: store.id.clone(),
            ticket_id: payload.ticket_id,
            event: payload.event,
        };
        let delay = match payload.event {
            TicketEvent::TicketCreated => Duration::ZERO,
            TicketEvent::CommentAdded => self.burst_window,
        };
        if let Err(err) = self.queue.enqueue(&job, delay).await {
            tracing::error!(error = %err, "could not enqueue job");
            // Forget the delivery so Zendesk's retry is accepted rather than dropped as a duplicate.
            if let Err(err) = self.deliveries.forget(&delivery_key).await {
                tracing::error!(error = %err, "could not forget delivery");
            }
            return Err(Rejection::Unavailable);
        }
        tracing::info!(store_id = %store.id, ticket_id = payload.ticket_id, event = ?payload.event, "job queued");
        Ok(Accepted::Queued {
            ticket_id: payload.ticket_id,
        })
    }

    async fn authenticate(
        &self,
        store_id: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<StoreConfig, Rejection> {
        let presented = header_text(headers, header::AUTHORIZATION.as_str())
            .and_then(bearer_token)
            .ok_or(Rejection::Unauthorized)?;
        let Ok(store_id) = StoreId::parse(store_id) else {
            return Err(Rejection::Unauthorized);
        };
        let store = self
            .stores
            .store(&store_id)
            .await
            .map_err(|err| unavailable("could not read store", &err))?
            .ok_or(Rejection::Unauthorized)?;
        if !store.webhook_token_hash.matches(presented) {
            return Err(Rejection::Unauthorized);
        }
        if let Some(secret) = &store.webhook_signing_secret {
            verify_zendesk_signature(
                secret,
                header_text(headers, SIGNATURE_HEADER),
                header_text(headers, SIGNATURE_TIMESTAMP_HEADER),
                body,
                now,
            )
            .map_err(Rejection::BadSignature)?;
        }
        Ok(store)
    }
}

/// The function's routes, as the template declares them and the local server serves them.
pub const ROUTES: [(&str, &str); 1] = [("POST", "/webhooks/zendesk/{store_id}")];

/// The function's one HTTP router: served by `lambda_http` in Lambda, merged into the local
/// server by `deskmate dev` and the tests.
pub fn router(webhook: Arc<TicketWebhook>) -> axum::Router {
    axum::Router::new()
        .route(ROUTES[0].1, axum::routing::post(receive))
        .with_state(webhook)
        .layer(axum::extract::DefaultBodyLimit::max(GATEWAY_BODY_LIMIT))
}

async fn receive(
    State(webhook): State<Arc<TicketWebhook>>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<String> {
    webhook.respond(&store_id, &headers, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskmate_shared::zendesk::setup::trigger_payload_template;

    #[test]
    fn the_published_template_parses_once_zendesk_renders_it() {
        let rendered = trigger_payload_template(TicketEvent::CommentAdded)
            .to_string()
            .replace("{{ticket.id}}", "42")
            .replace("{{ticket.brand.id}}", "7")
            .replace("{{current_user.id}}", "9")
            .replace(
                "{{ticket.updated_at_with_timestamp}}",
                "2026-11-21T10:00:00Z",
            );
        let Parsed::Payload(payload) = parse_payload(rendered.as_bytes()).unwrap() else {
            panic!("the template's event is supported");
        };
        assert_eq!(
            payload,
            TriggerPayload {
                event: TicketEvent::CommentAdded,
                ticket_id: 42,
                brand_id: Some(7),
                current_user_id: Some(9)
            }
        );
    }

    use deskmate_shared::auth::TokenHash;
    use deskmate_shared::domain::AgentSettings;
    use deskmate_shared::queue::MemoryQueue;
    use deskmate_shared::state::MemoryState;

    const TOKEN: &str = "dmw_test-token";

    async fn webhook() -> (TicketWebhook, Arc<MemoryQueue>) {
        let state = Arc::new(MemoryState::new());
        state
            .save_store(&StoreConfig {
                id: StoreId::parse("acme").unwrap(),
                name: "Acme".into(),
                subdomain: "acme".into(),
                bot_email: "bot@acme.test".into(),
                bot_user_id: 1,
                brand_id: None,
                zendesk_token_secret: "deskmate/acme/zendesk-api-token".into(),
                webhook_token_hash: TokenHash::of(TOKEN),
                tool_token_hash: None,
                webhook_signing_secret: None,
                escalation_group_id: None,
                instructions: String::new(),
                handoff_message: String::new(),
                agent: AgentSettings::Knowledge {
                    knowledge_markdown: String::new(),
                },
                widget_integration_id: None,
                display_name: "Acme".into(),
                avatar_url: None,
                welcome_message: String::new(),
                mode: Default::default(),
                bridge: None,
            })
            .await
            .unwrap();
        let queue = Arc::new(MemoryQueue::new());
        let webhook = TicketWebhook {
            stores: state.clone(),
            deliveries: state,
            queue: queue.clone(),
            burst_window: Duration::ZERO,
            dedup_ttl: Duration::from_secs(3600),
        };
        (webhook, queue)
    }

    fn headers(invocation: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {TOKEN}").parse().unwrap(),
        );
        if let Some(id) = invocation {
            headers.insert(INVOCATION_ID_HEADER, id.parse().unwrap());
        }
        headers
    }

    const COMMENT: &[u8] = br#"{"event":"comment_added","ticket_id":"42","current_user_id":"7"}"#;

    #[tokio::test]
    async fn two_invocations_with_the_same_body_are_two_deliveries() {
        let (webhook, queue) = webhook().await;
        let now = OffsetDateTime::now_utc();
        for invocation in ["8350205582", "8350205583"] {
            let accepted = webhook
                .accept("acme", &headers(Some(invocation)), COMMENT, now)
                .await
                .unwrap();
            assert_eq!(accepted, Accepted::Queued { ticket_id: 42 }, "{invocation}");
        }
        assert_eq!(queue.len(), 2, "each customer comment is answered");
    }

    #[tokio::test]
    async fn a_retried_invocation_is_a_duplicate() {
        let (webhook, queue) = webhook().await;
        let now = OffsetDateTime::now_utc();
        let first = webhook
            .accept("acme", &headers(Some("8350205582")), COMMENT, now)
            .await
            .unwrap();
        assert_eq!(first, Accepted::Queued { ticket_id: 42 });
        let retry = webhook
            .accept("acme", &headers(Some("8350205582")), COMMENT, now)
            .await
            .unwrap();
        assert_eq!(retry, Accepted::Ignored("duplicate delivery".into()));
        assert_eq!(queue.len(), 1);
    }

    #[tokio::test]
    async fn without_an_invocation_id_the_body_tells_deliveries_apart() {
        let (webhook, queue) = webhook().await;
        let now = OffsetDateTime::now_utc();
        let other = br#"{"event":"comment_added","ticket_id":"43","current_user_id":"7"}"#;
        for (body, expected) in [
            (COMMENT, Accepted::Queued { ticket_id: 42 }),
            (COMMENT, Accepted::Ignored("duplicate delivery".into())),
            (&other[..], Accepted::Queued { ticket_id: 43 }),
        ] {
            let accepted = webhook.accept("acme", &headers(None), body, now).await;
            assert_eq!(accepted.unwrap(), expected);
        }
        assert_eq!(queue.len(), 2);
    }
}
