//! The bucketshare binary's library: configuration, database, the console router, the
//! `serve` command and the admin CLI. `main.rs` only parses the command line and dispatches.

// The console's view types are deep; laying them out in release builds needs more than the
// default 128 levels.
#![recursion_limit = "256"]

pub mod cli;
pub mod config;
pub mod db;
pub mod listen;
pub mod s3;
pub mod serve;
pub mod sessions;
pub mod site;
pub mod store;
pub mod transfers;
pub mod web;
pub mod webhooks;
pub mod zip;
