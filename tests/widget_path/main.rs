//! The Web Widget path end to end: the sandbox's Conversations app calls the conversations
//! webhook, jobs travel through SQS (moto), the worker answers through the Conversations API.

mod bad_requests;
mod big_payloads;
mod conformance;
mod other_channels;
mod replies;
mod security;
#[path = "../support/spec_check.rs"]
mod spec_check;
