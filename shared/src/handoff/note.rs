//! The note a human reads when Deskmate hands a customer over.

use crate::agent::{CustomerProfile, Speaker, TranscriptLine};

/// The first line of every hand-off note (how Deskmate recognises a note it already added).
pub const NOTE_HEADLINE: &str = "Deskmate handed this conversation to a human.";
/// Zendesk accepts comments up to 64 KB; stay well inside it.
pub const MAX_NOTE_CHARS: usize = 30_000;
/// How much of the conversation the note quotes.
const TRANSCRIPT_LINES: usize = 12;
const LINE_CHARS: usize = 1_500;

pub struct Handoff<'a> {
    pub reason: &'a str,
    pub summary: &'a str,
    pub customer: &'a CustomerProfile,
    pub transcript: &'a [TranscriptLine],
}

impl Handoff<'_> {
    /// A plain-text internal note: why, who, what, and the latest exchanges.
    pub fn note(&self) -> String {
        let who = match (&self.customer.name, &self.customer.email) {
            (Some(name), Some(email)) => format!("{name} <{email}>"),
            (Some(name), None) => name.clone(),
            (None, Some(email)) => email.clone(),
            (None, None) => "unknown".to_owned(),
        };
        let bot_answers = self
            .transcript
            .iter()
            .filter(|line| line.speaker == Speaker::Bot)
            .count();
        let mut note = format!(
            "{NOTE_HEADLINE}\n\n\
             Why: {}\nCustomer: {who}\nSummary: {}\nDeskmate had already answered {bot_answers} time(s).\n",
            self.reason.trim(),
            self.summary.trim(),
        );
        let start = self.transcript.len().saturating_sub(TRANSCRIPT_LINES);
        if !self.transcript.is_empty() {
            note.push_str("\nLatest messages:\n");
        }
        for line in &self.transcript[start..] {
            let speaker = match line.speaker {
                Speaker::Customer => "Customer",
                Speaker::Bot => "Deskmate",
                Speaker::HumanAgent => "Agent",
            };
            let text: String = line.text.trim().chars().take(LINE_CHARS).collect();
            note.push_str(&format!("\n{speaker}: {text}\n"));
        }
        if note.chars().count() > MAX_NOTE_CHARS {
            note = note.chars().take(MAX_NOTE_CHARS - 1).collect();
            note.push('…');
        }
        note
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_says_why_who_and_what_within_limits() {
        let customer = CustomerProfile {
            name: Some("Ana".into()),
            email: Some("ana@example.com".into()),
        };
        let transcript: Vec<TranscriptLine> = (0..40)
            .map(|i| TranscriptLine {
                speaker: if i % 2 == 0 {
                    Speaker::Customer
                } else {
                    Speaker::Bot
                },
                text: format!("message {i} {}", "x".repeat(5_000)),
            })
            .collect();
        let note = Handoff {
            reason: "The customer asked to talk to a person.",
            summary: "Wants a refund",
            customer: &customer,
            transcript: &transcript,
        }
        .note();
        assert!(note.contains("Why: The customer asked to talk to a person."));
        assert!(note.contains("Customer: Ana <ana@example.com>"));
        assert!(note.contains("answered 20 time(s)"));
        assert!(note.contains("message 39"));
        assert!(!note.contains("message 27 "));
        assert!(note.chars().count() <= MAX_NOTE_CHARS);
    }
}
