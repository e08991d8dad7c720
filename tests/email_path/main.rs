//! The email & ticket path end to end: the sandbox's triggers call the ticket webhook, jobs
//! travel through SQS (moto), the reply worker answers through the sandbox's Support API.

mod bad_requests;
mod draft_mode;
mod help_center;
mod human_takeover;
mod llm_servers;
mod replies;
