//! The Conversations API endpoints (`/sc/v2/apps/{appId}/...`), with its error shape and
//! basic auth by the app's key id and secret.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::Shared;
use crate::messaging::{ApiError, Messaging};
use crate::triggers;

type Answer = Result<(StatusCode, axum::Json<Value>), Refusal>;

/// An error answer in the Conversations API's shape.
pub(crate) struct Refusal(StatusCode, Value);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

fn error(status: StatusCode, code: &str, title: &str) -> Refusal {
    Refusal(status, json!({"errors": [{"code": code, "title": title}]}))
}

fn ok(value: Value) -> Answer {
    Ok((StatusCode::OK, axum::Json(value)))
}

fn created(value: Value) -> Answer {
    Ok((StatusCode::CREATED, axum::Json(value)))
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
        error(status, e.code, &e.title)
    }
}

async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let authorized = {
        let world = shared.world();
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| STANDARD.decode(v.trim()).ok())
            .and_then(|v| String::from_utf8(v).ok());
        world
            .messaging
            .as_ref()
            .is_some_and(|m| presented == Some(format!("{}:{}", m.key_id, m.key_secret)))
    };
    if !authorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authorization is required",
        )
        .into_response();
    }
    next.run(request).await
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/sc/v2/apps/{app}/users", post(create_user))
        .route("/sc/v2/apps/{app}/users/{user}", get(get_user))
        .route(
            "/sc/v2/apps/{app}/conversations",
            get(list_conversations).post(create_conversation),
        )
        .route("/sc/v2/apps/{app}/conversations/{id}", get(conversation))
        .route(
            "/sc/v2/apps/{app}/conversations/{id}/messages",
            get(messages).post(post_message),
        )
        .route(
            "/sc/v2/apps/{app}/conversations/{id}/activity",
            post(activity),
        )
        .route(
            "/sc/v2/apps/{app}/conversations/{id}/passControl",
            post(pass_control),
        )
        .route(
            "/sc/v2/apps/{app}/conversations/{id}/releaseControl",
            post(release_control),
        )
        .route("/sc/v2/apps/{app}/integrations", get(integrations))
        .route(
            "/sc/v2/apps/{app}/integrations/{id}",
            axum::routing::patch(update_integration),
        )
        .route("/sc/v2/apps/{app}/switchboards", get(switchboards))
        .route(
            "/sc/v2/apps/{app}/switchboards/{id}",
            axum::routing::patch(update_switchboard),
        )
        .route(
            "/sc/v2/apps/{app}/switchboards/{id}/switchboardIntegrations",
            get(switchboard_integrations).post(create_switchboard_integration),
        )
        .route(
            "/sc/v2/apps/{app}/switchboards/{id}/switchboardIntegrations/{member}",
            axum::routing::patch(update_switchboard_integration),
        )
        .route("/sc/attachments/{token}/{name}", get(attachment))
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared)
}

/// Checks the app id and that the conversation exists.
fn known(
    messaging: Option<&Messaging>,
    app: &str,
    conversation: Option<&str>,
) -> Result<(), Refusal> {
    let Some(messaging) = messaging.filter(|m| m.app_id == app) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "app_not_found",
            "App not found",
        ));
    };
    match conversation {
        Some(id) if !messaging.conversations.contains_key(id) => Err(error(
            StatusCode::NOT_FOUND,
            "conversation_not_found",
            "Conversation not found",
        )),
        _ => Ok(()),
    }
}

async fn create_user(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let user = world.create_messaging_user(&body)?;
    created(json!({"user": user}))
}

async fn get_user(
    State(shared): State<Arc<Shared>>,
    Path((app, user)): Path<(String, String)>,
) -> Answer {
    let world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let messaging = world.messaging.as_ref().expect("known");
    let user = messaging
        .find_user(&user)
        .and_then(|id| messaging.user_json(&id, true))
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "user_not_found", "User not found"))?;
    ok(json!({"user": user}))
}

async fn create_conversation(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let (conversation, outgoing) = {
        let mut world = shared.world();
        known(world.messaging.as_ref(), &app, None)?;
        world.create_api_conversation(&body)?
    };
    triggers::dispatch(&shared, outgoing);
    created(json!({"conversation": conversation}))
}

fn invalid_page() -> Refusal {
    error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "Invalid page query parameters",
    )
}

/// List Conversations of one user (`filter[userId]` or `filter[userExternalId]`), oldest
/// first, in cursor pages: `page[size]` (25 by default, at most 100) after `page[after]` or
/// before `page[before]` (conversation ids).
async fn list_conversations(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Answer {
    let world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let messaging = world.messaging.as_ref().expect("known");
    let (filter, reference) = match (
        query.get("filter[userId]"),
        query.get("filter[userExternalId]"),
    ) {
        (Some(id), None) => ("userId", id),
        (None, Some(external)) => ("userExternalId", external),
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "One of filter[userId] or filter[userExternalId] is required, but not both",
            ));
        }
    };
    let user = match filter {
        "userId" => messaging
            .users
            .contains_key(reference)
            .then(|| reference.clone()),
        _ => messaging.external_ids.get(reference).cloned(),
    }
    .ok_or_else(|| error(StatusCode::NOT_FOUND, "user_not_found", "User not found"))?;
    let size: usize = match query.get("page[size]") {
        None => 25,
        Some(size) => size
            .parse()
            .ok()
            .filter(|size| (1..=100).contains(size))
            .ok_or_else(invalid_page)?,
    };
    let all = world.conversations_of_user(&user);
    let position = |cursor: &String| {
        all.iter()
            .position(|id| id == cursor)
            .ok_or_else(invalid_page)
    };
    let (start, end) = match (query.get("page[after]"), query.get("page[before]")) {
        (Some(_), Some(_)) => return Err(invalid_page()),
        (Some(after), None) => {
            let start = position(after)? + 1;
            (start, (start + size).min(all.len()))
        }
        (None, Some(before)) => {
            let end = position(before)?;
            (end.saturating_sub(size), end)
        }
        (None, None) => (0, size.min(all.len())),
    };
    let page = &all[start..end];
    let backwards = query.contains_key("page[before]");
    let more_after = end < all.len();
    let more_before = start > 0;
    let mut meta = json!({"hasMore": if backwards { more_before } else { more_after }});
    let mut links = json!({});
    let base = format!(
        "{}/sc/v2/apps/{app}/conversations?filter[{filter}]={}&page[size]={size}",
        world.base_url,
        crate::messaging::encode_segment(reference)
    );
    if let (true, Some(last)) = (more_after, page.last()) {
        meta["afterCursor"] = json!(last);
        links["next"] = json!(format!("{base}&page[after]={last}"));
    }
    if let (true, Some(first)) = (more_before, page.first()) {
        meta["beforeCursor"] = json!(first);
        links["prev"] = json!(format!("{base}&page[before]={first}"));
    }
    let conversations: Vec<Value> = page
        .iter()
        .map(|id| messaging.conversation_api_json(id))
        .collect();
    ok(json!({"conversations": conversations, "meta": meta, "links": links}))
}

/// A private attachment (a file sent from the Agent Workspace): its bytes, with the app's key.
async fn attachment(
    State(shared): State<Arc<Shared>>,
    Path((token, name)): Path<(String, String)>,
) -> Result<Response, Refusal> {
    let world = shared.world();
    let file = world
        .messaging
        .as_ref()
        .and_then(|m| m.attachments.get(&token))
        .filter(|file| file.file_name == name)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "not_found", "Resource not found"))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, file.media_type.clone())],
        file.bytes.clone(),
    )
        .into_response())
}

async fn conversation(
    State(shared): State<Arc<Shared>>,
    Path((app, id)): Path<(String, String)>,
) -> Answer {
    let world = shared.world();
    known(world.messaging.as_ref(), &app, Some(&id))?;
    let messaging = world.messaging.as_ref().expect("known");
    ok(json!({"conversation": messaging.conversation_api_json(&id)}))
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    Path((app, id)): Path<(String, String)>,
) -> Answer {
    let world = shared.world();
    known(world.messaging.as_ref(), &app, Some(&id))?;
    let messaging = world.messaging.as_ref().expect("known");
    let all = &messaging.conversations[&id].messages;
    // The most recent page, oldest first, as Zendesk pages backwards from now.
    let start = all.len().saturating_sub(100);
    let page: Vec<Value> = all[start..]
        .iter()
        .map(|m| messaging.message_json(m))
        .collect();
    ok(json!({"messages": page, "meta": {"hasMore": start > 0}, "links": {}}))
}

async fn post_message(
    State(shared): State<Arc<Shared>>,
    Path((app, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let (message, outgoing) = {
        let mut world = shared.world();
        known(world.messaging.as_ref(), &app, Some(&id))?;
        world.api_message(&id, &body)?
    };
    triggers::dispatch(&shared, outgoing);
    // One message a request, in the list the API answers.
    created(json!({"messages": [message]}))
}

async fn activity(
    State(shared): State<Arc<Shared>>,
    Path((app, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut world = shared.world();
    known(world.messaging.as_ref(), &app, Some(&id))?;
    if body["type"] != "typing:start"
        && body["type"] != "typing:stop"
        && body["type"] != "conversation:read"
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "type is not a known activity",
        ));
    }
    if body["type"] == "typing:start"
        && let Some(state) = world.messaging().conversations.get_mut(&id)
    {
        state.typing += 1;
    }
    ok(json!({}))
}

async fn pass_control(
    State(shared): State<Arc<Shared>>,
    Path((app, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let outgoing = {
        let mut world = shared.world();
        known(world.messaging.as_ref(), &app, Some(&id))?;
        let Some(target) = body["switchboardIntegration"].as_str() else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "switchboardIntegration is required",
            ));
        };
        world
            .pass_control(&id, target, body["metadata"].as_object().cloned(), None)
            .map_err(|code| {
                error(
                    StatusCode::NOT_FOUND,
                    code,
                    "Switchboard integration not found",
                )
            })?
    };
    triggers::dispatch(&shared, outgoing);
    ok(json!({}))
}

async fn release_control(
    State(shared): State<Arc<Shared>>,
    Path((app, id)): Path<(String, String)>,
    body: Option<axum::Json<Value>>,
) -> Answer {
    let outgoing = {
        let mut world = shared.world();
        known(world.messaging.as_ref(), &app, Some(&id))?;
        let metadata = body.and_then(|b| b.0["metadata"].as_object().cloned());
        world
            .release_control(&id, metadata)
            .map_err(|code| error(StatusCode::NOT_FOUND, code, "Conversation not found"))?
    };
    triggers::dispatch(&shared, outgoing);
    ok(json!({}))
}

async fn integrations(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Answer {
    let world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let messaging = world.messaging.as_ref().expect("known");
    let types: Option<Vec<&str>> = query.get("filter[types]").map(|t| t.split(',').collect());
    // Cursor pages as Zendesk serves them: 25 by default, `page[after]` an integration id.
    let size: usize = query
        .get("page[size]")
        .and_then(|size| size.parse().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let matching: Vec<&crate::messaging::Integration> = messaging
        .integrations
        .iter()
        .filter(|i| types.as_ref().is_none_or(|t| t.contains(&i.kind.as_str())))
        .collect();
    let start = match query.get("page[after]") {
        Some(after) => match matching.iter().position(|i| &i.id == after) {
            Some(position) => position + 1,
            None => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "Invalid page[after]",
                ));
            }
        },
        None => 0,
    };
    let page: Vec<&crate::messaging::Integration> =
        matching.iter().skip(start).take(size).copied().collect();
    let has_more = start + page.len() < matching.len();
    let list: Vec<Value> = page
        .iter()
        .map(|i| {
            let mut json = json!({"id": i.id, "type": i.kind, "status": "active", "displayName": i.display_name});
            if let Some(brand) = i.brand_id {
                json["brandId"] = json!(brand.to_string());
            }
            if let Some(responder) = i
                .default_responder
                .as_deref()
                .and_then(|id| messaging.switchboard_integration(id))
            {
                json["defaultResponder"] = json!({"name": responder.name, "integrationId": responder.integration_id, "integrationType": responder.integration_type});
            }
            json
        })
        .collect();
    let mut links = json!({});
    if let (true, Some(last)) = (has_more, page.last()) {
        let mut next = format!(
            "{}/sc/v2/apps/{app}/integrations?page[after]={}&page[size]={size}",
            world.base_url, last.id
        );
        if let Some(types) = query.get("filter[types]") {
            next.push_str(&format!("&filter[types]={types}"));
        }
        links["next"] = json!(next);
    }
    ok(json!({"integrations": list, "meta": {"hasMore": has_more}, "links": links}))
}

/// Update Integration: only `defaultResponderId` (a switchboard integration id, or `null` for
/// the app's default) is supported here.
async fn update_integration(
    State(shared): State<Arc<Shared>>,
    Path((app, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let messaging = world.messaging.as_mut().expect("known");
    let responder = match &body["defaultResponderId"] {
        Value::Null => None,
        Value::String(member) if messaging.switchboard_integration(member).is_some() => {
            Some(member.clone())
        }
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "defaultResponderId must be a switchboard integration id or null",
            ));
        }
    };
    let Some(integration) = messaging.integrations.iter_mut().find(|i| i.id == id) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Integration not found",
        ));
    };
    integration.default_responder = responder;
    let answer = json!({"integration": {"id": integration.id, "type": integration.kind, "status": "active", "displayName": integration.display_name}});
    ok(answer)
}

async fn switchboards(State(shared): State<Arc<Shared>>, Path(app): Path<String>) -> Answer {
    let world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let messaging = world.messaging.as_ref().expect("known");
    ok(json!({"switchboards": [switchboard_json(messaging)]}))
}

fn switchboard_json(messaging: &Messaging) -> Value {
    json!({
        "id": messaging.switchboard_id,
        "enabled": true,
        "defaultSwitchboardIntegrationId": messaging.default_integration,
    })
}

async fn switchboard_integrations(
    State(shared): State<Arc<Shared>>,
    Path((app, _switchboard)): Path<(String, String)>,
) -> Answer {
    let world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let messaging = world.messaging.as_ref().expect("known");
    let list: Vec<Value> = messaging
        .switchboard_integrations
        .iter()
        .map(member_json)
        .collect();
    ok(json!({"switchboardIntegrations": list}))
}

async fn update_switchboard(
    State(shared): State<Arc<Shared>>,
    Path((app, _switchboard)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let messaging = world.messaging();
    if let Some(default) = body["defaultSwitchboardIntegrationId"].as_str() {
        if !messaging
            .switchboard_integrations
            .iter()
            .any(|s| s.id == default)
        {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "defaultSwitchboardIntegrationId is not on the switchboard",
            ));
        }
        messaging.default_integration = Some(default.to_owned());
    }
    ok(json!({"switchboard": switchboard_json(messaging)}))
}

fn member_json(s: &crate::messaging::SwitchboardIntegration) -> Value {
    let mut json = Messaging::switchboard_integration_json(s);
    json["deliverStandbyEvents"] = json!(s.deliver_standby_events);
    if let Some(next) = &s.next {
        json["nextSwitchboardIntegrationId"] = json!(next);
    }
    json
}

async fn create_switchboard_integration(
    State(shared): State<Arc<Shared>>,
    Path((app, _switchboard)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let (Some(name), Some(integration)) = (body["name"].as_str(), body["integrationId"].as_str())
    else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "name and integrationId are required",
        ));
    };
    let messaging = world.messaging();
    if messaging
        .switchboard_integrations
        .iter()
        .any(|s| s.name == name)
    {
        return Err(error(
            StatusCode::CONFLICT,
            "conflict",
            "A switchboard integration with this name already exists",
        ));
    }
    let member = crate::messaging::SwitchboardIntegration {
        id: crate::messaging::object_id(),
        name: name.to_owned(),
        integration_id: integration.to_owned(),
        integration_type: "custom".into(),
        deliver_standby_events: body["deliverStandbyEvents"].as_bool().unwrap_or(true),
        next: body["nextSwitchboardIntegrationId"]
            .as_str()
            .map(str::to_owned),
    };
    let json = member_json(&member);
    messaging.switchboard_integrations.push(member);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"switchboardIntegration": json})),
    ))
}

async fn update_switchboard_integration(
    State(shared): State<Arc<Shared>>,
    Path((app, _switchboard, member)): Path<(String, String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut world = shared.world();
    known(world.messaging.as_ref(), &app, None)?;
    let messaging = world.messaging();
    let Some(entry) = messaging
        .switchboard_integrations
        .iter_mut()
        .find(|s| s.id == member)
    else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "switchboard_integration_not_found",
            "Switchboard integration not found",
        ));
    };
    if let Some(next) = body.get("nextSwitchboardIntegrationId") {
        entry.next = next.as_str().map(str::to_owned);
    }
    if let Some(standby) = body["deliverStandbyEvents"].as_bool() {
        entry.deliver_standby_events = standby;
    }
    ok(json!({"switchboardIntegration": member_json(entry)}))
}
