//! Deskmate's HTTP routes on a local server: what API Gateway does in AWS.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use ticket_webhook::TicketWebhook;

/// API Gateway's own payload cap; Deskmate's handlers apply their tighter limits themselves.
const GATEWAY_BODY_LIMIT: usize = 10 * 1024 * 1024;

async fn zendesk_webhook(
    State(webhook): State<Arc<TicketWebhook>>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<String> {
    webhook.respond(&store_id, &headers, &body).await
}

pub fn routes(ticket_webhook: Arc<TicketWebhook>) -> Router {
    Router::new()
        .route("/webhooks/zendesk/{store_id}", post(zendesk_webhook))
        .with_state(ticket_webhook)
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
