//! Bulk enrollment from an SIS-style CSV file, by email, idempotent: importing the same file twice changes
//! nothing the second time.
//!
//! Columns, named by a header row in any order: `email` (required), `course_id` (required), `type`
//! (`student`, `teacher`, `ta`, `designer`, `observer`, or Canvas's `StudentEnrollment` names; default
//! `student`), `state` (`active`, `invited`, `inactive`, `completed`, `deleted`; default `active`) and `name`
//! (for a user the file creates). A user not yet in the account is created with that name (no password:
//! they get a token or a password later). The whole file is one transaction: a bad row refuses the file,
//! naming the line and the column, and nothing is written.

use std::collections::BTreeMap;

use lms_db::{AccountId, CourseId, Tx};
use serde::Serialize;

use crate::ApiError;
use crate::accounts::{NewUser, is_valid_login, store as users};
use crate::catalog::courses;
use crate::catalog::enrollments::{self, EnrollmentState, EnrollmentType, NewEnrollment};

/// Rows one file may hold.
pub const MAX_ROWS: usize = 100_000;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Rows read (without the header).
    pub rows: usize,
    /// Users the file created.
    pub users_created: usize,
    /// Enrollments created.
    pub enrollments_created: usize,
    /// Enrollments whose state or type changed.
    pub enrollments_updated: usize,
    /// Rows that matched what was stored already.
    pub unchanged: usize,
}

/// One checked row.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    email: String,
    name: Option<String>,
    course: CourseId,
    kind: EnrollmentType,
    state: EnrollmentState,
}

fn bad(line: u64, column: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::Unprocessable { field: format!("line {line}, column {column}"), message: message.to_string() }
}

/// Reads and checks every row before anything is written.
fn read_rows(csv_bytes: &[u8]) -> Result<Vec<Row>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(csv_bytes);
    let headers = reader.headers().map_err(|error| bad(1, "header", error))?.clone();
    let column = |name: &str| headers.iter().position(|header| header.eq_ignore_ascii_case(name));
    let (Some(email_at), Some(course_at)) = (column("email"), column("course_id")) else {
        return Err(bad(1, "header", "the header must name `email` and `course_id` columns"));
    };
    let (type_at, state_at, name_at) = (column("type"), column("state"), column("name"));
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error.position().map(|position| position.line()).unwrap_or(0);
            bad(line, "-", error)
        })?;
        let line = record.position().map(|position| position.line()).unwrap_or(0);
        if rows.len() >= MAX_ROWS {
            return Err(bad(line, "-", format!("more than {MAX_ROWS} rows: split the file")));
        }
        let field = |at: Option<usize>| at.and_then(|at| record.get(at)).filter(|value| !value.is_empty());
        let email = field(Some(email_at)).unwrap_or_default().to_lowercase();
        if !is_valid_login(&email) {
            return Err(bad(line, "email", format!("{:?} is not an email address", crate::error::echo(&email))));
        }
        let course_text = field(Some(course_at)).unwrap_or_default();
        let course = course_text
            .parse()
            .map_err(|_| bad(line, "course_id", format!("{:?} is not a course id", crate::error::echo(course_text))))?;
        let kind = match field(type_at) {
            None => EnrollmentType::Student,
            Some(text) => EnrollmentType::parse(text).ok_or_else(|| {
                bad(line, "type", format!("{:?} is not an enrollment type", crate::error::echo(text)))
            })?,
        };
        let state = match field(state_at) {
            None => EnrollmentState::Active,
            Some(text) => EnrollmentState::parse(text).ok_or_else(|| {
                bad(line, "state", format!("{:?} is not an enrollment state", crate::error::echo(text)))
            })?,
        };
        rows.push(Row { line, email, name: field(name_at).map(str::to_owned), course, kind, state });
    }
    Ok(rows)
}

/// Applies `csv_bytes` to `account` in `tx` (which the caller commits, or drops on error).
pub async fn import(tx: &mut Tx, account: AccountId, csv_bytes: &[u8]) -> Result<ImportReport, ApiError> {
    let rows = read_rows(csv_bytes)?;
    let mut report = ImportReport { rows: rows.len(), ..ImportReport::default() };
    let mut course_ids: Vec<CourseId> = rows.iter().map(|row| row.course).collect();
    course_ids.sort();
    course_ids.dedup();
    let known: BTreeMap<CourseId, courses::Course> =
        courses::find_many(tx, account, &course_ids).await?.into_iter().map(|course| (course.id, course)).collect();
    let mut user_ids = BTreeMap::new();
    for row in &rows {
        if known.get(&row.course).is_none_or(|course| course.state == courses::CourseState::Deleted) {
            return Err(bad(row.line, "course_id", format!("no course {} in this account", row.course)));
        }
        let user = match user_ids.get(&row.email) {
            Some(user) => *user,
            None => {
                let found =
                    users::users_by_login(tx, &row.email).await?.into_iter().find(|user| user.account_id == account);
                let user = match found {
                    Some(user) => user.id,
                    None => {
                        let name = row
                            .name
                            .clone()
                            .unwrap_or_else(|| row.email.split('@').next().unwrap_or_default().to_owned());
                        let new_user =
                            NewUser { name, login_id: row.email.clone(), password: None, account_admin: false };
                        report.users_created += 1;
                        users::create_user(tx, account, &new_user).await?.id
                    }
                };
                user_ids.insert(row.email.clone(), user);
                user
            }
        };
        let new = NewEnrollment {
            course_id: row.course,
            user_id: user,
            kind: row.kind,
            state: row.state,
            start_at_ms: None,
            end_at_ms: None,
        };
        let existed =
            enrollments::of_user_in_course(tx, account, row.course, user).await?.iter().any(|e| e.kind == row.kind);
        let (_, changed) = enrollments::upsert(tx, account, &new).await?;
        match (existed, changed) {
            (false, _) => report.enrollments_created += 1,
            (true, true) => report.enrollments_updated += 1,
            (true, false) => report.unchanged += 1,
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_checked_with_their_line_and_column() {
        let rows =
            read_rows(b"Email,course_id,type,name\nann@x.example,7,teacher,Ann Lee\nbo@x.example,7,,\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].kind, rows[1].kind), (EnrollmentType::Teacher, EnrollmentType::Student));
        assert_eq!(rows[1].state, EnrollmentState::Active);
        let error = read_rows(b"email,course_id\nann@x.example,7\nnot-an-email,7\n").unwrap_err();
        assert_eq!(error.to_string(), "line 3, column email: \"not-an-email\" is not an email address");
        let error = read_rows(b"email,course_id,type\nann@x.example,7,wizard\n").unwrap_err();
        assert!(error.to_string().starts_with("line 2, column type"), "{error}");
        assert!(read_rows(b"mail,course\n").unwrap_err().to_string().contains("header"));
        assert!(read_rows(b"email,course_id\nann@x.example,7,extra\n").is_err(), "a row with too many fields");
        assert!(read_rows(b"email,course_id\n\xff\xfe,7\n").is_err());
    }
}
