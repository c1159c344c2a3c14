//! Courses: `POST|GET /api/v1/accounts/{id}/courses`, `GET /api/v1/courses` (the caller's),
//! `GET /api/v1/users/{id}/courses`, `GET|PUT /api/v1/courses/{id}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use lms_db::{AccountId, CourseId, Scope, Tx, UserId};
use serde::Deserialize;

use crate::accounts::store::now_ms;
use crate::auth::Principal;
use crate::canvas::{Pagination, Params, lenient};
use crate::catalog::course_access;
use crate::catalog::courses::{self, Course, CourseFields, CourseState};
use crate::catalog::enrollments::{self, Enrollment, EnrollmentFilter, EnrollmentState, EnrollmentType, NewEnrollment};
use crate::error::{echo, forbidden, not_found, unprocessable};
use crate::policy::{Action, CourseAccess, may};
use crate::views::courses::{CourseEnrollmentView, CourseProgressView, CourseView};
use crate::views::parse_time;
use crate::{ApiError, AppState};

/// A course's settings as Canvas clients send them (`course[name]=…`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct CourseParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(min_length = 1, max_length = 255)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    course_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    public_description: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    start_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    end_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    self_enrollment: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    seat_cap: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    event: Option<String>,
}

/// Body of `POST /api/v1/accounts/{id}/courses`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateCourse {
    #[serde(default)]
    #[schema(required = true)]
    course: CourseParams,
    /// Publish at once.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    offer: Option<bool>,
    /// Enroll the caller as a teacher.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    enroll_me: Option<bool>,
}

/// Body of `PUT /api/v1/courses/{id}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateCourse {
    #[serde(default)]
    course: CourseParams,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    offer: Option<bool>,
}

/// Reads and checks the fields; every refusal names its field.
fn course_fields(params: &CourseParams, creating: bool) -> Result<CourseFields, ApiError> {
    let text = |field: &str, value: &Option<String>, max: usize| -> Result<Option<String>, ApiError> {
        match value.as_deref().map(str::trim) {
            Some(text) if text.chars().count() > max => {
                Err(unprocessable(format!("course[{field}]"), format!("at most {max} characters")))
            }
            Some("") if field == "name" => Err(unprocessable("course[name]", "must not be empty")),
            Some(text) => Ok(Some(text.to_owned())),
            None => Ok(None),
        }
    };
    let time = |field: &str, value: &Option<String>| -> Result<Option<Option<i64>>, ApiError> {
        match value.as_deref().map(str::trim) {
            None => Ok(None),
            Some("") => Ok(Some(None)),
            Some(text) => parse_time(text).map(|ms| Some(Some(ms))).ok_or_else(|| {
                unprocessable(format!("course[{field}]"), format!("{:?} is not an ISO 8601 time", echo(text)))
            }),
        }
    };
    let seat_cap = match params.seat_cap.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(text) => match text.parse::<i64>() {
            Ok(cap) if cap >= 0 => Some(Some(cap)),
            _ => return Err(unprocessable("course[seat_cap]", "a whole number from 0")),
        },
    };
    let fields = CourseFields {
        name: text("name", &params.name, 255)?,
        course_code: text("course_code", &params.course_code, 255)?,
        description: text("public_description", &params.public_description, 65_536)?
            .map(|html| crate::views::sanitize_html(&html)),
        start_at_ms: time("start_at", &params.start_at)?,
        end_at_ms: time("end_at", &params.end_at)?,
        self_enrollment: params.self_enrollment,
        seat_cap,
        state: None,
    };
    if creating && fields.name.is_none() && fields.course_code.is_none() {
        return Err(unprocessable("course[name]", "a course needs a name"));
    }
    if let (Some(Some(start)), Some(Some(end))) = (fields.start_at_ms, fields.end_at_ms) {
        if end < start {
            return Err(unprocessable("course[end_at]", "ends before it starts"));
        }
    }
    Ok(fields)
}

/// `POST /api/v1/accounts/{id}/courses`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/courses",
    tag = "courses",
    params(crate::openapi::AccountPath),
    request_body(content = CreateCourse, content_type = "application/json"),
    responses((status = 200, description = "The new course", body = CourseView)),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(body): Params<CreateCourse>,
) -> Result<Json<CourseView>, ApiError> {
    let account = own_account(&principal, &id)?;
    if !may(&principal, Action::CreateCourse(account)) {
        return Err(forbidden("only the account's admins create courses"));
    }
    let mut fields = course_fields(&body.course, true)?;
    if body.offer == Some(true) {
        fields.state = Some(CourseState::Available);
    }
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let course = courses::create(&mut tx, account, &fields).await?;
    if body.enroll_me == Some(true) {
        let teacher = NewEnrollment {
            course_id: course.id,
            user_id: principal.user_id,
            kind: EnrollmentType::Teacher,
            state: EnrollmentState::Active,
            start_at_ms: None,
            end_at_ms: None,
        };
        enrollments::upsert(&mut tx, account, &teacher).await?;
    }
    lms_db::commit(tx).await?;
    Ok(Json(CourseView::new(&course, true)))
}

/// `GET /api/v1/accounts/{id}/courses`: the account's courses, for its admins.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{id}/courses",
    tag = "courses",
    params(crate::openapi::AccountPath, crate::openapi::PageQuery, ("include[]" = Option<Vec<String>>, Query, description = "`total_students`, `course_progress`")),
    responses((status = 200, description = "The account's courses", body = Vec<CourseView>)),
)]
pub(crate) async fn list_in_account(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    pagination: Pagination,
    Params(include): Params<Include>,
) -> Result<Response, ApiError> {
    let account = own_account(&principal, &id)?;
    if !may(&principal, Action::ReadAccount(account)) {
        return Err(not_found(format!("account {}", echo(&id))));
    }
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let found = courses::list_in_account(&mut tx, account, pagination.offset(), pagination.fetch_limit()).await?;
    let views =
        with_totals(&mut tx, account, &found, include.wants("total_students"), |course| CourseView::new(course, true))
            .await?;
    lms_db::commit(tx).await?;
    Ok(pagination.respond(views))
}

/// `include[]=…` of a list.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Include {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    enrollment_state: Option<String>,
}

impl Include {
    fn wants(&self, what: &str) -> bool {
        self.include.iter().any(|item| item == what)
    }
}

async fn with_totals(
    tx: &mut Tx,
    account: AccountId,
    found: &[Course],
    totals: bool,
    view: impl Fn(&Course) -> CourseView,
) -> Result<Vec<CourseView>, ApiError> {
    let counts: BTreeMap<CourseId, i64> = if totals {
        let ids: Vec<CourseId> = found.iter().map(|course| course.id).collect();
        courses::student_counts(tx, account, &ids).await?.into_iter().collect()
    } else {
        BTreeMap::new()
    };
    Ok(found
        .iter()
        .map(|course| {
            let mut shown = view(course);
            if totals {
                shown.total_students = Some(counts.get(&course.id).copied().unwrap_or(0));
            }
            shown
        })
        .collect())
}

/// `GET /api/v1/courses`: the caller's courses, each with the caller's enrollments in it.
#[utoipa::path(
    get,
    path = "/api/v1/courses",
    tag = "courses",
    params(crate::openapi::PageQuery, ("include[]" = Option<Vec<String>>, Query, description = "`total_students`, `course_progress`"), ("enrollment_state" = Option<String>, Query, description = "`active`, `invited_or_pending` or `completed`")),
    responses((status = 200, description = "The caller's courses", body = Vec<CourseView>)),
)]
pub(crate) async fn list_mine(
    State(state): State<AppState>,
    principal: Principal,
    pagination: Pagination,
    Params(include): Params<Include>,
) -> Result<Response, ApiError> {
    let user = principal.user_id;
    courses_of(&state, &principal, user, pagination, include).await
}

/// `GET /api/v1/users/{id}/courses`: a user's courses (the caller's own, or any user's for an admin).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/courses",
    tag = "courses",
    params(crate::openapi::UserPath, crate::openapi::PageQuery, ("include[]" = Option<Vec<String>>, Query, description = "`total_students`, `course_progress`")),
    responses((status = 200, description = "The user's courses", body = Vec<CourseView>)),
)]
pub(crate) async fn list_of_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    pagination: Pagination,
    Params(include): Params<Include>,
) -> Result<Response, ApiError> {
    let user = if id == "self" {
        principal.user_id
    } else {
        id.parse().map_err(|_| not_found(format!("user {}", echo(&id))))?
    };
    if !may(&principal, Action::ReadUser(user)) {
        return Err(not_found(format!("user {}", echo(&id))));
    }
    courses_of(&state, &principal, user, pagination, include).await
}

/// Enrollments one user may have: more is not a user.
const MAX_ENROLLMENTS_LISTED: i64 = 5_000;

async fn courses_of(
    state: &AppState,
    principal: &Principal,
    user: UserId,
    pagination: Pagination,
    include: Include,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let wanted_states: Vec<EnrollmentState> = match include.enrollment_state.as_deref() {
        None => vec![EnrollmentState::Active, EnrollmentState::Invited],
        Some("active") => vec![EnrollmentState::Active],
        Some("invited_or_pending") => vec![EnrollmentState::Invited],
        Some("completed") => vec![EnrollmentState::Completed],
        Some(other) => {
            return Err(unprocessable(
                "enrollment_state",
                format!("{:?} is not active, invited_or_pending or completed", echo(other)),
            ));
        }
    };
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let filter =
        EnrollmentFilter { user_id: Some(user), states: EnrollmentState::ALL.to_vec(), ..EnrollmentFilter::default() };
    let mine = enrollments::list(&mut tx, principal.account_id, &filter, 0, MAX_ENROLLMENTS_LISTED).await?;
    // The caller's enrollments that the list asks for, by course.
    let mut by_course: BTreeMap<CourseId, Vec<&Enrollment>> = BTreeMap::new();
    for enrollment in mine.iter().filter(|enrollment| wanted_states.contains(&enrollment.effective_state(now))) {
        by_course.entry(enrollment.course_id).or_default().push(enrollment);
    }
    let ids: Vec<CourseId> = by_course.keys().copied().collect();
    let found = courses::find_many(&mut tx, principal.account_id, &ids).await?;
    // Courses the user's enrollments do not let it see (unpublished for a student, deleted) are left out.
    let visible: Vec<Course> = found
        .into_iter()
        .filter(|course| {
            let theirs = by_course.get(&course.id).into_iter().flatten().copied();
            let access = CourseAccess::new(false, course.state, theirs, now);
            course.state != CourseState::Deleted
                && (may(principal, Action::ReadCourse(&access)) || principal.account_admin)
        })
        .collect();
    let start = usize::try_from(pagination.offset()).unwrap_or(usize::MAX);
    let page: Vec<Course> =
        visible.into_iter().skip(start).take(usize::try_from(pagination.fetch_limit()).unwrap_or(0)).collect();
    let views = with_totals(&mut tx, principal.account_id, &page, include.wants("total_students"), |course| {
        let mut view = CourseView::new(course, false);
        view.enrollments = by_course.get(&course.id).map(|theirs| {
            theirs
                .iter()
                .map(|enrollment| CourseEnrollmentView {
                    kind: enrollment.kind.short(),
                    role: enrollment.kind.as_str(),
                    enrollment_state: enrollment.effective_state(now).as_str(),
                    user_id: enrollment.user_id.0,
                })
                .collect()
        });
        view
    })
    .await?;
    lms_db::commit(tx).await?;
    Ok(pagination.respond(views))
}

/// `GET /api/v1/courses/{id}` (`include[]=total_students`, `include[]=course_progress` for a learner).
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}",
    tag = "courses",
    params(crate::openapi::CoursePath, ("include[]" = Option<Vec<String>>, Query, description = "`total_students`, `course_progress`")),
    responses((status = 200, description = "The course", body = CourseView)),
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(include): Params<Include>,
) -> Result<Json<CourseView>, ApiError> {
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let progress = if include.wants("course_progress") {
        crate::routes::modules::course_progress(&mut tx, &principal, &course, &access, None).await?
    } else {
        None
    };
    let views = with_totals(
        &mut tx,
        principal.account_id,
        std::slice::from_ref(&course),
        include.wants("total_students"),
        |course| CourseView::new(course, may(&principal, Action::ManageCourse(&access))),
    )
    .await?;
    lms_db::commit(tx).await?;
    let mut view = views.into_iter().next().ok_or_else(|| not_found(format!("course {}", echo(&id))))?;
    view.course_progress = progress.as_ref().map(CourseProgressView::from);
    Ok(Json(view))
}

/// `PUT /api/v1/courses/{id}`: settings, and `course[event]` (`offer`, `claim`, `conclude`, `delete`; a
/// deleted course is gone for every caller). The answer is the course, with its `name` (canvasapi reads it).
#[utoipa::path(
    put,
    path = "/api/v1/courses/{id}",
    tag = "courses",
    params(crate::openapi::CoursePath),
    request_body(content = UpdateCourse, content_type = "application/json"),
    responses((status = 200, description = "The course as changed", body = CourseView)),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(body): Params<UpdateCourse>,
) -> Result<Json<CourseView>, ApiError> {
    let mut fields = course_fields(&body.course, false)?;
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    if !may(&principal, Action::ManageCourse(&access)) {
        return Err(forbidden("only the course's teachers and the account's admins change it"));
    }
    let event = body.course.event.as_deref().map(str::trim).filter(|event| !event.is_empty());
    fields.state = match (event, body.offer) {
        (Some(event), _) => Some(course.state.after_event(event).ok_or_else(|| {
            unprocessable("course[event]", format!("{:?} is not offer, claim, conclude or delete", echo(event)))
        })?),
        (None, Some(true)) => Some(CourseState::Available),
        (None, _) => None,
    };
    let changed = courses::update(&mut tx, &course, &fields).await?;
    lms_db::commit(tx).await?;
    Ok(Json(CourseView::new(&changed, true)))
}

/// The course a path names when the caller may see it; not found otherwise, whether or not it exists.
pub(crate) async fn readable_course(
    tx: &mut Tx,
    principal: &Principal,
    id: &str,
) -> Result<(Course, CourseAccess), ApiError> {
    let missing = || not_found(format!("course {}", echo(id)));
    let course_id: CourseId = id.parse().map_err(|_| missing())?;
    let (course, access) = course_access(tx, principal, course_id).await?.ok_or_else(missing)?;
    if may(principal, Action::ReadCourse(&access)) { Ok((course, access)) } else { Err(missing()) }
}

/// The account a path names (`self` is the caller's); another account is not found.
fn own_account(principal: &Principal, id: &str) -> Result<AccountId, ApiError> {
    let account = if id == "self" {
        principal.account_id
    } else {
        id.parse().map_err(|_| not_found(format!("account {}", echo(id))))?
    };
    if account == principal.account_id { Ok(account) } else { Err(not_found(format!("account {}", echo(id)))) }
}
