//! The one failure policy of every queue consumer: what a job came to, why one did not
//! finish, and what happens next — retry soon, go to a human through the dead-letter path, or
//! (only for messages that are not Deskmate's to act on) drop with an error that names the
//! store and the thread. Nothing a customer wrote is dropped silently.

use std::time::Duration;

pub use crate::config::RetrySchedule;
use crate::queue::QueueError;
use crate::state::StateError;
use crate::zendesk::ZendeskError;

/// What a job came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Replied {
        to_message: String,
    },
    Escalated {
        reason: String,
    },
    HandedBack {
        to_agent: u64,
    },
    Welcomed,
    NoteAdded {
        ticket_id: u64,
    },
    /// A bridge session's event was recorded and delivered to its caller.
    Relayed {
        event: String,
    },
    Skipped(String),
}

impl Outcome {
    /// A stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Replied { .. } => "replied",
            Outcome::Escalated { .. } => "escalated",
            Outcome::HandedBack { .. } => "handed_back",
            Outcome::Welcomed => "welcomed",
            Outcome::NoteAdded { .. } => "note_added",
            Outcome::Relayed { .. } => "relayed",
            Outcome::Skipped(_) => "skipped",
        }
    }
}

/// Why a job did not finish. The cause is kept whole for the log and the dead-letter note.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Zendesk(#[from] ZendeskError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Another attempt holds the message or the hand-off; this one comes back later.
    #[error("another worker holds {0}")]
    Busy(String),
    /// The job is not Deskmate's to act on (its store or account is gone, its body is not a job).
    #[error("{0}")]
    NotActionable(String),
    /// A bridge event could not be delivered to the caller's webhook.
    #[error("{detail}")]
    Delivery { transient: bool, detail: String },
}

/// What the policy does with a failed job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after a back-off (the message stays in the queue).
    Retry,
    /// Retrying cannot help: hand the thread to a human through the dead-letter path.
    DeadLetter,
    /// Nothing to do for anybody: log an error naming the store and the thread, and delete.
    Drop,
}

impl JobError {
    pub fn verdict(&self) -> Verdict {
        match self {
            JobError::Zendesk(err) if err.is_transient() => Verdict::Retry,
            JobError::Zendesk(_) => Verdict::DeadLetter,
            JobError::State(StateError::Unavailable(_)) => Verdict::Retry,
            JobError::State(StateError::Corrupt { .. }) => Verdict::DeadLetter,
            JobError::Queue(_) | JobError::Busy(_) => Verdict::Retry,
            JobError::NotActionable(_) => Verdict::Drop,
            JobError::Delivery {
                transient: true, ..
            } => Verdict::Retry,
            JobError::Delivery { .. } => Verdict::DeadLetter,
        }
    }
}

impl RetrySchedule {
    /// Retry, or give up on a job that has been failing for `age` already.
    pub fn decide(&self, error: &JobError, age: Duration, receive_count: u32) -> Verdict {
        match error.verdict() {
            Verdict::Retry if age + self.backoff(receive_count) > self.human_within => {
                Verdict::DeadLetter
            }
            verdict => verdict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_go_to_a_human_and_server_errors_retry() {
        let permanent = [
            ZendeskError::Unauthorized,
            ZendeskError::NotFound,
            ZendeskError::Forbidden("light agent".into()),
            ZendeskError::Rejected {
                status: 422,
                message: "invalid".into(),
            },
        ];
        for err in permanent {
            assert_eq!(JobError::from(err).verdict(), Verdict::DeadLetter);
        }
        let transient = [
            ZendeskError::Unavailable("503".into()),
            ZendeskError::OutcomeUnknown("timeout".into()),
            ZendeskError::Malformed("not JSON".into()),
            ZendeskError::RateLimited { retry_after: None },
            ZendeskError::Conflict,
        ];
        for err in transient {
            assert_eq!(JobError::from(err).verdict(), Verdict::Retry);
        }
        assert_eq!(JobError::Busy("m".into()).verdict(), Verdict::Retry);
        assert_eq!(
            JobError::NotActionable("gone".into()).verdict(),
            Verdict::Drop
        );
    }

    #[test]
    fn a_job_failing_for_too_long_goes_to_a_human() {
        let schedule = RetrySchedule::default();
        let busy = JobError::Busy("m".into());
        assert_eq!(schedule.backoff(1), Duration::from_secs(10));
        assert_eq!(schedule.backoff(3), Duration::from_secs(40));
        assert_eq!(schedule.backoff(9), Duration::from_secs(60));
        assert_eq!(
            schedule.decide(&busy, Duration::from_secs(30), 2),
            Verdict::Retry
        );
        assert_eq!(
            schedule.decide(&busy, Duration::from_secs(150), 5),
            Verdict::DeadLetter
        );
        // The age decides, not the receive count: at the same receive, a job whose next retry
        // would come after 180 s goes to a human, one a second younger retries.
        assert_eq!(
            schedule.decide(&busy, Duration::from_secs(121), 4),
            Verdict::DeadLetter
        );
        assert_eq!(
            schedule.decide(&busy, Duration::from_secs(120), 4),
            Verdict::Retry
        );
        // The whole schedule ends well inside five minutes.
        let mut age = Duration::ZERO;
        let mut receives = 1;
        while schedule.decide(&busy, age, receives) == Verdict::Retry {
            age += schedule.backoff(receives);
            receives += 1;
        }
        assert!(age < Duration::from_secs(240), "{age:?}");
    }
}
