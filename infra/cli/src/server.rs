//! Deskmate's HTTP routes on a local server, each function's own router: what API Gateway
//! and Lambda do in AWS.

use std::sync::Arc;

use axum::Router;
use conversations_webhook::ConversationsWebhook;
use deskmate_shared::bridge::Bridge;
use deskmate_shared::config::IngressConfig;
use deskmate_shared::handoff::{Escalations, HandoffTiming};
use deskmate_shared::queue::JobQueue;
use deskmate_shared::state::{
    BotStates, BridgeSessions, ConversationsAccounts, DeliveryLog, StoreDirectory, TicketCreations,
    WidgetRoutes,
};
use deskmate_shared::zendesk::ZendeskConnector;
use escalate::EscalateTool;
use ticket_webhook::TicketWebhook;

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
            + TicketCreations
            + BridgeSessions
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
                creations: state.clone(),
                bridge: Bridge::new(state.clone(), zendesk.clone(), None),
                escalations: Escalations::new(state, zendesk, queue).with_timing(handoff_timing),
            }),
        }
    }
}

/// Every function's own router on one server: the routes exactly as Lambda serves them.
pub fn routes(functions: Functions) -> Router {
    ticket_webhook::router(functions.ticket_webhook)
        .merge(conversations_webhook::router(
            functions.conversations_webhook,
        ))
        .merge(escalate::router(functions.escalate_tool))
}

/// Every route Deskmate serves, as (method, path template): what the template must declare.
pub fn all_routes() -> Vec<(&'static str, &'static str)> {
    ticket_webhook::ROUTES
        .into_iter()
        .chain(conversations_webhook::ROUTES)
        .chain(escalate::ROUTES)
        .collect()
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
