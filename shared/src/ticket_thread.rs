//! Reading a ticket the way the bot needs it (who said what, who the customer is) and the
//! tags Deskmate puts on tickets.

use crate::agent::{CustomerProfile, Speaker, TranscriptLine};
use crate::zendesk::{CommentThread, Ticket};

/// Tag on tickets Deskmate handed to a human; the bot never answers them again.
pub const ESCALATED_TAG: &str = "deskmate_escalated";
/// Tag on tickets a human agent started, handed back to them untouched.
pub const HANDED_BACK_TAG: &str = "deskmate_handed_back";
pub use crate::domain::CREATED_TAG;

/// The public conversation as the agent backend sees it (internal notes stay internal).
pub fn transcript(thread: &CommentThread, bot_user_id: u64) -> Vec<TranscriptLine> {
    thread
        .comments
        .iter()
        .filter(|comment| comment.public)
        .map(|comment| TranscriptLine {
            speaker: if comment.author_id == bot_user_id {
                Speaker::Bot
            } else if thread.author(comment).is_some_and(|user| user.is_staff()) {
                Speaker::HumanAgent
            } else {
                Speaker::Customer
            },
            text: comment.body.clone(),
        })
        .collect()
}

pub fn requester_profile(ticket: &Ticket, thread: &CommentThread) -> CustomerProfile {
    thread
        .users
        .iter()
        .find(|user| user.id == ticket.requester_id)
        .map(|user| CustomerProfile {
            name: Some(user.name.clone()),
            email: user.email.clone(),
        })
        .unwrap_or_default()
}

/// Keeps a plain-text note plain: line breaks survive, markdown syntax does not apply.
pub fn escape_markdown(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        for c in line.chars() {
            if "\\`*_{}[]()#+-.!<>|~".contains(c) {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        escaped.push_str("  \n");
    }
    escaped
}

/// An internal note's HTML: the plain text as written, line breaks kept.
pub fn note_html(note: &str) -> String {
    crate::render::markdown_to_safe_html(&escape_markdown(note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_stay_plain_text() {
        assert_eq!(escape_markdown("**a**\n# b"), "\\*\\*a\\*\\*  \n\\# b  \n");
    }
}
