//! In-process tests of the console router, driven with `tower::ServiceExt::oneshot` against a
//! real SQLite database on disk in a temporary data dir.

// A test says what it expects by unwrapping; the workspace's ban is for code that serves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod cli;
mod console;
mod first_admin;
mod hardening;
mod health;
mod links;
mod login;
mod pages;
mod password;
mod s3;
mod s3env;
mod store;
mod uploads;
mod webhooks;
