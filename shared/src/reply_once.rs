//! Exactly one reply per customer message, on both paths: claim the message (a conditional
//! write with a lease), record the answer before posting it, post, mark the claim answered.
//!
//! - A claim held by another live attempt is not this attempt's to answer, but the message is
//!   not done either: the job comes back later ([`JobError::Busy`]).
//! - An attempt that stops after recording leaves the answer in the claim; the attempt that
//!   takes the claim over posts that same answer (only its missing parts), never a new one.
//! - A failed attempt ends its lease at once, so the retry does not wait for it.

use std::time::Duration;

use crate::domain::{StoreId, Thread};
use crate::failure::JobError;
use crate::state::{ClaimOutcome, ReplyClaims};

/// The clocks of a reply, on either path.
#[derive(Clone, Copy, Debug)]
pub struct ReplierSettings {
    /// One budget for the agent's whole turn, every attempt included.
    pub agent_timeout: Duration,
    /// How long a claim keeps other attempts off a message.
    pub claim_lease: Duration,
}

/// A claim this attempt holds on one customer message.
pub struct Claim<'a> {
    claims: &'a dyn ReplyClaims,
    store: &'a StoreId,
    thread: &'a Thread,
    message_id: &'a str,
    owner: &'a str,
    /// The answer an earlier attempt recorded, to be posted as it is.
    pub recorded: Option<String>,
}

/// What claiming a message found.
pub enum Claimed<'a> {
    /// The message has its answer.
    Answered,
    Mine(Claim<'a>),
}

pub async fn claim<'a>(
    claims: &'a dyn ReplyClaims,
    store: &'a StoreId,
    thread: &'a Thread,
    message_id: &'a str,
    owner: &'a str,
    lease: Duration,
) -> Result<Claimed<'a>, JobError> {
    match claims
        .claim_reply(store, thread, message_id, owner, lease)
        .await?
    {
        ClaimOutcome::AlreadyAnswered => Ok(Claimed::Answered),
        ClaimOutcome::HeldByAnother => Err(JobError::Busy(format!("message {message_id}"))),
        ClaimOutcome::Acquired { recorded } => Ok(Claimed::Mine(Claim {
            claims,
            store,
            thread,
            message_id,
            owner,
            recorded,
        })),
    }
}

impl Claim<'_> {
    /// Records `answer` before it is posted (once: a recorded answer is never replaced).
    pub async fn record(&self, answer: &str) -> Result<(), JobError> {
        if self.recorded.is_none() {
            self.claims
                .record_reply(self.store, self.thread, self.message_id, self.owner, answer)
                .await?;
        }
        Ok(())
    }

    /// Marks the message answered when `result` is a success, else ends the lease so the
    /// retry can take over at once; hands `result` back.
    pub async fn settle<T>(self, result: Result<T, JobError>) -> Result<T, JobError> {
        match &result {
            Ok(_) => {
                self.claims
                    .finish_reply(self.store, self.thread, self.message_id, self.owner)
                    .await?
            }
            Err(_) => {
                self.claims
                    .release_reply(self.store, self.thread, self.message_id, self.owner)
                    .await?
            }
        }
        result
    }
}

/// A fresh name for one processing attempt, so two attempts on the same message never
/// mistake each other's claims or leases for their own.
pub fn attempt_owner() -> String {
    use rand::RngCore;
    format!("{:016x}", rand::rng().next_u64())
}
