//! Deskmate's shared core: the domain, the rules of both paths, the ports they need and the
//! adapters behind them (DynamoDB, SQS, Secrets Manager, Zendesk, agent backends).

pub mod agent;
pub mod auth;
pub mod aws;
pub mod config;
pub mod conversation_flow;
pub mod domain;
pub mod escalation;
pub mod handoff;
pub mod http_retry;
pub mod ingress;
pub mod jobs;
pub mod queue;
pub mod render;
pub mod secrets;
pub mod sqs_batch;
pub mod state;
pub mod telemetry;
pub mod ticket_flow;
pub mod zendesk;
