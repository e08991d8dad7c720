//! What Deskmate asks an operator to create in Zendesk for the email path, as data: the
//! trigger payload template and the two triggers. Also used to create them through the API.

use secrecy::SecretString;
use serde_json::{Value, json};

use super::{SupportClient, ZendeskError};
use crate::domain::CREATED_TAG;
use crate::domain::{StoreConfig, TicketEvent};

/// The JSON body both triggers send (only `event` differs). Zendesk renders every
/// placeholder as a string, and pastes it into the body as it is, without JSON escaping: a
/// requester named `Ana "the best" O'Neil` would break the JSON. So the body holds only
/// placeholders that render as ids and timestamps, and only what Deskmate reads: the ticket,
/// its brand (a store answers its own brand), who made the update (the bot's own updates are
/// ignored) and when (`updated_at` keeps two deliveries' bodies apart, which de-duplication
/// relies on when a delivery comes without Zendesk's invocation id). The worker reads
/// everything else from the ticket itself.
pub fn trigger_payload_template(event: TicketEvent) -> Value {
    let event = match event {
        TicketEvent::TicketCreated => "ticket_created",
        TicketEvent::CommentAdded => "comment_added",
    };
    json!({
        "event": event,
        "ticket_id": "{{ticket.id}}",
        "brand_id": "{{ticket.brand.id}}",
        "current_user_id": "{{current_user.id}}",
        "updated_at": "{{ticket.updated_at_with_timestamp}}"
    })
}

/// The placeholders the payload template may use: each renders as digits or an ISO 8601
/// timestamp, never as text someone typed.
pub const JSON_SAFE_PLACEHOLDERS: [&str; 4] = [
    "{{ticket.id}}",
    "{{ticket.brand.id}}",
    "{{current_user.id}}",
    "{{ticket.updated_at_with_timestamp}}",
];

fn condition(field: &str, value: impl Into<Value>) -> Value {
    json!({"field": field, "operator": "is", "value": value.into()})
}

fn notify(webhook_id: &str, event: TicketEvent) -> Value {
    let body = serde_json::to_string_pretty(&trigger_payload_template(event)).expect("serialises");
    json!({"field": "notification_webhook", "value": [webhook_id, body]})
}

/// Trigger 1 (a new ticket Deskmate did not create itself: assign it to the bot, notify) and trigger 2 (a customer's public
/// reply on a bot ticket: notify). `Ticket is Updated` on trigger 2 keeps a new ticket from
/// being announced twice; `Brand is` keeps each store to its own brand.
pub fn email_triggers(store: &StoreConfig, webhook_id: &str) -> [Value; 2] {
    let bot = store.bot_user_id.to_string();
    let brand: Vec<Value> = store
        .brand_id
        .map(|brand| condition("brand_id", brand.to_string()))
        .into_iter()
        .collect();
    // Tickets the create-ticket tool made carry this tag: the bot does not answer its own.
    let mut created = vec![
        condition("update_type", "Create"),
        json!({"field": "current_tags", "operator": "not_includes", "value": CREATED_TAG}),
    ];
    created.extend(brand.clone());
    let mut replied = vec![
        condition("update_type", "Change"),
        condition("assignee_id", bot.clone()),
        condition("role", "end_user"),
        condition("comment_is_public", "requester_can_see_comment"),
    ];
    replied.extend(brand);
    [
        json!({
            "title": format!("Deskmate ({}): assign and notify on new ticket", store.id),
            // Setup run again turns a trigger someone deactivated back on.
            "active": true,
            "conditions": {"all": created, "any": []},
            "actions": [
                {"field": "assignee_id", "value": bot},
                notify(webhook_id, TicketEvent::TicketCreated),
            ],
        }),
        json!({
            "title": format!("Deskmate ({}): notify on customer reply", store.id),
            "active": true,
            "conditions": {"all": replied, "any": []},
            "actions": [notify(webhook_id, TicketEvent::CommentAdded)],
        }),
    ]
}

/// What `install_email_path` left in Zendesk.
pub struct EmailPathInstalled {
    pub webhook_id: String,
    pub trigger_ids: Vec<u64>,
    pub signing_secret: SecretString,
}

/// Creates or updates (by name) the store's webhook and both triggers, so running it again
/// leaves one webhook and two triggers; returns them with the webhook's signing secret.
pub async fn install_email_path(
    client: &SupportClient,
    store: &StoreConfig,
    webhook_url: &str,
    bearer_token: &SecretString,
) -> Result<EmailPathInstalled, ZendeskError> {
    let webhook_id = client
        .upsert_webhook(
            &format!("Deskmate events ({})", store.id),
            webhook_url,
            bearer_token,
        )
        .await?;
    let mut trigger_ids = Vec::new();
    for trigger in email_triggers(store, &webhook_id) {
        trigger_ids.push(client.upsert_trigger(&trigger).await?);
    }
    Ok(EmailPathInstalled {
        signing_secret: client.webhook_signing_secret(&webhook_id).await?,
        webhook_id,
        trigger_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_holds_only_placeholders_that_cannot_break_its_json() {
        for event in [TicketEvent::TicketCreated, TicketEvent::CommentAdded] {
            let body = serde_json::to_string(&trigger_payload_template(event)).unwrap();
            let mut rest = body.as_str();
            let mut found = 0;
            while let Some(start) = rest.find("{{") {
                let end = start + rest[start..].find("}}").expect("closed") + 2;
                let placeholder = &rest[start..end];
                assert!(
                    JSON_SAFE_PLACEHOLDERS.contains(&placeholder),
                    "{placeholder} may render as free text"
                );
                found += 1;
                rest = &rest[end..];
            }
            assert_eq!(found, JSON_SAFE_PLACEHOLDERS.len());
        }
    }
}
