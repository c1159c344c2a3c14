//! The API in process: every endpoint and permission, on SQLite and PostgreSQL, through [`app::TestApp`].
//! One test binary, modules named after the resources.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod app;
mod auth;
mod courses;
mod jobs;
mod limits;
mod modules;
mod openapi;
mod tenancy;
mod tokens;
