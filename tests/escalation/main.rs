//! Hand-offs to humans: the escalate tool on both paths, the dead-letter safety net, the
//! webhook agent backend, and the tool's published descriptions.

mod bad_requests;
mod create_ticket;
mod dead_letters;
mod descriptions;
mod security;
mod tool;
mod webhook_agent;
