//! What a job came to, and why one did not finish: the worker's one boundary with SQS
//! (retry or drop).

use crate::state::StateError;
use crate::zendesk::ZendeskError;

/// What a job came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Replied { to_message: String },
    Escalated { reason: String },
    HandedBack { to_agent: u64 },
    Welcomed,
    NoteAdded { ticket_id: u64 },
    Skipped(String),
}

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth retrying later (Zendesk or AWS unavailable, the ticket changed under us).
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help; the job is dropped with this reason logged.
    #[error("poison: {0}")]
    Poison(String),
}

impl From<StateError> for JobError {
    fn from(err: StateError) -> Self {
        match err {
            StateError::Unavailable(_) => JobError::Transient(err.to_string()),
            StateError::Corrupt { .. } => JobError::Poison(err.to_string()),
        }
    }
}

impl From<ZendeskError> for JobError {
    fn from(err: ZendeskError) -> Self {
        if err.is_transient() {
            JobError::Transient(err.to_string())
        } else {
            JobError::Poison(err.to_string())
        }
    }
}
