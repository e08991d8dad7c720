//! Reading a Web Widget conversation, and the marks on every message Deskmate posts there:
//! which customer message it answers and which part of how many it is, so a retry can see
//! exactly what was already posted and post only what is missing.

use serde_json::{Map, json};

use crate::agent::{Speaker, TranscriptLine};
use crate::domain::StoreConfig;
use crate::zendesk::{
    BusinessMessage, ConversationDesk, MAX_MESSAGE_CHARS, Message, ZendeskError,
    split_for_messaging,
};

/// Metadata key on every message Deskmate sends: what it answers (a customer message id,
/// `welcome`, or `handoff:<id>` for a hand-off notice).
pub const REPLY_TO_KEY: &str = "deskmate_reply_to";
/// Metadata keys numbering the parts of a long answer (1-based) and their count.
pub const PART_KEY: &str = "deskmate_part";
pub const PARTS_KEY: &str = "deskmate_parts";
/// What the welcome message answers.
pub const WELCOME: &str = "welcome";

/// The mark of a hand-off's notice to the customer.
pub fn handoff_mark(handoff_id: &str) -> String {
    format!("handoff:{handoff_id}")
}

fn is_ours(message: &Message) -> bool {
    !message.from_user() && message.metadata_text(REPLY_TO_KEY).is_some()
}

/// The customer messages since the business (bot or agent) last wrote, oldest first.
pub fn unanswered(messages: &[Message]) -> &[Message] {
    let start = messages
        .iter()
        .rposition(|message| !message.from_user())
        .map_or(0, |i| i + 1);
    &messages[start..]
}

/// The reply Deskmate was posting when it stopped: the newest message is one of ours and
/// some of its parts are missing. Returns what that reply answers.
pub fn interrupted_reply(messages: &[Message]) -> Option<&str> {
    let last = messages.last().filter(|m| is_ours(m))?;
    let reply_to = last.metadata_text(REPLY_TO_KEY)?;
    let parts = last.metadata.as_ref()?.get(PARTS_KEY)?.as_u64()?;
    let posted = posted_parts(messages, reply_to);
    (posted.len() < parts as usize).then_some(reply_to)
}

/// Whether someone other than the customer and Deskmate (a human agent) wrote after `message_id`.
pub fn human_wrote_after(messages: &[Message], message_id: &str) -> bool {
    messages
        .iter()
        .skip_while(|m| m.id != message_id)
        .skip(1)
        .any(|m| !m.from_user() && !is_ours(m))
}

/// Whether any part of the message marked `reply_to` is in the conversation.
pub fn posted(messages: &[Message], reply_to: &str) -> bool {
    !posted_parts(messages, reply_to).is_empty()
}

fn posted_parts(messages: &[Message], reply_to: &str) -> Vec<u64> {
    messages
        .iter()
        .filter(|m| is_ours(m) && m.metadata_text(REPLY_TO_KEY) == Some(reply_to))
        .map(|m| {
            m.metadata
                .as_ref()
                .and_then(|meta| meta.get(PART_KEY))
                .and_then(|part| part.as_u64())
                .unwrap_or(1)
        })
        .collect()
}

pub fn transcript(messages: &[Message]) -> Vec<TranscriptLine> {
    messages
        .iter()
        .filter_map(|message| {
            let text = message.content.text.clone()?;
            let speaker = if message.from_user() {
                Speaker::Customer
            } else if is_ours(message) {
                Speaker::Bot
            } else {
                Speaker::HumanAgent
            };
            Some(TranscriptLine { speaker, text })
        })
        .collect()
}

/// Posts `markdown` as the store's bot, split to fit, each part marked with `reply_to` and
/// its number; parts already in `known` (the conversation as last read) are not posted again.
/// A post whose outcome is unknown is never repeated here: the caller reads the conversation
/// again and calls this once more.
pub async fn post_missing_parts(
    desk: &dyn ConversationDesk,
    store: &StoreConfig,
    conversation_id: &str,
    markdown: &str,
    reply_to: &str,
    known: &[Message],
) -> Result<(), ZendeskError> {
    let parts = split_for_messaging(markdown, MAX_MESSAGE_CHARS);
    let posted = posted_parts(known, reply_to);
    let count = parts.len();
    for (index, part) in parts.into_iter().enumerate() {
        let number = index as u64 + 1;
        if posted.contains(&number) {
            continue;
        }
        let mut metadata = Map::new();
        metadata.insert(REPLY_TO_KEY.into(), json!(reply_to));
        metadata.insert(PART_KEY.into(), json!(number));
        metadata.insert(PARTS_KEY.into(), json!(count));
        let message = BusinessMessage {
            display_name: store.display_name.clone(),
            avatar_url: store.avatar_url.clone(),
            markdown: part,
            metadata,
        };
        desk.post_message(conversation_id, &message).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::zendesk::{MessageAuthor, MessageContent};

    fn message(id: &str, author: &str, mark: Option<(&str, u64, u64)>) -> Message {
        Message {
            id: id.into(),
            author: MessageAuthor {
                kind: author.into(),
                user_id: None,
                display_name: None,
            },
            content: MessageContent {
                kind: "text".into(),
                text: Some(format!("text {id}")),
            },
            source: None,
            metadata: mark.map(|(reply_to, part, parts)| {
                let mut map = Map::new();
                map.insert(REPLY_TO_KEY.into(), json!(reply_to));
                map.insert(PART_KEY.into(), json!(part));
                map.insert(PARTS_KEY.into(), json!(parts));
                map
            }),
        }
    }

    #[test]
    fn only_messages_after_the_last_business_message_are_waiting() {
        let messages = vec![
            message("1", "user", None),
            message("2", "business", Some(("1", 1, 1))),
            message("3", "user", None),
            message("4", "user", None),
        ];
        let waiting: Vec<&str> = unanswered(&messages)
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(waiting, ["3", "4"]);
        assert!(unanswered(&messages[..2]).is_empty());
        let speakers: Vec<Speaker> = transcript(&[
            message("a", "business", None),
            message("b", "business", Some(("x", 1, 1))),
        ])
        .into_iter()
        .map(|line| line.speaker)
        .collect();
        assert_eq!(speakers, [Speaker::HumanAgent, Speaker::Bot]);
    }

    #[test]
    fn a_reply_cut_short_is_found_and_a_human_after_the_customer_is_seen() {
        let cut = vec![
            message("1", "user", None),
            message("2", "business", Some(("1", 1, 3))),
        ];
        assert_eq!(interrupted_reply(&cut), Some("1"));
        let whole = vec![
            message("1", "user", None),
            message("2", "business", Some(("1", 1, 2))),
            message("3", "business", Some(("1", 2, 2))),
        ];
        assert_eq!(interrupted_reply(&whole), None);
        let human = vec![message("1", "user", None), message("2", "business", None)];
        assert!(human_wrote_after(&human, "1"));
        assert!(!human_wrote_after(&whole, "1"));
    }
}
