//! The Canvas layer: a shape, not a second model. How parameters come in (Rack brackets in forms and query
//! strings, or JSON) and how lists go out (pages with absolute `Link` headers), in one place for every route.
//! The JSON views themselves are in `views`; the error body in `error`.

pub mod form;
pub mod pagination;
pub mod params;

pub use pagination::{Origin, Pagination};
pub use params::{Params, lenient};
