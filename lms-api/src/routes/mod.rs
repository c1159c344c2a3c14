//! The API's handlers, one module per resource. Thin: they read the request, ask `policy`, call a store and
//! answer with a view. `router` says which path reaches which handler.

pub(crate) mod accounts;
pub(crate) mod courses;
pub(crate) mod direct_uploads;
pub(crate) mod enrollments;
pub(crate) mod header_limit;
pub(crate) mod jobs;
pub(crate) mod media_objects;
pub(crate) mod modules;
pub mod ops;
pub(crate) mod sign_in;
pub(crate) mod uploads;
pub(crate) mod users;
