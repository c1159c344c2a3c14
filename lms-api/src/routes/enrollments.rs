//! Enrollments: `POST|GET /api/v1/courses/{id}/enrollments`, `DELETE /api/v1/courses/{id}/enrollments/{id}`
//! (`task=conclude|delete|inactivate|deactivate`), `POST …/enrollments/{id}/accept`,
//! `GET /api/v1/users/{id}/enrollments`, and the roster as users: `GET /api/v1/courses/{id}/search_users`,
//! `GET /api/v1/courses/{id}/users/{user_id}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use lms_db::{EnrollmentId, Scope, UserId};
use serde::Deserialize;

use crate::accounts::store::{self as users_store, now_ms};
use crate::auth::Principal;
use crate::canvas::{Pagination, Params, lenient};
use crate::catalog::courses::CourseState;
use crate::catalog::enrollments::{self, Enrollment, EnrollmentFilter, EnrollmentState, EnrollmentType, NewEnrollment};
use crate::error::{echo, forbidden, not_found, unprocessable};
use crate::policy::{Action, may};
use crate::routes::courses::readable_course;
use crate::views::courses::EnrollmentView;
use crate::views::parse_time;
use crate::views::users::UserView;
use crate::{ApiError, AppState};

/// Body of `POST /api/v1/courses/{id}/enrollments`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateEnrollment {
    #[serde(default)]
    #[schema(required = true)]
    enrollment: EnrollmentParams,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct EnrollmentParams {
    /// The user (a learner enrolling itself with a code may leave it out).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(required = true, pattern = "^[0-9]+$")]
    user_id: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    #[schema(
        required = true,
        pattern = "^(StudentEnrollment|TeacherEnrollment|TaEnrollment|DesignerEnrollment|ObserverEnrollment)$"
    )]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    enrollment_state: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    start_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    end_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    self_enrollment_code: Option<String>,
}

/// `POST /api/v1/courses/{id}/enrollments`: staff enroll a user of the account; a learner enrolls itself
/// with the course's code (`enrollment[self_enrollment_code]`, `enrollment[user_id]=self`), within the seat
/// cap. Enrolling again renews the same enrollment.
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/enrollments",
    tag = "enrollments",
    params(crate::openapi::CoursePath),
    request_body(content = CreateEnrollment, content_type = "application/json"),
    responses((status = 200, description = "The enrollment", body = EnrollmentView)),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(body): Params<CreateEnrollment>,
) -> Result<Json<EnrollmentView>, ApiError> {
    let params = body.enrollment;
    if let Some(code) = params.self_enrollment_code.as_deref().map(str::trim).filter(|code| !code.is_empty()) {
        return self_enroll(&state, &principal, &id, code).await;
    }
    let user_id = match params.user_id.as_deref().map(str::trim) {
        Some("self") => principal.user_id,
        Some(text) => text.parse().map_err(|_| unprocessable("enrollment[user_id]", "a user id is required"))?,
        None => return Err(unprocessable("enrollment[user_id]", "a user id is required")),
    };
    let kind = match params.kind.as_deref().map(str::trim) {
        None | Some("") => EnrollmentType::Student,
        Some(text) => EnrollmentType::parse(text)
            .ok_or_else(|| unprocessable("enrollment[type]", format!("{:?} is not an enrollment type", echo(text))))?,
    };
    let enrollment_state = match params.enrollment_state.as_deref().map(str::trim) {
        None | Some("") => EnrollmentState::Invited,
        Some("active") => EnrollmentState::Active,
        Some("invited") => EnrollmentState::Invited,
        Some("inactive") => EnrollmentState::Inactive,
        Some(other) => {
            return Err(unprocessable(
                "enrollment[enrollment_state]",
                format!("{:?} is not active, invited or inactive", echo(other)),
            ));
        }
    };
    let window = |field: &str, value: &Option<String>| -> Result<Option<i64>, ApiError> {
        match value.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            None => Ok(None),
            Some(text) => parse_time(text).map(Some).ok_or_else(|| {
                unprocessable(format!("enrollment[{field}]"), format!("{:?} is not an ISO 8601 time", echo(text)))
            }),
        }
    };
    let new = NewEnrollment {
        course_id: lms_db::CourseId(0),
        user_id,
        kind,
        state: enrollment_state,
        start_at_ms: window("start_at", &params.start_at)?,
        end_at_ms: window("end_at", &params.end_at)?,
    };
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    if !may(&principal, Action::ManageEnrollments(&access)) {
        return Err(forbidden("only the course's teachers and the account's admins enroll users"));
    }
    let user = users_store::user(&mut tx, principal.account_id, user_id)
        .await?
        .ok_or_else(|| unprocessable("enrollment[user_id]", format!("no user {user_id} in this account")))?;
    let (enrollment, _) =
        enrollments::upsert(&mut tx, principal.account_id, &NewEnrollment { course_id: course.id, ..new }).await?;
    lms_db::commit(tx).await?;
    Ok(Json(EnrollmentView::new(&enrollment, Some(&user), now_ms())))
}

async fn self_enroll(
    state: &AppState,
    principal: &Principal,
    id: &str,
    code: &str,
) -> Result<Json<EnrollmentView>, ApiError> {
    let missing = || not_found(format!("course {}", echo(id)));
    let course_id: lms_db::CourseId = id.parse().map_err(|_| missing())?;
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    // Held until commit, so two learners taking the last seat at once cannot both have it.
    enrollments::lock_course(&mut tx, principal.account_id, course_id).await?;
    let course = crate::catalog::courses::find(&mut tx, principal.account_id, course_id).await?.ok_or_else(missing)?;
    // A wrong code is answered as a missing course: the code is the key to the course.
    if course.state != CourseState::Available || course.self_enrollment_code.as_deref() != Some(code) {
        return Err(missing());
    }
    let existing = enrollments::of_user_in_course(&mut tx, principal.account_id, course.id, principal.user_id).await?;
    let already = existing.iter().find(|e| e.kind == EnrollmentType::Student && e.state == EnrollmentState::Active);
    let enrollment = match already {
        Some(enrollment) => enrollment.clone(),
        None => {
            if let Some(cap) = course.seat_cap {
                if enrollments::active_students(&mut tx, principal.account_id, course.id).await? >= cap {
                    return Err(ApiError::Conflict {
                        code: "course-full",
                        message: format!("the course is full ({cap} seats)"),
                    });
                }
            }
            let new = NewEnrollment {
                course_id: course.id,
                user_id: principal.user_id,
                kind: EnrollmentType::Student,
                state: EnrollmentState::Active,
                start_at_ms: None,
                end_at_ms: None,
            };
            enrollments::upsert(&mut tx, principal.account_id, &new).await?.0
        }
    };
    let user = users_store::user(&mut tx, principal.account_id, principal.user_id).await?;
    lms_db::commit(tx).await?;
    Ok(Json(EnrollmentView::new(&enrollment, user.as_ref(), now_ms())))
}

/// Filters of an enrollment list, as canvasapi sends them (`type[]=…&state[]=…&user_id=…`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    #[serde(default, rename = "type")]
    types: Vec<String>,
    #[serde(default)]
    role: Vec<String>,
    #[serde(default)]
    state: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    user_id: Option<String>,
}

impl ListParams {
    fn filter(&self, principal: &Principal) -> Result<EnrollmentFilter, ApiError> {
        let mut types = Vec::new();
        for text in self.types.iter().chain(&self.role) {
            types.push(
                EnrollmentType::parse(text)
                    .ok_or_else(|| unprocessable("type[]", format!("{:?} is not an enrollment type", echo(text))))?,
            );
        }
        let mut states = Vec::new();
        for text in &self.state {
            states.push(
                EnrollmentState::parse(text)
                    .ok_or_else(|| unprocessable("state[]", format!("{:?} is not an enrollment state", echo(text))))?,
            );
        }
        let user_id = match self.user_id.as_deref() {
            None | Some("") => None,
            Some("self") => Some(principal.user_id),
            Some(text) => Some(text.parse().map_err(|_| unprocessable("user_id", "a user id"))?),
        };
        Ok(EnrollmentFilter { types, states, user_id, course_id: None })
    }
}

/// `GET /api/v1/courses/{id}/enrollments`: the roster for staff; a learner sees its own enrollments only.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/enrollments",
    tag = "enrollments",
    params(crate::openapi::CoursePath, crate::openapi::PageQuery, ("type[]" = Option<Vec<String>>, Query, description = "Enrollment types (`StudentEnrollment`, ...)"), ("state[]" = Option<Vec<String>>, Query, description = "Enrollment states"), ("user_id" = Option<String>, Query, description = "One user")),
    responses((status = 200, description = "The enrollments", body = Vec<EnrollmentView>)),
)]
pub(crate) async fn list_in_course(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    pagination: Pagination,
    Params(params): Params<ListParams>,
) -> Result<Response, ApiError> {
    let mut filter = params.filter(&principal)?;
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    if !may(&principal, Action::ReadRoster(&access)) {
        filter.user_id = Some(principal.user_id);
    }
    filter.course_id = Some(course.id);
    let found =
        enrollments::list(&mut tx, principal.account_id, &filter, pagination.offset(), pagination.fetch_limit())
            .await?;
    let views = with_users(&mut tx, &principal, &found).await?;
    lms_db::commit(tx).await?;
    Ok(pagination.respond(views))
}

/// `GET /api/v1/users/{id}/enrollments`: a user's enrollments (its own, or any user's for an admin).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/enrollments",
    tag = "enrollments",
    params(crate::openapi::UserPath, crate::openapi::PageQuery, ("type[]" = Option<Vec<String>>, Query, description = "Enrollment types"), ("state[]" = Option<Vec<String>>, Query, description = "Enrollment states")),
    responses((status = 200, description = "The enrollments", body = Vec<EnrollmentView>)),
)]
pub(crate) async fn list_of_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    pagination: Pagination,
    Params(params): Params<ListParams>,
) -> Result<Response, ApiError> {
    let user: UserId = if id == "self" {
        principal.user_id
    } else {
        id.parse().map_err(|_| not_found(format!("user {}", echo(&id))))?
    };
    if !may(&principal, Action::ReadUser(user)) {
        return Err(not_found(format!("user {}", echo(&id))));
    }
    let mut filter = params.filter(&principal)?;
    filter.user_id = Some(user);
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let found =
        enrollments::list(&mut tx, principal.account_id, &filter, pagination.offset(), pagination.fetch_limit())
            .await?;
    let views = with_users(&mut tx, &principal, &found).await?;
    lms_db::commit(tx).await?;
    Ok(pagination.respond(views))
}

async fn with_users(
    tx: &mut lms_db::Tx,
    principal: &Principal,
    found: &[Enrollment],
) -> Result<Vec<EnrollmentView>, ApiError> {
    let mut ids: Vec<UserId> = found.iter().map(|enrollment| enrollment.user_id).collect();
    ids.sort();
    ids.dedup();
    let users: BTreeMap<UserId, crate::accounts::User> = users_store::users_by_ids(tx, principal.account_id, &ids)
        .await?
        .into_iter()
        .map(|user| (user.id, user))
        .collect();
    let now = now_ms();
    Ok(found.iter().map(|enrollment| EnrollmentView::new(enrollment, users.get(&enrollment.user_id), now)).collect())
}

/// Body of `DELETE /api/v1/courses/{id}/enrollments/{enrollment_id}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EndEnrollment {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    task: Option<String>,
}

/// `DELETE /api/v1/courses/{id}/enrollments/{enrollment_id}` with `task` (`conclude` when absent, as in
/// Canvas): the enrollment, changed.
#[utoipa::path(
    delete,
    path = "/api/v1/courses/{id}/enrollments/{enrollment_id}",
    tag = "enrollments",
    params(crate::openapi::CoursePath, ("enrollment_id" = i64, Path, description = "The enrollment"), ("task" = Option<String>, Query, description = "`conclude` (the default), `delete`, `inactivate` or `deactivate`")),
    responses((status = 200, description = "The enrollment as ended", body = EnrollmentView)),
)]
pub(crate) async fn end(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, enrollment_id)): Path<(String, String)>,
    Params(body): Params<EndEnrollment>,
) -> Result<Json<EnrollmentView>, ApiError> {
    let task = body.task.as_deref().map(str::trim).filter(|task| !task.is_empty()).unwrap_or("conclude");
    let new_state = EnrollmentState::after_task(task).ok_or_else(|| {
        unprocessable("task", format!("{:?} is not conclude, delete, inactivate or deactivate", echo(task)))
    })?;
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let missing = || not_found(format!("enrollment {}", echo(&enrollment_id)));
    let enrollment_id: EnrollmentId = enrollment_id.parse().map_err(|_| missing())?;
    let enrollment =
        enrollments::find(&mut tx, principal.account_id, course.id, enrollment_id).await?.ok_or_else(missing)?;
    if !may(&principal, Action::ManageEnrollments(&access)) {
        return Err(if enrollment.user_id == principal.user_id {
            forbidden("only the course's teachers and the account's admins end enrollments")
        } else {
            missing()
        });
    }
    let changed = enrollments::set_state(&mut tx, &enrollment, new_state).await?;
    let user = users_store::user(&mut tx, principal.account_id, changed.user_id).await?;
    lms_db::commit(tx).await?;
    Ok(Json(EnrollmentView::new(&changed, user.as_ref(), now_ms())))
}

/// `POST /api/v1/courses/{id}/enrollments/{enrollment_id}/accept`: the invited user joins.
#[utoipa::path(
    post,
    path = "/api/v1/courses/{id}/enrollments/{enrollment_id}/accept",
    tag = "enrollments",
    params(crate::openapi::CoursePath, ("enrollment_id" = i64, Path, description = "The enrollment")),
    responses((status = 200, description = "Canvas's success answer", body = crate::openapi::Success)),
)]
pub(crate) async fn accept(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, enrollment_id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let missing = || not_found(format!("enrollment {}", echo(&enrollment_id)));
    let course_id: lms_db::CourseId = id.parse().map_err(|_| not_found(format!("course {}", echo(&id))))?;
    let enrollment_id: EnrollmentId = enrollment_id.parse().map_err(|_| missing())?;
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let enrollment = enrollments::find(&mut tx, principal.account_id, course_id, enrollment_id)
        .await?
        .filter(|enrollment| enrollment.user_id == principal.user_id)
        .ok_or_else(missing)?;
    match enrollment.state {
        EnrollmentState::Invited => {
            enrollments::set_state(&mut tx, &enrollment, EnrollmentState::Active).await?;
        }
        EnrollmentState::Active => {}
        _ => {
            return Err(ApiError::Conflict {
                code: "not-invited",
                message: "the enrollment is not an invitation".into(),
            });
        }
    }
    lms_db::commit(tx).await?;
    Ok(Json(serde_json::json!({ "success": true })))
}

/// `include[]` and filters of `search_users`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchUsers {
    #[serde(default)]
    enrollment_type: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

/// `GET /api/v1/courses/{id}/search_users`: the people of the course, with `include[]=enrollments`; only the
/// course's staff and the account's admins see their email addresses.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/search_users",
    tag = "enrollments",
    params(crate::openapi::CoursePath, crate::openapi::PageQuery, ("enrollment_type[]" = Option<Vec<String>>, Query, description = "`student`, `teacher`, ..."), ("include[]" = Option<Vec<String>>, Query, description = "`enrollments`")),
    responses((status = 200, description = "The people of the course", body = Vec<UserView>)),
)]
pub(crate) async fn search_users(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    pagination: Pagination,
    Params(params): Params<SearchUsers>,
) -> Result<Response, ApiError> {
    let mut types = Vec::new();
    for text in &params.enrollment_type {
        types.push(EnrollmentType::parse(text).ok_or_else(|| {
            unprocessable("enrollment_type[]", format!("{:?} is not an enrollment type", echo(text)))
        })?);
    }
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let sees_contacts = may(&principal, Action::ReadRoster(&access));
    let filter = EnrollmentFilter {
        types,
        states: vec![EnrollmentState::Active, EnrollmentState::Invited],
        user_id: None,
        course_id: Some(course.id),
    };
    // Every enrollment of the course is read to group them by user; a course's roster is bounded by its seats.
    let found = enrollments::list(&mut tx, principal.account_id, &filter, 0, 100_000).await?;
    let mut by_user: BTreeMap<UserId, Vec<&Enrollment>> = BTreeMap::new();
    for enrollment in &found {
        by_user.entry(enrollment.user_id).or_default().push(enrollment);
    }
    let ids: Vec<UserId> = by_user.keys().copied().collect();
    let mut users = users_store::users_by_ids(&mut tx, principal.account_id, &ids).await?;
    lms_db::commit(tx).await?;
    users.sort_by(|a, b| a.sortable_name.cmp(&b.sortable_name).then(a.id.cmp(&b.id)));
    let with_enrollments = params.include.iter().any(|item| item == "enrollments");
    let now = now_ms();
    let views: Vec<serde_json::Value> = users
        .iter()
        .skip(usize::try_from(pagination.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(pagination.fetch_limit()).unwrap_or(0))
        .map(|user| {
            let view = if sees_contacts || user.id == principal.user_id {
                UserView::from(user)
            } else {
                UserView::without_contact(user)
            };
            let mut value = serde_json::to_value(view).unwrap_or_default();
            if with_enrollments {
                let theirs: Vec<EnrollmentView> = by_user
                    .get(&user.id)
                    .into_iter()
                    .flatten()
                    .map(|enrollment| EnrollmentView::new(enrollment, None, now))
                    .collect();
                value["enrollments"] = serde_json::to_value(theirs).unwrap_or_default();
            }
            value
        })
        .collect();
    Ok(pagination.respond(views))
}

/// `GET /api/v1/courses/{id}/users/{user_id}`: one person of the course.
#[utoipa::path(
    get,
    path = "/api/v1/courses/{id}/users/{user_id}",
    tag = "enrollments",
    params(crate::openapi::CoursePath, ("user_id" = i64, Path, description = "The user")),
    responses((status = 200, description = "The person", body = UserView)),
)]
pub(crate) async fn course_user(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<UserView>, ApiError> {
    let missing = || not_found(format!("user {}", echo(&user_id)));
    let user: UserId = if user_id == "self" { principal.user_id } else { user_id.parse().map_err(|_| missing())? };
    let mut tx = state.db.read(Scope::Tenant(&principal.tenant())).await?;
    let (course, access) = readable_course(&mut tx, &principal, &id).await?;
    let theirs = enrollments::of_user_in_course(&mut tx, principal.account_id, course.id, user).await?;
    if !theirs.iter().any(|e| matches!(e.state, EnrollmentState::Active | EnrollmentState::Invited)) {
        return Err(missing());
    }
    let found = users_store::user(&mut tx, principal.account_id, user).await?.ok_or_else(missing)?;
    lms_db::commit(tx).await?;
    if may(&principal, Action::ReadRoster(&access)) || found.id == principal.user_id {
        Ok(Json(UserView::from(&found)))
    } else {
        Ok(Json(UserView::without_contact(&found)))
    }
}

/// `POST /api/v1/accounts/{id}/enrollments/import`: an SIS-style CSV file as the body (see
/// `catalog::import`), for the account's admins; the answer counts what changed.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{id}/enrollments/import",
    tag = "enrollments",
    params(crate::openapi::AccountPath),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "What the file changed", body = crate::catalog::import::ImportReport)),
)]
pub(crate) async fn import(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<crate::catalog::import::ImportReport>, ApiError> {
    let account = if id == "self" {
        principal.account_id
    } else {
        id.parse().map_err(|_| not_found(format!("account {}", echo(&id))))?
    };
    if !may(&principal, Action::ManageUsers(account)) {
        return Err(if account == principal.account_id {
            forbidden("only the account's admins import enrollments")
        } else {
            not_found(format!("account {}", echo(&id)))
        });
    }
    let mut tx = state.db.begin(Scope::Tenant(&principal.tenant())).await?;
    let report = crate::catalog::import::import(&mut tx, account, &body).await?;
    lms_db::commit(tx).await?;
    Ok(Json(report))
}
