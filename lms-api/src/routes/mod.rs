//! The API's routes, one module per resource.

pub(crate) mod jobs;
pub(crate) mod ops;
pub(crate) mod uploads;
