//! Enrollments: model and SQL. One row per (course, user, type); its state says whether it counts now.

use lms_db::{AccountId, CourseId, EnrollmentId, Tx, UserId, query_error};

use crate::ApiError;
use crate::accounts::store::now_ms;

/// How a user takes part in a course, with Canvas's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnrollmentType {
    /// A learner.
    Student,
    /// Runs the course.
    Teacher,
    /// Helps run it.
    Ta,
    /// Builds its content.
    Designer,
    /// Follows a learner (a parent, a mentor).
    Observer,
}

impl EnrollmentType {
    /// Every type.
    pub const ALL: [EnrollmentType; 5] = [
        EnrollmentType::Student,
        EnrollmentType::Teacher,
        EnrollmentType::Ta,
        EnrollmentType::Designer,
        EnrollmentType::Observer,
    ];

    /// Canvas's `type` (`StudentEnrollment`).
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentType::Student => "StudentEnrollment",
            EnrollmentType::Teacher => "TeacherEnrollment",
            EnrollmentType::Ta => "TaEnrollment",
            EnrollmentType::Designer => "DesignerEnrollment",
            EnrollmentType::Observer => "ObserverEnrollment",
        }
    }

    /// Canvas's short name in a course's `enrollments` (`student`, `teacher`, `ta`, `designer`, `observer`).
    pub fn short(self) -> &'static str {
        match self {
            EnrollmentType::Student => "student",
            EnrollmentType::Teacher => "teacher",
            EnrollmentType::Ta => "ta",
            EnrollmentType::Designer => "designer",
            EnrollmentType::Observer => "observer",
        }
    }

    /// From `StudentEnrollment` or `student`.
    pub fn parse(text: &str) -> Option<EnrollmentType> {
        EnrollmentType::ALL.into_iter().find(|kind| kind.as_str() == text || kind.short() == text)
    }

    /// Whether the type runs or builds the course rather than taking it.
    pub fn is_staff(self) -> bool {
        matches!(self, EnrollmentType::Teacher | EnrollmentType::Ta | EnrollmentType::Designer)
    }
}

/// The state of an enrollment, with Canvas's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentState {
    /// Asked to join; not yet accepted.
    Invited,
    /// Takes part.
    Active,
    /// Paused by staff: no access.
    Inactive,
    /// Concluded: read-only.
    Completed,
    /// Removed.
    Deleted,
}

impl EnrollmentState {
    /// Every state.
    pub const ALL: [EnrollmentState; 5] = [
        EnrollmentState::Invited,
        EnrollmentState::Active,
        EnrollmentState::Inactive,
        EnrollmentState::Completed,
        EnrollmentState::Deleted,
    ];

    /// Canvas's name.
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentState::Invited => "invited",
            EnrollmentState::Active => "active",
            EnrollmentState::Inactive => "inactive",
            EnrollmentState::Completed => "completed",
            EnrollmentState::Deleted => "deleted",
        }
    }

    /// From Canvas's name.
    pub fn parse(text: &str) -> Option<EnrollmentState> {
        EnrollmentState::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// The state after `DELETE …/enrollments/:id` with `task`.
    pub fn after_task(task: &str) -> Option<EnrollmentState> {
        match task {
            "conclude" => Some(EnrollmentState::Completed),
            "delete" => Some(EnrollmentState::Deleted),
            "inactivate" | "deactivate" => Some(EnrollmentState::Inactive),
            _ => None,
        }
    }
}

/// A user's enrollment in a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// Its id.
    pub id: EnrollmentId,
    /// The account.
    pub account_id: AccountId,
    /// The course.
    pub course_id: CourseId,
    /// The user.
    pub user_id: UserId,
    /// How the user takes part.
    pub kind: EnrollmentType,
    /// Its stored state.
    pub state: EnrollmentState,
    /// When it starts counting (Unix milliseconds).
    pub start_at_ms: Option<i64>,
    /// When it stops.
    pub end_at_ms: Option<i64>,
    /// Creation time.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
}

impl Enrollment {
    /// The state as it counts at `now`: an active enrollment before its window is `inactive`, after it
    /// `completed`, as Canvas reports them.
    pub fn effective_state(&self, now_ms: i64) -> EnrollmentState {
        match self.state {
            EnrollmentState::Active if self.start_at_ms.is_some_and(|start| now_ms < start) => {
                EnrollmentState::Inactive
            }
            EnrollmentState::Active if self.end_at_ms.is_some_and(|end| now_ms >= end) => EnrollmentState::Completed,
            state => state,
        }
    }
}

/// An enrollment to make or renew.
#[derive(Debug, Clone)]
pub struct NewEnrollment {
    /// The course.
    pub course_id: CourseId,
    /// The user.
    pub user_id: UserId,
    /// How.
    pub kind: EnrollmentType,
    /// Its state.
    pub state: EnrollmentState,
    /// Window start.
    pub start_at_ms: Option<i64>,
    /// Window end.
    pub end_at_ms: Option<i64>,
}

const ENROLLMENT_COLUMNS: &str =
    "id, account_id, course_id, user_id, type, workflow_state, start_at, end_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct EnrollmentRow {
    id: i64,
    account_id: i64,
    course_id: i64,
    user_id: i64,
    #[sqlx(rename = "type")]
    kind: String,
    workflow_state: String,
    start_at: Option<i64>,
    end_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<EnrollmentRow> for Enrollment {
    type Error = lms_db::DbError;

    fn try_from(row: EnrollmentRow) -> Result<Enrollment, lms_db::DbError> {
        let corrupt = |what: String| lms_db::DbError::Corrupt { what };
        Ok(Enrollment {
            id: EnrollmentId(row.id),
            account_id: AccountId(row.account_id),
            course_id: CourseId(row.course_id),
            user_id: UserId(row.user_id),
            kind: EnrollmentType::parse(&row.kind).ok_or_else(|| corrupt(format!("enrollment type {:?}", row.kind)))?,
            state: EnrollmentState::parse(&row.workflow_state)
                .ok_or_else(|| corrupt(format!("enrollment state {:?}", row.workflow_state)))?,
            start_at_ms: row.start_at,
            end_at_ms: row.end_at,
            created_at_ms: row.created_at,
            updated_at_ms: row.updated_at,
        })
    }
}

/// Enrolls, or renews the enrollment of the same user, course and type with the new state and window
/// (as Canvas does): the same request twice leaves one enrollment. Returns it and whether anything changed.
pub async fn upsert(tx: &mut Tx, account: AccountId, new: &NewEnrollment) -> Result<(Enrollment, bool), ApiError> {
    let now = now_ms();
    // The write comes first (see the job store): on SQLite a transaction that reads first can fail when
    // another commits in between.
    let changed = sqlx::query(
        "UPDATE enrollments SET workflow_state = $1, start_at = $2, end_at = $3, updated_at = $4 \
         WHERE account_id = $5 AND course_id = $6 AND user_id = $7 AND type = $8 \
         AND (workflow_state <> $1 OR start_at IS DISTINCT FROM $2 OR end_at IS DISTINCT FROM $3)",
    )
    .bind(new.state.as_str())
    .bind(new.start_at_ms)
    .bind(new.end_at_ms)
    .bind(now)
    .bind(account.0)
    .bind(new.course_id.0)
    .bind(new.user_id.0)
    .bind(new.kind.as_str())
    .execute(&mut **tx)
    .await
    .map_err(query_error("update enrollment"))?
    .rows_affected()
        > 0;
    if let Some(existing) = find_by_key(tx, account, new.course_id, new.user_id, new.kind).await? {
        return Ok((existing, changed));
    }
    sqlx::query(
        "INSERT INTO enrollments (account_id, course_id, user_id, type, workflow_state, start_at, end_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(account.0)
    .bind(new.course_id.0)
    .bind(new.user_id.0)
    .bind(new.kind.as_str())
    .bind(new.state.as_str())
    .bind(new.start_at_ms)
    .bind(new.end_at_ms)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(query_error("insert enrollment"))?;
    let created = find_by_key(tx, account, new.course_id, new.user_id, new.kind)
        .await?
        .ok_or_else(|| lms_db::DbError::Corrupt { what: "a new enrollment vanished".into() })?;
    Ok((created, true))
}

async fn find_by_key(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    user: UserId,
    kind: EnrollmentType,
) -> Result<Option<Enrollment>, lms_db::DbError> {
    let row: Option<EnrollmentRow> = sqlx::query_as(&format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE account_id = $1 AND course_id = $2 AND user_id = $3 \
         AND type = $4"
    ))
    .bind(account.0)
    .bind(course.0)
    .bind(user.0)
    .bind(kind.as_str())
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_error("select enrollment"))?;
    row.map(Enrollment::try_from).transpose()
}

/// The enrollment `id` in `course`.
pub async fn find(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    id: EnrollmentId,
) -> Result<Option<Enrollment>, lms_db::DbError> {
    let row: Option<EnrollmentRow> = sqlx::query_as(&format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE account_id = $1 AND course_id = $2 AND id = $3"
    ))
    .bind(account.0)
    .bind(course.0)
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await
    .map_err(query_error("select enrollment"))?;
    row.map(Enrollment::try_from).transpose()
}

/// Sets the state of enrollment `id`.
pub async fn set_state(tx: &mut Tx, enrollment: &Enrollment, state: EnrollmentState) -> Result<Enrollment, ApiError> {
    sqlx::query("UPDATE enrollments SET workflow_state = $1, updated_at = $2 WHERE id = $3 AND account_id = $4")
        .bind(state.as_str())
        .bind(now_ms())
        .bind(enrollment.id.0)
        .bind(enrollment.account_id.0)
        .execute(&mut **tx)
        .await
        .map_err(query_error("update enrollment"))?;
    Ok(find(tx, enrollment.account_id, enrollment.course_id, enrollment.id)
        .await?
        .ok_or_else(|| lms_db::DbError::Corrupt { what: "an enrollment vanished".into() })?)
}

/// Which enrollments a list asks for.
#[derive(Debug, Clone, Default)]
pub struct EnrollmentFilter {
    /// Only these types (all when empty).
    pub types: Vec<EnrollmentType>,
    /// Only these stored states (all but deleted when empty).
    pub states: Vec<EnrollmentState>,
    /// Only this user's.
    pub user_id: Option<UserId>,
    /// Only this course's.
    pub course_id: Option<CourseId>,
}

/// A page of enrollments matching `filter`, by id.
pub async fn list(
    tx: &mut Tx,
    account: AccountId,
    filter: &EnrollmentFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<Enrollment>, lms_db::DbError> {
    // Types and states are closed sets of our own words, so they are written into the statement; the
    // number of placeholders then does not depend on the filter.
    let types: Vec<String> = filter.types.iter().map(|kind| format!("'{}'", kind.as_str())).collect();
    let states: Vec<String> = if filter.states.is_empty() {
        EnrollmentState::ALL
            .iter()
            .filter(|state| **state != EnrollmentState::Deleted)
            .map(|state| format!("'{}'", state.as_str()))
            .collect()
    } else {
        filter.states.iter().map(|state| format!("'{}'", state.as_str())).collect()
    };
    let mut sql = format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE account_id = $1 AND workflow_state IN ({}) \
         AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR course_id = $3)",
        states.join(",")
    );
    if !types.is_empty() {
        sql.push_str(&format!(" AND type IN ({})", types.join(",")));
    }
    sql.push_str(" ORDER BY id LIMIT $4 OFFSET $5");
    let rows: Vec<EnrollmentRow> = sqlx::query_as(&sql)
        .bind(account.0)
        .bind(filter.user_id.map(|user| user.0))
        .bind(filter.course_id.map(|course| course.0))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut **tx)
        .await
        .map_err(query_error("list enrollments"))?;
    rows.into_iter().map(Enrollment::try_from).collect()
}

/// The user's enrollments in `course` (every type and state).
pub async fn of_user_in_course(
    tx: &mut Tx,
    account: AccountId,
    course: CourseId,
    user: UserId,
) -> Result<Vec<Enrollment>, lms_db::DbError> {
    let filter = EnrollmentFilter {
        states: EnrollmentState::ALL.to_vec(),
        user_id: Some(user),
        course_id: Some(course),
        ..EnrollmentFilter::default()
    };
    list(tx, account, &filter, 0, 100).await
}

/// Active student enrollments of `course`.
pub async fn active_students(tx: &mut Tx, account: AccountId, course: CourseId) -> Result<i64, lms_db::DbError> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM enrollments WHERE account_id = $1 AND course_id = $2 \
         AND type = 'StudentEnrollment' AND workflow_state = 'active'",
    )
    .bind(account.0)
    .bind(course.0)
    .fetch_one(&mut **tx)
    .await
    .map_err(query_error("count students"))
}

/// Holds `course` against concurrent changes until the transaction ends (both databases: a write takes the
/// row's lock on PostgreSQL and the database's on SQLite), so a seat count read next stays true.
pub async fn lock_course(tx: &mut Tx, account: AccountId, course: CourseId) -> Result<(), lms_db::DbError> {
    sqlx::query("UPDATE courses SET updated_at = updated_at WHERE id = $1 AND account_id = $2")
        .bind(course.0)
        .bind(account.0)
        .execute(&mut **tx)
        .await
        .map_err(query_error("lock course"))?;
    Ok(())
}
