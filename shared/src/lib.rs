//! Deskmate's shared core, organised by behaviour:
//!
//! - the two paths: [`email_path`] (tickets) and [`widget_path`] (Web Widget conversations);
//! - the protocols both paths share: [`reply_once`] (one reply per customer message),
//!   [`handoff`] (durable, resumable hand-offs to humans) and [`failure`] (retry, hand-off,
//!   dead-letter or drop), applied to queue batches by [`sqs_batch`];
//! - reading threads: [`ticket_thread`] and [`conversation_thread`];
//! - ports with their adapters: [`state`] (DynamoDB / memory), [`queue`] (SQS / memory),
//!   [`secrets`], [`zendesk`] (Support and Conversations APIs), [`agent`] (AI backends);
//! - the domain nouns, configuration, ingress helpers and wiring.

pub mod agent;
pub mod auth;
pub mod aws;
pub mod config;
pub mod conversation_thread;
pub mod domain;
pub mod email_path;
pub mod failure;
pub mod handoff;
pub mod http_retry;
pub mod ingress;
pub mod queue;
pub mod render;
pub mod reply_once;
pub mod secrets;
pub mod sqs_batch;
pub mod state;
pub mod telemetry;
pub mod ticket_thread;
pub mod widget_path;
pub mod zendesk;
