//! The tenant a request acts for, from the `X-Tenant-Id` header.
//!
//! Authentication is in front of this server (a gateway sets the header); the API's part is to scope every
//! query by it. Without the header, the request acts for the `default` tenant, so a single-school install
//! needs no configuration.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lms_pipeline::StorageKey;

use crate::ApiError;

/// The tenant of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("x-tenant-id") else { return Ok(Tenant("default".into())) };
        let name = value.to_str().map_err(|_| ApiError::BadRequest {
            code: "invalid-tenant",
            message: "the X-Tenant-Id header is not ASCII".into(),
        })?;
        // Tenants name storage folders: the same rules as any key part.
        StorageKey::source(name, "x", "x").map_err(|error| ApiError::BadRequest {
            code: "invalid-tenant",
            message: format!("the X-Tenant-Id header: {error}"),
        })?;
        Ok(Tenant(name.to_owned()))
    }
}
