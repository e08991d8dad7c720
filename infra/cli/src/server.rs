//! Deskmate's HTTP routes on a local server: what API Gateway does in AWS.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::http::{Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use conversations_webhook::ConversationsWebhook;
use deskmate_shared::config::IngressConfig;
use deskmate_shared::handoff::{Escalations, HandoffTiming};
use deskmate_shared::queue::JobQueue;
use deskmate_shared::state::{
    BotStates, ConversationsAccounts, DeliveryLog, StoreDirectory, WidgetRoutes,
};
use deskmate_shared::zendesk::ZendeskConnector;
use escalate::EscalateTool;
use ticket_webhook::TicketWebhook;

/// API Gateway's own payload cap; Deskmate's handlers apply their tighter limits themselves.
const GATEWAY_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The functions behind Deskmate's routes.
#[derive(Clone)]
pub struct Functions {
    pub ticket_webhook: Arc<TicketWebhook>,
    pub conversations_webhook: Arc<ConversationsWebhook>,
    pub escalate_tool: Arc<EscalateTool>,
}

impl Functions {
    /// The webhooks and the escalate tool on one state table, queue and Zendesk connector.
    pub fn new<S>(
        state: Arc<S>,
        queue: Arc<dyn JobQueue>,
        zendesk: Arc<ZendeskConnector>,
        config: &IngressConfig,
        handoff_timing: HandoffTiming,
    ) -> Self
    where
        S: StoreDirectory
            + DeliveryLog
            + ConversationsAccounts
            + WidgetRoutes
            + BotStates
            + 'static,
    {
        Self {
            ticket_webhook: Arc::new(TicketWebhook::new(state.clone(), queue.clone(), config)),
            conversations_webhook: Arc::new(ConversationsWebhook::new(
                state.clone(),
                queue.clone(),
                config,
            )),
            escalate_tool: Arc::new(EscalateTool {
                stores: state.clone(),
                escalations: Escalations::new(state, zendesk, queue).with_timing(handoff_timing),
            }),
        }
    }
}

async fn zendesk_webhook(
    State(functions): State<Functions>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<String> {
    functions
        .ticket_webhook
        .respond(&store_id, &headers, &body)
        .await
}

async fn conversations_webhook(
    State(functions): State<Functions>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<String> {
    functions
        .conversations_webhook
        .respond(&account, &headers, &body)
        .await
}

async fn tools(
    State(functions): State<Functions>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<String> {
    functions
        .escalate_tool
        .respond(&method, uri.path(), &headers, &body)
        .await
}

pub fn routes(functions: Functions) -> Router {
    Router::new()
        .route("/tools/escalate", post(tools))
        .route("/tools/openapi.json", get(tools))
        .route("/tools/escalate/schema", get(tools))
        .route("/webhooks/zendesk/{store_id}", post(zendesk_webhook))
        .route(
            "/webhooks/conversations/{account}",
            post(conversations_webhook),
        )
        .with_state(functions)
        .layer(DefaultBodyLimit::max(GATEWAY_BODY_LIMIT))
}

/// Serves `router` on `address` in the background; returns the base URL.
pub async fn serve(router: Router, address: &str) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(error = %err, "local server stopped");
        }
    });
    Ok(url)
}
