//! Courses: model and SQL. A course belongs to one account; its `workflow_state` follows Canvas's names.

use lms_db::{AccountId, CourseId, Tx, query_error};
use rand::Rng;

use crate::ApiError;
use crate::accounts::store::now_ms;

/// Where a course is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourseState {
    /// Being built: only its staff and admins see it.
    Unpublished,
    /// Published: enrolled learners see it.
    Available,
    /// Concluded: its learners keep reading it; its staff and admins may still change it (grades, late
    /// enrollments), as in Canvas.
    Completed,
    /// Deleted: nobody sees it.
    Deleted,
}

impl CourseState {
    /// Canvas's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CourseState::Unpublished => "unpublished",
            CourseState::Available => "available",
            CourseState::Completed => "completed",
            CourseState::Deleted => "deleted",
        }
    }

    fn parse(text: &str) -> Option<CourseState> {
        [CourseState::Unpublished, CourseState::Available, CourseState::Completed, CourseState::Deleted]
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// The state after Canvas's `course[event]`, or `None` for an event we do not know.
    pub fn after_event(self, event: &str) -> Option<CourseState> {
        match event {
            "offer" => Some(CourseState::Available),
            "claim" => Some(CourseState::Unpublished),
            "conclude" => Some(CourseState::Completed),
            "delete" => Some(CourseState::Deleted),
            _ => None,
        }
    }
}

/// A course.
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    /// Its id.
    pub id: CourseId,
    /// Its account.
    pub account_id: AccountId,
    /// Full name.
    pub name: String,
    /// Short code (`BIO-101`).
    pub course_code: String,
    /// Public description (sanitized HTML).
    pub description: String,
    /// Where it is in its life.
    pub state: CourseState,
    /// When it starts (Unix milliseconds).
    pub start_at_ms: Option<i64>,
    /// When it ends.
    pub end_at_ms: Option<i64>,
    /// The code learners enroll themselves with, when self-enrollment is on.
    pub self_enrollment_code: Option<String>,
    /// The most active students self-enrollment admits.
    pub seat_cap: Option<i64>,
    /// Creation time.
    pub created_at_ms: i64,
}

/// The settings of a new or changed course; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct CourseFields {
    /// Full name.
    pub name: Option<String>,
    /// Short code.
    pub course_code: Option<String>,
    /// Public description.
    pub description: Option<String>,
    /// Start (`Some(None)` clears it).
    pub start_at_ms: Option<Option<i64>>,
    /// End (`Some(None)` clears it).
    pub end_at_ms: Option<Option<i64>>,
    /// Turn self-enrollment on (a code is made) or off.
    pub self_enrollment: Option<bool>,
    /// Seat cap (`Some(None)` clears it).
    pub seat_cap: Option<Option<i64>>,
    /// A new state.
    pub state: Option<CourseState>,
}

const COURSE_COLUMNS: &str = "id, account_id, name, course_code, description, workflow_state, start_at, end_at, \
     self_enrollment_code, seat_cap, created_at";

#[derive(sqlx::FromRow)]
struct CourseRow {
    id: i64,
    account_id: i64,
    name: String,
    course_code: String,
    description: String,
    workflow_state: String,
    start_at: Option<i64>,
    end_at: Option<i64>,
    self_enrollment_code: Option<String>,
    seat_cap: Option<i64>,
    created_at: i64,
}

impl TryFrom<CourseRow> for Course {
    type Error = lms_db::DbError;

    fn try_from(row: CourseRow) -> Result<Course, lms_db::DbError> {
        let state = CourseState::parse(&row.workflow_state)
            .ok_or_else(|| lms_db::DbError::Corrupt { what: format!("course state {:?}", row.workflow_state) })?;
        Ok(Course {
            id: CourseId(row.id),
            account_id: AccountId(row.account_id),
            name: row.name,
            course_code: row.course_code,
            description: row.description,
            state,
            start_at_ms: row.start_at,
            end_at_ms: row.end_at,
            self_enrollment_code: row.self_enrollment_code,
            seat_cap: row.seat_cap,
            created_at_ms: row.created_at,
        })
    }
}

/// A fresh self-enrollment code: 8 characters that read unambiguously.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..8).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// Creates a course in `account`.
pub async fn create(tx: &mut Tx, account: AccountId, fields: &CourseFields) -> Result<Course, ApiError> {
    let now = now_ms();
    let name = fields.name.clone().unwrap_or_else(|| "Unnamed Course".into());
    let code = fields.course_code.clone().unwrap_or_else(|| name.clone());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO courses (account_id, name, course_code, description, workflow_state, start_at, end_at, \
         self_enrollment_code, seat_cap, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         RETURNING id",
    )
    .bind(account.0)
    .bind(&name)
    .bind(&code)
    .bind(fields.description.clone().unwrap_or_default())
    .bind(fields.state.unwrap_or(CourseState::Unpublished).as_str())
    .bind(fields.start_at_ms.flatten())
    .bind(fields.end_at_ms.flatten())
    .bind(fields.self_enrollment.unwrap_or(false).then(new_code))
    .bind(fields.seat_cap.flatten())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(query_error("insert course"))?;
    find(tx, account, CourseId(id)).await?.ok_or_else(|| vanished("course"))
}

fn vanished(what: &str) -> ApiError {
    lms_db::DbError::Corrupt { what: format!("a new {what} vanished") }.into()
}

/// The course `id` of `account`, deleted or not.
pub async fn find(tx: &mut Tx, account: AccountId, id: CourseId) -> Result<Option<Course>, lms_db::DbError> {
    let row: Option<CourseRow> =
        sqlx::query_as(&format!("SELECT {COURSE_COLUMNS} FROM courses WHERE id = $1 AND account_id = $2"))
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&mut **tx)
            .await
            .map_err(query_error("select course"))?;
    row.map(Course::try_from).transpose()
}

/// Changes the settings `fields` names; the course as it is then.
pub async fn update(tx: &mut Tx, course: &Course, fields: &CourseFields) -> Result<Course, ApiError> {
    let code = match fields.self_enrollment {
        Some(true) => course.self_enrollment_code.clone().or_else(|| Some(new_code())),
        Some(false) => None,
        None => course.self_enrollment_code.clone(),
    };
    sqlx::query(
        "UPDATE courses SET name = $1, course_code = $2, description = $3, workflow_state = $4, start_at = $5, \
         end_at = $6, self_enrollment_code = $7, seat_cap = $8, updated_at = $9 WHERE id = $10 AND account_id = $11",
    )
    .bind(fields.name.as_ref().unwrap_or(&course.name))
    .bind(fields.course_code.as_ref().unwrap_or(&course.course_code))
    .bind(fields.description.as_ref().unwrap_or(&course.description))
    .bind(fields.state.unwrap_or(course.state).as_str())
    .bind(fields.start_at_ms.unwrap_or(course.start_at_ms))
    .bind(fields.end_at_ms.unwrap_or(course.end_at_ms))
    .bind(code)
    .bind(fields.seat_cap.unwrap_or(course.seat_cap))
    .bind(now_ms())
    .bind(course.id.0)
    .bind(course.account_id.0)
    .execute(&mut **tx)
    .await
    .map_err(query_error("update course"))?;
    find(tx, course.account_id, course.id).await?.ok_or_else(|| vanished("course"))
}

/// A page of `account`'s courses that are not deleted, by id.
pub async fn list_in_account(
    tx: &mut Tx,
    account: AccountId,
    offset: i64,
    limit: i64,
) -> Result<Vec<Course>, lms_db::DbError> {
    let rows: Vec<CourseRow> = sqlx::query_as(&format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE account_id = $1 AND workflow_state <> 'deleted' \
         ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .bind(account.0)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("list courses"))?;
    rows.into_iter().map(Course::try_from).collect()
}

/// The courses with the given ids, in one query.
pub async fn find_many(tx: &mut Tx, account: AccountId, ids: &[CourseId]) -> Result<Vec<Course>, lms_db::DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers, so a literal list is safe; one statement whatever the count.
    let list: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    let rows: Vec<CourseRow> = sqlx::query_as(&format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE account_id = $1 AND id IN ({}) ORDER BY id",
        list.join(",")
    ))
    .bind(account.0)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("select courses"))?;
    rows.into_iter().map(Course::try_from).collect()
}

/// Active students of each course, in one query.
pub async fn student_counts(
    tx: &mut Tx,
    account: AccountId,
    ids: &[CourseId],
) -> Result<Vec<(CourseId, i64)>, lms_db::DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    let rows: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT course_id, COUNT(*) FROM enrollments WHERE account_id = $1 AND course_id IN ({}) \
         AND type = 'StudentEnrollment' AND workflow_state = 'active' GROUP BY course_id",
        list.join(",")
    ))
    .bind(account.0)
    .fetch_all(&mut **tx)
    .await
    .map_err(query_error("count students"))?;
    Ok(rows.into_iter().map(|(course, count)| (CourseId(course), count)).collect())
}
