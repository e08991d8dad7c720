//! Zendesk's trigger engine, for the conditions and actions Deskmate's setup uses, and the
//! webhook delivery that follows a `notification_webhook` action.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Shared;
use crate::world::{Delivery, TicketView, World};

/// What happened in the update the triggers are looking at.
pub(crate) struct UpdateContext {
    pub created: bool,
    pub current_user: u64,
    pub public_comment: bool,
}

/// A delivery recorded in the world and waiting to be sent.
pub(crate) struct Outgoing(pub(crate) usize);

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn condition_holds(
    world: &World,
    ticket: &TicketView,
    context: &UpdateContext,
    condition: &Value,
) -> bool {
    let expected = value_text(&condition["value"]);
    let matches = match condition["field"].as_str().unwrap_or_default() {
        "update_type" => {
            expected.eq_ignore_ascii_case(if context.created { "Create" } else { "Change" })
        }
        "assignee_id" => {
            ticket
                .assignee_id
                .map(|id| id.to_string())
                .unwrap_or_default()
                == expected
        }
        "brand_id" => ticket.brand_id.map(|id| id.to_string()).unwrap_or_default() == expected,
        "status" => ticket.status == expected,
        "role" => world
            .users
            .get(&context.current_user)
            .is_some_and(|user| user.role.replace('-', "_") == expected),
        "comment_is_public" => match expected.as_str() {
            "true" | "requester_can_see_comment" => context.public_comment,
            "false" => !context.public_comment,
            "not_relevant" => true,
            _ => false,
        },
        // Tags hold (`includes`) when the ticket carries any of the space-separated tags in
        // the value, as Zendesk reads `current_tags`.
        "current_tags" => {
            let any = expected
                .split_whitespace()
                .any(|tag| ticket.tags.iter().any(|t| t == tag));
            return match condition["operator"].as_str().unwrap_or_default() {
                "includes" => any,
                "not_includes" => !any,
                _ => false,
            };
        }
        // A condition this sandbox does not know never holds, so a trigger never fires by mistake.
        _ => return false,
    };
    match condition["operator"].as_str().unwrap_or("is") {
        "is" => matches,
        "is_not" => !matches,
        _ => false,
    }
}

fn conditions_hold(
    world: &World,
    ticket: &TicketView,
    context: &UpdateContext,
    conditions: &Value,
) -> bool {
    let list = |key: &str| conditions[key].as_array().cloned().unwrap_or_default();
    let any = list("any");
    list("all")
        .iter()
        .all(|c| condition_holds(world, ticket, context, c))
        && (any.is_empty()
            || any
                .iter()
                .any(|c| condition_holds(world, ticket, context, c)))
}

/// Renders the placeholders a trigger's webhook body uses; unknown ones render empty, as in
/// Zendesk. Like Zendesk, values are pasted into the body as they are, not JSON-escaped: a
/// requester named `Ana "the best" O'Neil` breaks a JSON body that holds the name.
fn render(world: &World, ticket: &TicketView, current_user: u64, template: &str) -> String {
    let requester = world.users.get(&ticket.requester_id);
    let value_of = |name: &str| -> String {
        match name {
            "ticket.id" => ticket.id.to_string(),
            "ticket.brand.id" => ticket.brand_id.map(|b| b.to_string()).unwrap_or_default(),
            "ticket.requester.id" => ticket.requester_id.to_string(),
            "ticket.requester.email" => requester.map(|u| u.email.clone()).unwrap_or_default(),
            "ticket.requester.name" => requester.map(|u| u.name.clone()).unwrap_or_default(),
            "ticket.status" => ticket.status.clone(),
            "ticket.via" => ticket.channel.clone(),
            "ticket.updated_at_with_timestamp" => ticket.updated_at.clone(),
            "current_user.id" => current_user.to_string(),
            _ => String::new(),
        }
    };
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&value_of(rest[start + 2..start + end].trim()));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Runs the active triggers against a ticket after an update, until none fires anew
/// (each trigger fires at most once per update), and records the webhook deliveries.
pub(crate) fn run(world: &mut World, ticket_id: u64, context: UpdateContext) -> Vec<Outgoing> {
    let mut fired = HashSet::new();
    let mut outgoing = Vec::new();
    loop {
        let Some(ticket) = world.ticket_view(ticket_id) else {
            return outgoing;
        };
        let next = world.triggers.iter().find(|trigger| {
            trigger.active
                && !fired.contains(&trigger.id)
                && conditions_hold(world, &ticket, &context, &trigger.conditions)
        });
        let Some(trigger) = next else {
            return outgoing;
        };
        fired.insert(trigger.id);
        tracing::debug!(trigger = %trigger.title, ticket_id, "trigger fired");
        let actions = trigger.actions.as_array().cloned().unwrap_or_default();
        for action in actions {
            match action["field"].as_str().unwrap_or_default() {
                "assignee_id" => {
                    let assignee = match value_text(&action["value"]).as_str() {
                        "current_user" => Some(context.current_user),
                        other => other.parse().ok(),
                    };
                    if let Some(entry) = world.tickets.get_mut(&ticket_id) {
                        entry.view.assignee_id = assignee;
                        if entry.view.status == "new" {
                            entry.view.status = "open".into();
                        }
                    }
                }
                "notification_webhook" => {
                    let webhook_id = value_text(&action["value"][0]);
                    let template = value_text(&action["value"][1]);
                    let ticket = world.ticket_view(ticket_id).expect("ticket exists");
                    let body = render(world, &ticket, context.current_user, &template);
                    if let Some(delivery) = signed_delivery(world, &webhook_id, body) {
                        world.deliveries.push(delivery);
                        outgoing.push(Outgoing(world.deliveries.len() - 1));
                    }
                }
                _ => {}
            }
        }
    }
}

/// A fresh invocation id, digits like Zendesk's: never the same twice in a process.
fn invocation_id() -> String {
    use rand::Rng;
    use std::sync::OnceLock;
    use std::sync::atomic::AtomicU64;
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| rand::rng().random_range(1_000_000_000..5_000_000_000));
    (base + NEXT.fetch_add(1, Ordering::SeqCst)).to_string()
}

fn signed_delivery(world: &World, webhook_id: &str, body: String) -> Option<Delivery> {
    let webhook = world.webhooks.get(webhook_id)?;
    let timestamp = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("zero is valid")
        .format(&Rfc3339)
        .expect("formats");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(webhook.signing_secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(body.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let mut headers = vec![
        (
            "content-type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        ),
        ("user-agent".to_owned(), "Zendesk Webhook".to_owned()),
        ("x-zendesk-account-id".to_owned(), "9000001".to_owned()),
        ("x-zendesk-webhook-id".to_owned(), webhook.id.clone()),
        // One id per invocation; Zendesk's retries of it (and `Sandbox::redeliver`) send the
        // same headers again.
        (
            "x-zendesk-webhook-invocation-id".to_owned(),
            invocation_id(),
        ),
        (
            "x-zendesk-webhook-signature-timestamp".to_owned(),
            timestamp,
        ),
        ("x-zendesk-webhook-signature".to_owned(), signature),
    ];
    if let Some(token) = &webhook.bearer_token {
        headers.push(("authorization".to_owned(), format!("Bearer {token}")));
    }
    Some(Delivery {
        webhook_id: webhook.id.clone(),
        endpoint: webhook.endpoint.clone(),
        headers,
        body,
        status: None,
    })
}

/// Sends deliveries in the background, as Zendesk does after the update is saved.
pub(crate) fn dispatch(shared: &Arc<Shared>, outgoing: Vec<Outgoing>) {
    for Outgoing(index) in outgoing {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        let shared = shared.clone();
        tokio::spawn(async move {
            let delivery = shared.world().deliveries[index].clone();
            let status = send(&shared, &delivery).await;
            shared.world().deliveries[index].status = Some(status);
            if shared.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
                shared.idle.notify_waiters();
            }
        });
    }
}

/// Sends one delivery; like Zendesk, retries a few times on 409, 429, 503 and no answer.
/// Returns the last status (0 when the endpoint never answered).
pub(crate) async fn send(shared: &Shared, delivery: &Delivery) -> u16 {
    let mut status = 0;
    for attempt in 0..4 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut request = shared
            .http
            .post(&delivery.endpoint)
            .body(delivery.body.clone());
        for (name, value) in &delivery.headers {
            request = request.header(name, value);
        }
        status = match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        if !matches!(status, 0 | 409 | 429 | 503) {
            break;
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Role;

    #[test]
    fn placeholders_render_as_zendesk_renders_them_unescaped() {
        let mut world = World::new("http://x");
        let customer = world.add_user("Ana \"A\" Li", "ana@example.com", Role::EndUser);
        let comment = world.new_comment(customer, Some("hi"), None, true);
        let (ticket, _) =
            world.create_ticket(customer, customer, None, "Hi", comment, "email", None);
        let view = world.ticket_view(ticket).unwrap();
        let body = render(
            &world,
            &view,
            customer,
            r#"{"ticket_id":"{{ticket.id}}","x":"{{nope}}"}"#,
        );
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["ticket_id"], ticket.to_string());
        assert_eq!(parsed["x"], "");
        let named = render(
            &world,
            &view,
            customer,
            r#"{"name":"{{ticket.requester.name}}"}"#,
        );
        assert_eq!(named, r#"{"name":"Ana "A" Li"}"#);
        assert!(
            serde_json::from_str::<Value>(&named).is_err(),
            "a quote in a name breaks the JSON, as in Zendesk"
        );
    }

    #[test]
    fn each_invocation_has_its_own_id() {
        let mut world = World::new("http://x");
        let customer = world.add_user("Ana", "ana@example.com", Role::EndUser);
        let created_at = world.stamp();
        world.webhooks.insert(
            "01W".into(),
            crate::world::Webhook {
                id: "01W".into(),
                name: "hook".into(),
                endpoint: "http://127.0.0.1:9/hook".into(),
                bearer_token: None,
                signing_secret: "secret".into(),
                created_at,
            },
        );
        world.triggers.push(crate::world::Trigger {
            id: 1,
            title: "notify".into(),
            active: true,
            conditions: serde_json::json!({"all": [{"field": "update_type", "operator": "is", "value": "Change"}], "any": []}),
            actions: serde_json::json!([{"field": "notification_webhook", "value": ["01W", "{\"ticket_id\":\"{{ticket.id}}\"}"]}]),
        });
        let (ticket, _) = world.customer_emails(customer, None, "Hi", "Hello");
        world.comment(customer, ticket, "Thanks!", true);
        world.comment(customer, ticket, "Thanks!", true);
        let ids: Vec<String> = world
            .deliveries
            .iter()
            .map(|d| {
                d.headers
                    .iter()
                    .find(|(name, _)| name == "x-zendesk-webhook-invocation-id")
                    .map(|(_, id)| id.clone())
                    .expect("every request carries its invocation id")
            })
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(world.deliveries[0].body, world.deliveries[1].body);
        assert_ne!(ids[0], ids[1], "same body, two invocations");
        assert!(ids.iter().all(|id| id.bytes().all(|b| b.is_ascii_digit())));
    }
}
