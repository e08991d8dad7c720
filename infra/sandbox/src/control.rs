//! The control API: drive the sandbox over HTTP, as the [`Sandbox`](crate::Sandbox) handle does
//! in Rust. It lives under `/_sandbox/`, has no authentication (it is a local test tool), and
//! takes and answers JSON (request bodies are read as JSON whatever their content type).
//!
//! Account setup:
//!
//! | Route | Body | Answer |
//! |---|---|---|
//! | `GET /_sandbox` | | the API roots and this list of routes |
//! | `POST /_sandbox/users` | `{name, email, role}`, role `end_user`, `agent`, `light_agent` or `admin` | `{id}` |
//! | `POST /_sandbox/api_tokens` | | `{token}` (use with any user's email: `{email}/token:{token}`) |
//! | `POST /_sandbox/brands` | `{name}` | `{id}` |
//! | `POST /_sandbox/articles` | `{brand_id?, title, body, draft?, user_segment_id?}` | `{id}` |
//! | `GET /_sandbox/articles` | | every Help Center article |
//! | `PUT /_sandbox/articles/{id}` | `{title?, body?, draft?, user_segment_id?}` | the article |
//! | `POST /_sandbox/articles/{id}/unpublish` | | the article |
//!
//! People acting on tickets (each runs the triggers, which may call webhooks):
//!
//! | Route | Body | Answer |
//! |---|---|---|
//! | `POST /_sandbox/tickets` | `{requester_id, brand_id?, subject, body}`: a customer emails | `{id}` |
//! | `GET /_sandbox/tickets/{id}` | | the ticket with `comments` |
//! | `POST /_sandbox/tickets/{id}/comments` | `{author_id, body, public?}` (public by default) | the ticket |
//! | `POST /_sandbox/tickets/{id}/assign` | `{actor_id, assignee_id}` (`null` unassigns) | the ticket |
//! | `POST /_sandbox/tickets/{id}/solve` | `{agent_id}` | the ticket |
//!
//! Messaging (the Web Widget):
//!
//! | Route | Body | Answer |
//! |---|---|---|
//! | `POST /_sandbox/messaging` | | `{app_id, key_id, key_secret}` (turns messaging on) |
//! | `POST /_sandbox/widgets` | `{brand_id, name}` | `{integration_id}` |
//! | `POST /_sandbox/conversations_integrations` | `{name, target, triggers: [..]}` | `{integration_id, shared_secret}` |
//! | `POST /_sandbox/switchboard/default_responder` | `{integration_id, name}` | `{}` |
//! | `POST /_sandbox/conversations` | `{widget, name}`: a visitor opens the widget | `{id}` |
//! | `GET /_sandbox/conversations/{id}` | | `{id, user_id, widget, messages, in_control, ticket_id, typing_indicators, metadata}` |
//! | `POST /_sandbox/conversations/{id}/messages` | `{text}`: the visitor says | `{id}` |
//! | `POST /_sandbox/conversations/{id}/agent_messages` | `{name, text}`: a human answers in the Agent Workspace | `{id}` |
//! | `POST /_sandbox/conversations/{id}/agent_files` | `{name, file_name, media_type, content_base64, text?}`: a human sends a file from the Agent Workspace (a private attachment) | `{id}` |
//! | `POST /_sandbox/conversations/{id}/automation_messages` | `{text}`: a Zendesk bot or flow says | `{id}` |
//!
//! Faults, calls and deliveries:
//!
//! | Route | Body | Answer |
//! |---|---|---|
//! | `POST /_sandbox/faults` | a [`FaultRule`] | the rule |
//! | `GET /_sandbox/faults` | | the active rules, with what is left of `skip` and `times` |
//! | `DELETE /_sandbox/faults` | | 204; every rule is gone |
//! | `GET /_sandbox/calls` | | every API call served, in order, e.g. `["show_ticket", "post_message"]` |
//! | `GET /_sandbox/deliveries` | | the webhook deliveries: `{webhook_id, endpoint, headers, body, status}` |
//! | `POST /_sandbox/settle` | | 204 once every delivery in flight is answered |
//!
//! Errors answer `{"error": "..."}`: 400 for a body that does not parse, 404 for an unknown
//! ticket or conversation in the path, 422 for an unknown user, brand or widget in the body.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::Shared;
use crate::faults::FaultRule;
use crate::messaging::Attachment;
use crate::triggers::Outgoing;
use crate::world::{Role, World};

const ROUTES: &[&str] = &[
    "POST /_sandbox/users",
    "POST /_sandbox/api_tokens",
    "POST /_sandbox/brands",
    "GET|POST /_sandbox/articles",
    "PUT /_sandbox/articles/{id}",
    "POST /_sandbox/articles/{id}/unpublish",
    "POST /_sandbox/tickets",
    "GET /_sandbox/tickets/{id}",
    "POST /_sandbox/tickets/{id}/comments",
    "POST /_sandbox/tickets/{id}/assign",
    "POST /_sandbox/tickets/{id}/solve",
    "POST /_sandbox/messaging",
    "POST /_sandbox/widgets",
    "POST /_sandbox/conversations_integrations",
    "POST /_sandbox/switchboard/default_responder",
    "POST /_sandbox/conversations",
    "GET /_sandbox/conversations/{id}",
    "POST /_sandbox/conversations/{id}/messages",
    "POST /_sandbox/conversations/{id}/agent_messages",
    "POST /_sandbox/conversations/{id}/agent_files",
    "POST /_sandbox/conversations/{id}/automation_messages",
    "GET|POST|DELETE /_sandbox/faults",
    "GET /_sandbox/calls",
    "GET /_sandbox/deliveries",
    "POST /_sandbox/settle",
];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sandbox", get(root))
        .route("/_sandbox/", get(root))
        .route("/_sandbox/users", post(add_user))
        .route("/_sandbox/api_tokens", post(add_api_token))
        .route("/_sandbox/brands", post(add_brand))
        .route("/_sandbox/articles", get(articles).post(add_article))
        .route(
            "/_sandbox/articles/{id}",
            axum::routing::put(update_article),
        )
        .route("/_sandbox/articles/{id}/unpublish", post(unpublish_article))
        .route("/_sandbox/tickets", post(customer_emails))
        .route("/_sandbox/tickets/{id}", get(ticket))
        .route("/_sandbox/tickets/{id}/comments", post(comment))
        .route("/_sandbox/tickets/{id}/assign", post(assign))
        .route("/_sandbox/tickets/{id}/solve", post(solve))
        .route("/_sandbox/messaging", post(enable_messaging))
        .route("/_sandbox/widgets", post(add_web_widget))
        .route(
            "/_sandbox/conversations_integrations",
            post(add_conversations_integration),
        )
        .route(
            "/_sandbox/switchboard/default_responder",
            post(make_default_responder),
        )
        .route("/_sandbox/conversations", post(open_conversation))
        .route("/_sandbox/conversations/{id}", get(conversation))
        .route("/_sandbox/conversations/{id}/messages", post(visitor_says))
        .route(
            "/_sandbox/conversations/{id}/agent_messages",
            post(workspace_agent_says),
        )
        .route(
            "/_sandbox/conversations/{id}/agent_files",
            post(workspace_agent_sends_file),
        )
        .route(
            "/_sandbox/conversations/{id}/automation_messages",
            post(automation_says),
        )
        .route(
            "/_sandbox/faults",
            get(fault_rules).post(inject).delete(clear_faults),
        )
        .route("/_sandbox/calls", get(calls))
        .route("/_sandbox/deliveries", get(deliveries))
        .route("/_sandbox/settle", post(settle))
        .with_state(shared)
}

pub(crate) struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({"error": self.1}))).into_response()
    }
}

type Answer = Result<axum::Json<Value>, ControlError>;

/// A JSON body, whatever the request's content type says (so `curl -d` works as is).
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ControlError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ControlError(StatusCode::BAD_REQUEST, e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ControlError(StatusCode::BAD_REQUEST, format!("the body: {e}")))
    }
}

fn answer(value: impl serde::Serialize) -> Answer {
    Ok(axum::Json(serde_json::to_value(value).expect("serialises")))
}

fn unknown(status: StatusCode, what: &str, id: impl std::fmt::Display) -> ControlError {
    ControlError(status, format!("no {what} {id}"))
}

fn need_user(world: &World, id: u64) -> Result<(), ControlError> {
    match world.users.contains_key(&id) {
        true => Ok(()),
        false => Err(unknown(StatusCode::UNPROCESSABLE_ENTITY, "user", id)),
    }
}

fn need_ticket(world: &World, id: u64) -> Result<(), ControlError> {
    match world.tickets.contains_key(&id) {
        true => Ok(()),
        false => Err(unknown(StatusCode::NOT_FOUND, "ticket", id)),
    }
}

fn need_conversation(world: &World, id: &str) -> Result<(), ControlError> {
    match world.conversation_view(id) {
        Some(_) => Ok(()),
        None => Err(unknown(StatusCode::NOT_FOUND, "conversation", id)),
    }
}

/// Checks the request against the world, then makes the change and sends its deliveries.
fn act<T>(
    shared: &Arc<Shared>,
    check: impl FnOnce(&World) -> Result<(), ControlError>,
    change: impl FnOnce(&mut World) -> (T, Vec<Outgoing>),
) -> Result<T, ControlError> {
    shared.act(|world| match check(world) {
        Ok(()) => {
            let (value, outgoing) = change(world);
            (Ok(value), outgoing)
        }
        Err(error) => (Err(error), Vec::new()),
    })
}

async fn root(State(shared): State<Arc<Shared>>) -> Answer {
    let world = shared.world();
    let base = &world.base_url;
    answer(json!({
        "support_api": format!("{base}/api/v2"),
        "conversations_api": world.messaging_keys().map(|keys| format!("{base}/sc/v2/apps/{}", keys.app_id)),
        "control_api": format!("{base}/_sandbox"),
        "routes": ROUTES,
    }))
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
    email: String,
    role: Role,
}

async fn add_user(State(shared): State<Arc<Shared>>, Body(user): Body<NewUser>) -> Answer {
    let id = shared.world().add_user(&user.name, &user.email, user.role);
    answer(json!({"id": id}))
}

async fn add_api_token(State(shared): State<Arc<Shared>>) -> Answer {
    answer(json!({"token": shared.world().add_api_token()}))
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

async fn add_brand(State(shared): State<Arc<Shared>>, Body(brand): Body<Named>) -> Answer {
    answer(json!({"id": shared.world().add_brand(&brand.name)}))
}

#[derive(Deserialize)]
struct NewArticle {
    brand_id: Option<u64>,
    title: String,
    body: String,
    #[serde(default)]
    draft: bool,
    user_segment_id: Option<u64>,
}

async fn add_article(State(shared): State<Arc<Shared>>, Body(article): Body<NewArticle>) -> Answer {
    let mut world = shared.world();
    if let Some(brand) = article.brand_id
        && !world.brands.contains_key(&brand)
    {
        return Err(unknown(StatusCode::UNPROCESSABLE_ENTITY, "brand", brand));
    }
    let id = world.add_article(
        article.brand_id,
        &article.title,
        &article.body,
        article.draft,
        article.user_segment_id,
    );
    answer(json!({"id": id}))
}

async fn articles(State(shared): State<Arc<Shared>>) -> Answer {
    let world = shared.world();
    answer(world.help_center.articles.values().collect::<Vec<_>>())
}

#[derive(Deserialize)]
struct ArticleChange {
    title: Option<String>,
    body: Option<String>,
    draft: Option<bool>,
    /// Present (even `null`) to change who may read the article.
    #[serde(default, deserialize_with = "present")]
    user_segment_id: Option<Option<u64>>,
}

/// A field given in the body, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

fn article_answer(shared: &Shared, id: u64) -> Answer {
    let world = shared.world();
    let article = world
        .help_center
        .articles
        .get(&id)
        .ok_or_else(|| unknown(StatusCode::NOT_FOUND, "article", id))?;
    answer(article)
}

async fn update_article(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Body(change): Body<ArticleChange>,
) -> Answer {
    let found = shared.world().change_article(id, |article| {
        if let Some(title) = change.title {
            article.title = title;
        }
        if let Some(body) = change.body {
            article.body = body;
        }
        if let Some(draft) = change.draft {
            article.draft = draft;
        }
        if let Some(segment) = change.user_segment_id {
            article.user_segment_id = segment;
        }
    });
    if !found {
        return Err(unknown(StatusCode::NOT_FOUND, "article", id));
    }
    article_answer(&shared, id)
}

async fn unpublish_article(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Answer {
    if !shared
        .world()
        .change_article(id, |article| article.draft = true)
    {
        return Err(unknown(StatusCode::NOT_FOUND, "article", id));
    }
    article_answer(&shared, id)
}

#[derive(Deserialize)]
struct CustomerEmail {
    requester_id: u64,
    brand_id: Option<u64>,
    subject: String,
    body: String,
}

async fn customer_emails(
    State(shared): State<Arc<Shared>>,
    Body(email): Body<CustomerEmail>,
) -> Answer {
    let check = |world: &World| {
        need_user(world, email.requester_id)?;
        match email.brand_id {
            Some(brand) if !world.brands.contains_key(&brand) => {
                Err(unknown(StatusCode::UNPROCESSABLE_ENTITY, "brand", brand))
            }
            _ => Ok(()),
        }
    };
    let id = act(&shared, check, |world| {
        world.customer_emails(
            email.requester_id,
            email.brand_id,
            &email.subject,
            &email.body,
        )
    })?;
    answer(json!({"id": id}))
}

/// The ticket's fields with its `comments`.
fn ticket_answer(shared: &Shared, id: u64) -> Answer {
    let world = shared.world();
    let ticket = world
        .ticket_view(id)
        .ok_or_else(|| unknown(StatusCode::NOT_FOUND, "ticket", id))?;
    let mut value = serde_json::to_value(ticket).expect("serialises");
    value["comments"] = serde_json::to_value(world.comment_views(id)).expect("serialises");
    answer(value)
}

async fn ticket(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Answer {
    ticket_answer(&shared, id)
}

fn default_public() -> bool {
    true
}

#[derive(Deserialize)]
struct NewComment {
    author_id: u64,
    body: String,
    #[serde(default = "default_public")]
    public: bool,
}

/// A change to ticket `id` by `people` (who must exist): the ticket with its comments after it.
fn ticket_change(
    shared: &Arc<Shared>,
    id: u64,
    people: &[u64],
    change: impl FnOnce(&mut World) -> Vec<Outgoing>,
) -> Answer {
    let check = |world: &World| {
        need_ticket(world, id)?;
        people
            .iter()
            .try_for_each(|person| need_user(world, *person))
    };
    act(shared, check, |world| ((), change(world)))?;
    ticket_answer(shared, id)
}

async fn comment(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Body(comment): Body<NewComment>,
) -> Answer {
    ticket_change(&shared, id, &[comment.author_id], |world| {
        world.comment(comment.author_id, id, &comment.body, comment.public)
    })
}

#[derive(Deserialize)]
struct Assignment {
    actor_id: u64,
    assignee_id: Option<u64>,
}

async fn assign(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Body(assignment): Body<Assignment>,
) -> Answer {
    let Assignment {
        actor_id,
        assignee_id,
    } = assignment;
    let people: Vec<u64> = std::iter::once(actor_id).chain(assignee_id).collect();
    ticket_change(&shared, id, &people, |world| {
        world.assign(actor_id, id, assignee_id)
    })
}

#[derive(Deserialize)]
struct Solve {
    agent_id: u64,
}

async fn solve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Body(solve): Body<Solve>,
) -> Answer {
    ticket_change(&shared, id, &[solve.agent_id], |world| {
        world.solve(solve.agent_id, id)
    })
}

async fn enable_messaging(State(shared): State<Arc<Shared>>) -> Answer {
    answer(shared.world().enable_messaging())
}

#[derive(Deserialize)]
struct NewWidget {
    brand_id: u64,
    name: String,
}

async fn add_web_widget(
    State(shared): State<Arc<Shared>>,
    Body(widget): Body<NewWidget>,
) -> Answer {
    let mut world = shared.world();
    if !world.brands.contains_key(&widget.brand_id) {
        return Err(unknown(
            StatusCode::UNPROCESSABLE_ENTITY,
            "brand",
            widget.brand_id,
        ));
    }
    let id = world.add_web_widget(widget.brand_id, &widget.name);
    answer(json!({"integration_id": id}))
}

#[derive(Deserialize)]
struct NewIntegration {
    name: String,
    target: String,
    triggers: Vec<String>,
}

async fn add_conversations_integration(
    State(shared): State<Arc<Shared>>,
    Body(integration): Body<NewIntegration>,
) -> Answer {
    let triggers: Vec<&str> = integration.triggers.iter().map(String::as_str).collect();
    let (id, secret) = shared.world().add_conversations_integration(
        &integration.name,
        &integration.target,
        &triggers,
    );
    answer(json!({"integration_id": id, "shared_secret": secret}))
}

#[derive(Deserialize)]
struct DefaultResponder {
    integration_id: String,
    name: String,
}

async fn make_default_responder(
    State(shared): State<Arc<Shared>>,
    Body(responder): Body<DefaultResponder>,
) -> Answer {
    shared
        .world()
        .make_default_responder(&responder.integration_id, &responder.name);
    answer(json!({}))
}

#[derive(Deserialize)]
struct Visitor {
    widget: String,
    name: String,
}

async fn open_conversation(
    State(shared): State<Arc<Shared>>,
    Body(visitor): Body<Visitor>,
) -> Answer {
    let check = |world: &World| match world.is_web_widget(&visitor.widget) {
        true => Ok(()),
        false => Err(unknown(
            StatusCode::UNPROCESSABLE_ENTITY,
            "web widget",
            &visitor.widget,
        )),
    };
    let id = act(&shared, check, |world| {
        world.open_conversation(&visitor.widget, &visitor.name)
    })?;
    answer(json!({"id": id}))
}

async fn conversation(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let view = shared.world().conversation_view(&id);
    answer(view.ok_or_else(|| unknown(StatusCode::NOT_FOUND, "conversation", &id))?)
}

#[derive(Deserialize)]
struct Said {
    text: String,
}

async fn visitor_says(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Body(said): Body<Said>,
) -> Answer {
    let check = |world: &World| need_conversation(world, &id);
    let message = act(&shared, check, |world| world.user_message(&id, &said.text))?;
    answer(json!({"id": message}))
}

#[derive(Deserialize)]
struct AgentSaid {
    name: String,
    text: String,
}

async fn workspace_agent_says(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Body(said): Body<AgentSaid>,
) -> Answer {
    let check = |world: &World| need_conversation(world, &id);
    let message = act(&shared, check, |world| {
        match world.workspace_agent_says(&id, &said.name, &said.text) {
            Ok((message, outgoing)) => (Ok(message), outgoing),
            Err(error) => (
                Err(ControlError(StatusCode::UNPROCESSABLE_ENTITY, error)),
                Vec::new(),
            ),
        }
    })??;
    answer(json!({"id": message}))
}

#[derive(Deserialize)]
struct AgentFile {
    name: String,
    file_name: String,
    media_type: String,
    content_base64: String,
    text: Option<String>,
}

async fn workspace_agent_sends_file(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Body(file): Body<AgentFile>,
) -> Answer {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(file.content_base64.trim())
        .map_err(|e| ControlError(StatusCode::BAD_REQUEST, format!("content_base64: {e}")))?;
    let attachment = Attachment {
        file_name: file.file_name,
        media_type: file.media_type,
        bytes,
    };
    let check = |world: &World| need_conversation(world, &id);
    let message = act(&shared, check, |world| {
        match world.workspace_agent_sends_file(&id, &file.name, attachment, file.text.as_deref()) {
            Ok((message, outgoing)) => (Ok(message), outgoing),
            Err(error) => (
                Err(ControlError(StatusCode::UNPROCESSABLE_ENTITY, error)),
                Vec::new(),
            ),
        }
    })??;
    answer(json!({"id": message}))
}

async fn automation_says(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Body(said): Body<Said>,
) -> Answer {
    let check = |world: &World| need_conversation(world, &id);
    let message = act(&shared, check, |world| {
        match world.automation_says(&id, &said.text) {
            Ok((message, outgoing)) => (Ok(message), outgoing),
            Err(error) => (
                Err(ControlError(StatusCode::UNPROCESSABLE_ENTITY, error)),
                Vec::new(),
            ),
        }
    })??;
    answer(json!({"id": message}))
}

async fn fault_rules(State(shared): State<Arc<Shared>>) -> Answer {
    answer(shared.world().faults.rules())
}

async fn inject(State(shared): State<Arc<Shared>>, Body(rule): Body<FaultRule>) -> Answer {
    shared.world().faults.add(rule.clone());
    answer(rule)
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.world().faults.clear();
    StatusCode::NO_CONTENT
}

async fn calls(State(shared): State<Arc<Shared>>) -> Answer {
    answer(shared.world().faults.calls())
}

async fn deliveries(State(shared): State<Arc<Shared>>) -> Answer {
    answer(&shared.world().deliveries)
}

async fn settle(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.settle().await;
    StatusCode::NO_CONTENT
}
