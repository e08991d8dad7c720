//! The Web Widget path end to end: the sandbox's Conversations app calls the conversations
//! webhook, jobs travel through SQS (moto), the worker answers through the Conversations API.

mod bad_requests;
mod conformance;
mod replies;
