//! The Support API endpoints, with Zendesk's shapes, errors, authentication and faults.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::Shared;
use crate::triggers;
use crate::world::{Trigger, Webhook, World, random_hex};

type ApiResult = Result<(StatusCode, axum::Json<Value>), ApiError>;

pub(crate) struct ApiError(StatusCode, Value);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

fn not_found() -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        json!({"error": "RecordNotFound", "description": "Not found"}),
    )
}

fn invalid(description: &str) -> ApiError {
    ApiError(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"error": "RecordInvalid", "description": description}),
    )
}

fn ok(value: Value) -> ApiResult {
    Ok((StatusCode::OK, axum::Json(value)))
}

fn created(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, axum::Json(value)))
}

/// The user an API request acts as: `{email}/token:{token}` basic auth.
#[derive(Clone, Copy)]
struct CurrentUser(u64);

fn authenticate(world: &World, headers: &HeaderMap) -> Option<u64> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (email, token) = decoded.split_once("/token:")?;
    if !world.api_tokens.iter().any(|known| known == token) {
        return None;
    }
    world
        .users
        .values()
        .find(|user| user.email.eq_ignore_ascii_case(email))
        .map(|user| user.id)
}

/// Authenticates the request; injected faults were served before this (see `faults`).
async fn gate(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let user = authenticate(&shared.world(), request.headers());
    let Some(user) = user else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "Couldn't authenticate you"})),
        )
            .into_response();
    };
    request.extensions_mut().insert(CurrentUser(user));
    next.run(request).await
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // Zendesk serves every path with or without `.json`; the paths that end in an id strip it
    // from the id (`id_path`), the others are routed both ways.
    let literal: [(&str, MethodRouter<Arc<Shared>>); 6] = [
        ("/api/v2/users/me", get(me)),
        ("/api/v2/tickets", post(create_ticket)),
        ("/api/v2/tickets/{id}/comments", get(comments)),
        ("/api/v2/search", get(search)),
        ("/api/v2/webhooks", get(list_webhooks).post(create_webhook)),
        ("/api/v2/triggers", get(list_triggers).post(create_trigger)),
    ];
    let mut router = Router::new();
    for (path, method) in literal {
        router = router
            .route(path, method.clone())
            .route(&format!("{path}.json"), method);
    }
    router
        .route("/api/v2/users/{id}", get(user))
        .route("/api/v2/brands/{id}", get(brand))
        .route("/api/v2/tickets/{id}", get(ticket).put(update_ticket))
        .route("/api/v2/webhooks/{id}", put(update_webhook))
        .route("/api/v2/webhooks/{id}/signing_secret", get(signing_secret))
        .route("/api/v2/triggers/{id}", put(update_trigger))
        .route(
            "/api/v2/help_center/{locale}/articles",
            get(crate::help_center::list_articles),
        )
        .route(
            "/api/v2/help_center/{locale}/articles.json",
            get(crate::help_center::list_articles),
        )
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

fn id_path(raw: &str) -> Result<u64, ApiError> {
    raw.trim_end_matches(".json")
        .parse()
        .map_err(|_| not_found())
}

async fn me(
    State(shared): State<Arc<Shared>>,
    axum::Extension(CurrentUser(id)): axum::Extension<CurrentUser>,
) -> ApiResult {
    let world = shared.world();
    let user = world.users.get(&id).ok_or_else(not_found)?;
    ok(json!({"user": World::user_json(user, &world.base_url)}))
}

async fn user(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let world = shared.world();
    let user = world.users.get(&id_path(&id)?).ok_or_else(not_found)?;
    ok(json!({"user": World::user_json(user, &world.base_url)}))
}

async fn brand(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let world = shared.world();
    let brand = world.brand_json(id_path(&id)?).ok_or_else(not_found)?;
    ok(json!({ "brand": brand }))
}

async fn ticket(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let world = shared.world();
    let ticket = world.ticket_view(id_path(&id)?).ok_or_else(not_found)?;
    ok(json!({"ticket": world.ticket_json(&ticket)}))
}

async fn comments(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let world = shared.world();
    let id = id_path(&id)?;
    let ticket = world.tickets.get(&id).ok_or_else(not_found)?;
    let mut comments: Vec<Value> = ticket.comments.iter().map(World::comment_json).collect();
    if query.get("sort_order").is_some_and(|order| order == "desc") {
        comments.reverse();
    }
    let mut body = json!({
        "comments": comments,
        "next_page": null,
        "previous_page": null,
        "count": ticket.comments.len(),
    });
    if query
        .get("include")
        .is_some_and(|include| include.split(',').any(|i| i == "users"))
    {
        let mut authors: Vec<u64> = ticket.comments.iter().map(|c| c.author_id).collect();
        authors.sort_unstable();
        authors.dedup();
        body["users"] = authors
            .iter()
            .filter_map(|id| world.users.get(id))
            .map(|user| World::user_json(user, &world.base_url))
            .collect();
    }
    ok(body)
}

/// The comment of a create or update body, as (body, html_body, public, author).
fn comment_fields(
    comment: &Value,
    current_user: u64,
) -> Result<(Option<String>, Option<String>, bool, u64), ApiError> {
    let body = comment["body"].as_str().map(str::to_owned);
    let html_body = comment["html_body"].as_str().map(str::to_owned);
    if body.as_deref().unwrap_or_default().trim().is_empty()
        && html_body.as_deref().unwrap_or_default().trim().is_empty()
    {
        return Err(invalid("Comment: body cannot be blank"));
    }
    let public = comment["public"].as_bool().unwrap_or(true);
    let author = comment["author_id"].as_u64().unwrap_or(current_user);
    Ok((body, html_body, public, author))
}

/// How long the sandbox remembers an `Idempotency-Key`, as Zendesk does (two hours).
const IDEMPOTENCY_WINDOW_SECS: i64 = 2 * 3600;

/// The requester of a create body: `requester_id`, or `requester` {email, name} (the user with
/// that email, else a new end user), else the caller.
fn requester_of(world: &mut World, ticket: &Value, actor: u64) -> Result<u64, ApiError> {
    if let Some(id) = ticket["requester_id"].as_u64() {
        return Ok(id);
    }
    let requester = &ticket["requester"];
    if requester.is_null() {
        return Ok(actor);
    }
    let Some(email) = requester["email"].as_str().filter(|e| e.contains('@')) else {
        return Err(invalid("Requester: email is invalid"));
    };
    if let Some(user) = world
        .users
        .values()
        .find(|user| user.email.eq_ignore_ascii_case(email))
    {
        return Ok(user.id);
    }
    let name = requester["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email))
        .to_owned();
    Ok(world.add_user(&name, email, crate::world::Role::EndUser))
}

/// Creates a ticket. With an `Idempotency-Key` header, like Zendesk: the same key and body
/// within two hours answer the ticket the first request created (`x-idempotency-lookup: hit`)
/// without creating another; the same key with another body is refused with 400.
async fn create_ticket(
    State(shared): State<Arc<Shared>>,
    axum::Extension(CurrentUser(actor)): axum::Extension<CurrentUser>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let ticket = &body["ticket"];
    let (text, html, public, author) = comment_fields(&ticket["comment"], actor)?;
    let (json, outgoing, lookup) = {
        let mut world = shared.world();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        world.idempotency.retain(|_, seen| seen.expires_at > now);
        if let Some(key) = &key
            && let Some(seen) = world.idempotency.get(key)
        {
            if seen.body != body {
                return Err(ApiError(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "IdempotentRequestError", "description": "The request parameters do not match the original request for this Idempotency-Key"}),
                ));
            }
            let view = world.ticket_view(seen.ticket_id).ok_or_else(not_found)?;
            (world.ticket_json(&view), Vec::new(), Some("hit"))
        } else {
            let requester = requester_of(&mut world, ticket, actor)?;
            let comment = world.new_comment(author, text.as_deref(), html.as_deref(), public);
            let subject = ticket["subject"].as_str().unwrap_or_default().to_owned();
            let brand = ticket["brand_id"].as_u64();
            let assignee = ticket["assignee_id"].as_u64();
            let mut tags: Vec<String> = Vec::new();
            for tag in ticket["tags"].as_array().into_iter().flatten() {
                if let Some(tag) = tag.as_str()
                    && !tags.iter().any(|t| t == tag)
                {
                    tags.push(tag.to_owned());
                }
            }
            let priority = match ticket["priority"].as_str() {
                None => None,
                Some(p @ ("low" | "normal" | "high" | "urgent")) => Some(p.to_owned()),
                Some(_) => return Err(invalid("Priority: is not valid")),
            };
            let extras = crate::world::TicketExtras {
                tags,
                priority,
                group_id: ticket["group_id"].as_u64(),
            };
            let (id, outgoing) = world.create_ticket_with(
                actor, requester, brand, &subject, comment, "api", assignee, extras,
            );
            if let Some(key) = &key {
                world.idempotency.insert(
                    key.clone(),
                    crate::world::IdempotentCreation {
                        body: body.clone(),
                        ticket_id: id,
                        expires_at: now + IDEMPOTENCY_WINDOW_SECS,
                    },
                );
            }
            let view = world.ticket_view(id).expect("just created");
            (
                world.ticket_json(&view),
                outgoing,
                key.as_ref().map(|_| "miss"),
            )
        }
    };
    triggers::dispatch(&shared, outgoing);
    let mut response = (StatusCode::CREATED, axum::Json(json!({"ticket": json}))).into_response();
    if let Some(lookup) = lookup {
        response.headers_mut().insert(
            "x-idempotency-lookup",
            axum::http::HeaderValue::from_static(lookup),
        );
    }
    Ok(response)
}

async fn update_ticket(
    State(shared): State<Arc<Shared>>,
    axum::Extension(CurrentUser(actor)): axum::Extension<CurrentUser>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> ApiResult {
    let id = id_path(&id)?;
    let update = body["ticket"].clone();
    if !update.is_object() {
        return Err(invalid("the body must hold a ticket object"));
    }
    let comment = match update.get("comment") {
        Some(comment) if !comment.is_null() => Some(comment_fields(comment, actor)?),
        _ => None,
    };
    let (ticket, audit, outgoing) = {
        let mut world = shared.world();
        let current = world.ticket_view(id).ok_or_else(not_found)?;
        if update["safe_update"].as_bool() == Some(true)
            && update["updated_stamp"].as_str() != Some(current.updated_at.as_str())
        {
            return Err(ApiError(
                StatusCode::CONFLICT,
                json!({"error": "UpdateConflict", "description": "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again."}),
            ));
        }
        let audit_id = world.next_id();
        let mut events = Vec::new();
        let outgoing = world.change_ticket(actor, id, |world, entry| {
            if let Some((text, html, public, author)) = comment {
                let comment = world.new_comment(author, text.as_deref(), html.as_deref(), public);
                events.push(json!({"id": comment.id, "type": "Comment", "author_id": author, "public": public, "body": comment.body}));
                entry.comments.push(comment);
            }
            if let Some(assignee) = update.get("assignee_id") {
                entry.view.assignee_id = assignee.as_u64();
                events.push(json!({"type": "Change", "field_name": "assignee_id", "value": assignee}));
            }
            if let Some(group) = update["group_id"].as_u64() {
                entry.view.group_id = Some(group);
            }
            if let Some(status) = update["status"].as_str() {
                entry.view.status = status.to_owned();
            }
            if let Some(tags) = update["tags"].as_array() {
                entry.view.tags = tags.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect();
            }
            for tag in update["additional_tags"].as_array().into_iter().flatten() {
                if let Some(tag) = tag.as_str()
                    && !entry.view.tags.iter().any(|t| t == tag)
                {
                    entry.view.tags.push(tag.to_owned());
                }
            }
        });
        let view = world.ticket_view(id).expect("ticket exists");
        let audit = json!({"id": audit_id, "ticket_id": id, "author_id": actor, "created_at": view.updated_at, "events": events});
        (world.ticket_json(&view), audit, outgoing)
    };
    triggers::dispatch(&shared, outgoing);
    ok(json!({"ticket": ticket, "audit": audit}))
}

/// `type:ticket` searches by `tags:`, `status:` and `brand_id:`; other terms find nothing.
async fn search(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let world = shared.world();
    let terms: Vec<&str> = query
        .get("query")
        .map(|q| q.split_whitespace().collect())
        .unwrap_or_default();
    if !terms.contains(&"type:ticket") {
        return ok(json!({"results": [], "count": 0, "next_page": null, "previous_page": null}));
    }
    let results: Vec<Value> = world
        .tickets
        .values()
        .filter(|ticket| {
            terms
                .iter()
                .filter(|t| **t != "type:ticket")
                .all(|term| match term.split_once(':') {
                    Some(("tags", tag)) => ticket.view.tags.iter().any(|t| t == tag),
                    Some(("status", status)) => ticket.view.status == status,
                    Some(("brand_id", brand)) => {
                        ticket.view.brand_id.map(|b| b.to_string()).as_deref() == Some(brand)
                    }
                    _ => false,
                })
        })
        .map(|ticket| {
            let mut json = world.ticket_json(&ticket.view);
            json["result_type"] = json!("ticket");
            json
        })
        .collect();
    ok(
        json!({"count": results.len(), "results": results, "next_page": null, "previous_page": null}),
    )
}

fn webhook_json(webhook: &Webhook) -> Value {
    json!({
        "id": webhook.id,
        "name": webhook.name,
        "endpoint": webhook.endpoint,
        "http_method": "POST",
        "request_format": "json",
        "status": "active",
        "subscriptions": ["conditional_ticket_events"],
        "authentication": webhook.bearer_token.as_ref().map(|_| json!({"type": "bearer_token", "add_position": "header"})),
        "created_at": webhook.created_at,
    })
}

/// Zendesk's pages hold up to 100 records; the sandbox's hold at most this many, so a test
/// with a handful of webhooks or triggers already crosses pages.
pub(crate) const PAGE_CAP: usize = 5;

type QueryMap = std::collections::HashMap<String, String>;

fn page_size(query: &QueryMap, name: &str) -> Result<usize, ApiError> {
    match query.get(name) {
        None => Ok(PAGE_CAP),
        Some(size) => match size.parse::<usize>() {
            Ok(size) if size > 0 => Ok(size.min(PAGE_CAP)),
            _ => Err(bad_pagination(&format!(
                "{name} must be a positive integer"
            ))),
        },
    }
}

fn bad_pagination(detail: &str) -> ApiError {
    ApiError(
        StatusCode::BAD_REQUEST,
        json!({"errors": [{"code": "InvalidPaginationParameter", "title": "Invalid pagination parameter", "detail": detail}]}),
    )
}

fn record_id(record: &Value) -> String {
    record["id"]
        .as_str()
        .map_or_else(|| record["id"].to_string(), str::to_owned)
}

/// One page of `records` (in list order) with Zendesk's cursor pagination: `page[size]`,
/// `page[after]` or `page[before]` in; `meta.has_more`, `meta.after_cursor`,
/// `meta.before_cursor`, `links.next` and `links.prev` out. Cursors are record ids.
fn cursor_page(
    records: Vec<Value>,
    key: &str,
    query: &QueryMap,
    list_url: &str,
) -> Result<Value, ApiError> {
    let size = page_size(query, "page[size]")?;
    let position = |cursor: &String| {
        records
            .iter()
            .position(|r| record_id(r) == *cursor)
            .ok_or_else(|| bad_pagination("the cursor matches no record"))
    };
    let (start, end) = match (query.get("page[after]"), query.get("page[before]")) {
        (Some(_), Some(_)) => {
            return Err(bad_pagination(
                "only one of page[after] and page[before] may be given",
            ));
        }
        (Some(after), None) => {
            let start = position(after)? + 1;
            (start, (start + size).min(records.len()))
        }
        (None, Some(before)) => {
            let end = position(before)?;
            (end.saturating_sub(size), end)
        }
        (None, None) => (0, size.min(records.len())),
    };
    let page = &records[start..end];
    let after = page.last().map(record_id);
    let before = page.first().map(record_id);
    let has_more = end < records.len();
    let link = |name: &str, cursor: &Option<String>| match cursor {
        Some(cursor) => json!(format!(
            "{list_url}?page[size]={size}&page[{name}]={cursor}"
        )),
        None => Value::Null,
    };
    Ok(json!({
        key: page,
        "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
        "links": {
            "next": if has_more { link("after", &after) } else { Value::Null },
            "prev": if start > 0 { link("before", &before) } else { Value::Null },
        },
    }))
}

/// Webhooks list with cursor pagination, oldest first.
async fn list_webhooks(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<QueryMap>,
) -> ApiResult {
    let world = shared.world();
    let mut webhooks: Vec<&Webhook> = world.webhooks.values().collect();
    webhooks.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    let records = webhooks.into_iter().map(webhook_json).collect();
    let url = format!("{}/api/v2/webhooks", world.base_url);
    ok(cursor_page(records, "webhooks", &query, &url)?)
}

async fn create_webhook(
    State(shared): State<Arc<Shared>>,
    axum::Json(body): axum::Json<Value>,
) -> ApiResult {
    let spec = &body["webhook"];
    let (Some(name), Some(endpoint)) = (spec["name"].as_str(), spec["endpoint"].as_str()) else {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"code": "InvalidInput", "title": "name and endpoint are required"}]}),
        ));
    };
    let mut world = shared.world();
    let webhook = Webhook {
        id: format!("01{}", random_hex(12).to_uppercase()),
        name: name.to_owned(),
        endpoint: endpoint.to_owned(),
        bearer_token: spec["authentication"]["data"]["token"]
            .as_str()
            .map(str::to_owned),
        signing_secret: random_hex(24),
        created_at: world.stamp(),
    };
    let json = webhook_json(&webhook);
    world.webhooks.insert(webhook.id.clone(), webhook);
    created(json!({"webhook": json}))
}

/// Zendesk answers a webhook update with 204 and no body.
async fn update_webhook(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Result<StatusCode, ApiError> {
    let mut world = shared.world();
    let webhook = world.webhooks.get_mut(&id).ok_or_else(not_found)?;
    let spec = &body["webhook"];
    if let Some(name) = spec["name"].as_str() {
        webhook.name = name.to_owned();
    }
    if let Some(endpoint) = spec["endpoint"].as_str() {
        webhook.endpoint = endpoint.to_owned();
    }
    if let Some(token) = spec["authentication"]["data"]["token"].as_str() {
        webhook.bearer_token = Some(token.to_owned());
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn update_trigger(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> ApiResult {
    let id = id_path(&id)?;
    let mut world = shared.world();
    let position = world
        .triggers
        .iter()
        .position(|t| t.id == id)
        .ok_or_else(not_found)?;
    let spec = &body["trigger"];
    let trigger = &mut world.triggers[position];
    if let Some(title) = spec["title"].as_str() {
        trigger.title = title.to_owned();
    }
    if spec["conditions"].is_object() {
        trigger.conditions = spec["conditions"].clone();
    }
    if spec["actions"].is_array() {
        trigger.actions = spec["actions"].clone();
    }
    let json = trigger_json(&world.triggers[position], position + 1);
    ok(json!({"trigger": json}))
}

async fn signing_secret(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let world = shared.world();
    let webhook = world.webhooks.get(&id).ok_or_else(not_found)?;
    ok(json!({"signing_secret": {"algorithm": "SHA256", "secret": webhook.signing_secret}}))
}

fn trigger_json(trigger: &Trigger, position: usize) -> Value {
    json!({
        "id": trigger.id,
        "title": trigger.title,
        "active": trigger.active,
        "position": position,
        "conditions": trigger.conditions,
        "actions": trigger.actions,
    })
}

/// Triggers in position order, paginated as Zendesk does: by cursor when a `page[…]`
/// parameter is given, else by offset (`page`, `per_page`; `next_page`, `previous_page`,
/// `count`).
async fn list_triggers(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<QueryMap>,
) -> ApiResult {
    let world = shared.world();
    let triggers: Vec<Value> = world
        .triggers
        .iter()
        .enumerate()
        .map(|(i, t)| trigger_json(t, i + 1))
        .collect();
    let url = format!("{}/api/v2/triggers.json", world.base_url);
    if query.keys().any(|name| name.starts_with("page[")) {
        return ok(cursor_page(triggers, "triggers", &query, &url)?);
    }
    let per_page = page_size(&query, "per_page")?;
    let page = match query.get("page") {
        None => 1,
        Some(page) => page
            .parse::<usize>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad_pagination("page must be a positive integer"))?,
    };
    let count = triggers.len();
    let start = ((page - 1) * per_page).min(count);
    let end = (start + per_page).min(count);
    let page_url = |n: usize| json!(format!("{url}?page={n}&per_page={per_page}"));
    ok(json!({
        "triggers": triggers[start..end],
        "next_page": if end < count { page_url(page + 1) } else { Value::Null },
        "previous_page": if page > 1 { page_url(page - 1) } else { Value::Null },
        "count": count,
    }))
}

async fn create_trigger(
    State(shared): State<Arc<Shared>>,
    axum::Json(body): axum::Json<Value>,
) -> ApiResult {
    let spec = &body["trigger"];
    let Some(title) = spec["title"].as_str() else {
        return Err(invalid("Title: cannot be blank"));
    };
    if !spec["actions"].is_array() || !spec["conditions"].is_object() {
        return Err(invalid("Trigger needs conditions and actions"));
    }
    let mut world = shared.world();
    let trigger = Trigger {
        id: world.next_id(),
        title: title.to_owned(),
        active: spec["active"].as_bool().unwrap_or(true),
        conditions: spec["conditions"].clone(),
        actions: spec["actions"].clone(),
    };
    let json = trigger_json(&trigger, world.triggers.len() + 1);
    world.triggers.push(trigger);
    created(json!({"trigger": json}))
}
