//! The API's OpenAPI 3.1 document, generated from the code and served at `/api/v1/openapi.json`.
//!
//! Each handler declares its path, parameters and success answer with `#[utoipa::path]`, and the router
//! registers it through `utoipa_axum::routes!`, so a route cannot exist without its documentation. What
//! every operation shares is added here once: bearer authentication, and the error answers (Canvas's
//! `{"errors": [...]}`) that any operation may give.

use std::collections::BTreeMap;

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

/// The document's fixed parts; the router adds the paths, then [`complete`] what they share.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lms-media API",
        description = "The LMS API of lms-media, in Canvas's REST shape where Canvas has the resource \
            (docs/API.md). Bodies are JSON or form-encoded with Rack brackets (`course[name]=...`); lists \
            are paginated with `page`/`per_page` and an absolute `Link` header.",
    ),
    components(schemas(ErrorsBody)),
    tags(
        (name = "accounts", description = "Accounts (tenants) and their users"),
        (name = "users", description = "Users and their access tokens"),
        (name = "courses", description = "Courses"),
        (name = "enrollments", description = "Who takes part in a course, and how"),
        (name = "modules", description = "Modules, items, pages and learners' progress"),
        (name = "media", description = "Lectures of a course (media objects)"),
        (name = "jobs", description = "Uploads and the transcode jobs they become"),
    )
)]
pub(crate) struct ApiDoc;

/// Canvas's error body: every refusal and failure answers with it.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Documentation only: `error.rs` writes the body.
pub(crate) struct ErrorsBody {
    /// One entry (the API reports the first problem it finds).
    errors: Vec<ErrorMessage>,
}

/// One problem.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Documentation only.
pub(crate) struct ErrorMessage {
    /// What is wrong, and where (a refused field is named).
    message: String,
    /// A stable code (`not-found`, `invalid-field`, ...).
    code: String,
}

/// Canvas's pagination parameters, on every list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documentation only: `canvas::Pagination` reads them.
pub(crate) struct PageQuery {
    /// The page, from 1.
    #[param(minimum = 1, maximum = 100000)]
    page: Option<u32>,
    /// Items per page (10 when absent; at most 100).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
}

/// Adds what every operation shares, once the router has added the operations.
pub(crate) fn complete(openapi: &mut utoipa::openapi::OpenApi) {
    Conventions.modify(openapi);
}

/// What every operation shares.
struct Conventions;

/// The error answers any operation may give, by status.
const ERRORS: &[(&str, &str)] = &[
    ("400", "The parameters or body could not be read"),
    ("401", "No token, or a token that is unknown, expired or revoked (with `WWW-Authenticate`)"),
    ("403", "The caller sees the resource but may not do this"),
    ("404", "Not found, or not visible to the caller"),
    ("409", "A conflict with what is stored"),
    ("413", "The body is too large"),
    ("415", "The body's type is not accepted"),
    ("422", "A field's value is refused; the message names the field"),
    ("429", "Over the token's rate limit (`X-Rate-Limit-Remaining: 0`)"),
    ("503", "A service the server needs is briefly unavailable: try again"),
];

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An access token (`lmsm_...`) from `POST /api/v1/users/self/tokens` or the CLI"))
                    .build(),
            ),
        );
        openapi.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
        for item in openapi.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                add_errors(operation);
            }
        }
    }
}

fn add_errors(operation: &mut Operation) {
    let responses: &mut BTreeMap<String, RefOr<Response>> = &mut operation.responses.responses;
    for (status, description) in ERRORS {
        responses.entry((*status).to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorsBody"))).build(),
                    )
                    .build(),
            )
        });
    }
}

/// Canvas's `{"success": true}`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Documentation only.
pub(crate) struct Success {
    /// Always true.
    success: bool,
}

/// Canvas's `{"message": "OK"}`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Documentation only.
pub(crate) struct Message {
    /// `OK`.
    message: String,
}

/// What a learner has watched of a video, after a progress report.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Documentation only.
pub(crate) struct WatchAnswer {
    /// The share of the video watched, from 0 to 1.
    watched_fraction: f64,
    /// Whether that meets must_view (90 %).
    completed: bool,
}

/// A lecture upload (multipart): the video, and subtitles per language.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Documentation only: uploads are read as a stream.
pub(crate) struct LectureUpload {
    /// The video (MP4, MOV, MKV, WebM, AVI, FLV or MPEG), after the other parts.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// The lecture's title (media objects only).
    title: Option<String>,
    /// A subtitle track (WebVTT or SRT) per language, as parts named `subtitle.<language>`, e.g.
    /// `subtitle.en`.
    #[schema(rename = "subtitle.en", format = Binary)]
    subtitle_en: Option<Vec<u8>>,
}

/// The path parameter of a course's routes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documentation only: handlers read the path as text.
pub(crate) struct CoursePath {
    /// The course
    id: i64,
}

/// The path parameters of a module's routes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documentation only.
pub(crate) struct ModulePath {
    /// The course
    id: i64,
    /// The module
    module_id: i64,
}

/// The path parameters of a module item's routes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documentation only.
pub(crate) struct ItemPath {
    /// The course
    id: i64,
    /// The module
    module_id: i64,
    /// The module item
    item_id: i64,
}

/// The path parameter of an account's routes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documentation only.
pub(crate) struct AccountPath {
    /// The account (its id, or `self`)
    id: i64,
}

/// The path parameter of a user's routes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documentation only.
pub(crate) struct UserPath {
    /// The user (its id, or `self`)
    id: i64,
}
