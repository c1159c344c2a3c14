//! `lms-scorm` owns SCORM packages: reading a package zip safely through its central directory, the manifest
//! model for SCORM 1.2 and 2004, the validation rules with stable ids, and the reports CI pipelines read.
//!
//! It does no network I/O and needs no async runtime.

#![deny(missing_docs)]

pub mod archive;
pub mod error;
pub mod finding;
pub mod fuzz;
pub mod inspect;
pub mod manifest;
pub mod paths;
pub mod profile;
pub mod report;
pub mod rules;
pub mod standard;
pub mod unpack;
pub mod validate;
pub mod xml;

pub use archive::{Limits, Package};
pub use error::ScormError;
pub use finding::{Finding, Severity};
pub use profile::Profile;
pub use standard::{Detection, Standard};
pub use validate::{Options, Report, Verdict, validate_package_bytes, validate_path};
