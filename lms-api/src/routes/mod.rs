//! The API's routes, one module per resource.

pub(crate) mod direct_uploads;
pub(crate) mod jobs;
pub mod ops;
pub(crate) mod uploads;
