//! The API's routes, one module per resource.

pub(crate) mod direct_uploads;
mod header_limit;
pub(crate) mod jobs;
pub mod ops;
pub(crate) mod uploads;
