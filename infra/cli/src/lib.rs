//! The `deskmate` operator CLI's library: local runs (demo, dev server) and store setup.

pub mod admin;
pub mod aws;
pub mod demo;
pub mod doctor;
pub mod input;
pub mod local;
pub mod sandbox;
pub mod server;
pub mod setup;
pub mod update;
pub mod zendesk_admin;
