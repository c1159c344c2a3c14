//! `lms-api` owns the LMS server: the catalog, enrollments, assessments, uploads and transcoding jobs, SCORM
//! launch and tracking, each row scoped to its tenant.
//!
//! Not built yet: this crate holds the place the design gives it, so the workspace has its final shape.

#![deny(missing_docs)]
