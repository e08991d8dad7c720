//! Zendesk clients: the Support API (tickets) and the Conversations API (the Web Widget).

mod conversations;
mod rest;
pub mod setup;
mod support;
mod types;

pub use conversations::*;
pub use support::{
    HelpCenterArticle, SupportClient, ZendeskConnector, account_base_url, http_client,
    next_page_url,
};
pub use types::*;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::StoreConfig;
use crate::secrets::SecretsError;

#[derive(Debug, thiserror::Error)]
pub enum ZendeskError {
    #[error("Zendesk rejected the API credentials (401)")]
    Unauthorized,
    #[error("Zendesk refused the bot user (403): {0}")]
    Forbidden(String),
    #[error("Zendesk has no such resource (404)")]
    NotFound,
    #[error("the ticket changed since it was read (409)")]
    Conflict,
    #[error("Zendesk rate limit hit (429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Zendesk answered {status}: {message}")]
    Rejected { status: u16, message: String },
    #[error("Zendesk unavailable: {0}")]
    Unavailable(String),
    /// A write got no usable answer (5xx, timeout, unreadable body): it may have been done.
    #[error("Zendesk may or may not have made the change: {0}")]
    OutcomeUnknown(String),
    #[error("Zendesk answer could not be read: {0}")]
    Malformed(String),
    #[error("Zendesk credentials unavailable: {0}")]
    Credentials(#[from] SecretsError),
}

impl ZendeskError {
    /// A stable name of the error's class, for metrics and logs.
    pub fn class(&self) -> &'static str {
        match self {
            ZendeskError::Unauthorized => "unauthorized",
            ZendeskError::Forbidden(_) => "forbidden",
            ZendeskError::NotFound => "not_found",
            ZendeskError::Conflict => "conflict",
            ZendeskError::RateLimited { .. } => "rate_limited",
            ZendeskError::Rejected { .. } => "rejected",
            ZendeskError::Unavailable(_) => "unavailable",
            ZendeskError::OutcomeUnknown(_) => "outcome_unknown",
            ZendeskError::Malformed(_) => "malformed",
            ZendeskError::Credentials(_) => "credentials",
        }
    }

    /// Whether trying again later may help.
    pub fn is_transient(&self) -> bool {
        match self {
            ZendeskError::RateLimited { .. }
            | ZendeskError::Unavailable(_)
            | ZendeskError::OutcomeUnknown(_)
            | ZendeskError::Malformed(_)
            | ZendeskError::Conflict => true,
            ZendeskError::Credentials(err) => err.is_transient(),
            _ => false,
        }
    }
}

/// The ticket operations the reply worker needs.
#[async_trait]
pub trait TicketDesk: Send + Sync {
    async fn ticket(&self, id: u64) -> Result<Ticket, ZendeskError>;
    /// All comments of a ticket, oldest first, with their authors.
    async fn comments(&self, ticket_id: u64) -> Result<CommentThread, ZendeskError>;
    async fn update_ticket(&self, id: u64, update: &TicketUpdate) -> Result<Ticket, ZendeskError>;
    /// Ids of the tickets carrying `tag` (Zendesk search; new tickets appear after a delay).
    async fn tickets_tagged(&self, tag: &str) -> Result<Vec<u64>, ZendeskError>;
    /// Creates a ticket with Zendesk's `Idempotency-Key`: a retry with the same key and body
    /// (within Zendesk's short window) answers the ticket the first call created. Returns its id.
    async fn create_ticket(
        &self,
        ticket: &NewTicket,
        idempotency_key: &str,
    ) -> Result<u64, ZendeskError>;
}

/// Opens a store's Zendesk account.
#[async_trait]
pub trait TicketDesks: Send + Sync {
    async fn desk_for(&self, store: &StoreConfig) -> Result<Arc<dyn TicketDesk>, ZendeskError>;
}
