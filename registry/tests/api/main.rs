//! The registry's API test suite: every test runs against SQLite and, when `DATABASE_URL`
//! is set, against PostgreSQL (each test in its own schema).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod compatibility;
mod concurrency;
mod config_mode;
mod deletes;
mod limits;
mod references;
mod subjects;
mod transport;
