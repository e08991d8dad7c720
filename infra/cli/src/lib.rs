//! The `deskmate` operator CLI's library: local runs (demo, dev server) and store setup.

pub mod admin;
pub mod demo;
pub mod local;
pub mod sandbox;
pub mod server;
pub mod setup;
