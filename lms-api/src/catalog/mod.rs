//! The catalog: courses, enrollments, modules and their items, pages, and learners' progress.
//!
//! - `courses`: a course's life (unpublished → available → completed, or deleted) and its settings,
//!   self-enrollment with a code and a seat cap.
//! - `enrollments`: who takes part in a course and how (student, teacher, TA, designer, observer), in which
//!   state and window; the caller's own enrollments decide what it may do in the course (`policy`).
//! - `import`: bulk enrollment from an SIS-style CSV file, idempotent.
//! - `modules`: modules, their items (SubHeader, Page, ExternalUrl, Video), pages, and what learners did.
//! - `progress`: pure rules for locked/unlocked/started/completed and the course's percent.
//! - `media`: media objects (a course's lecture videos) and their versions' transcode jobs.

pub mod courses;
pub mod enrollments;
pub mod import;
pub mod media;
pub mod modules;
pub mod progress;

use lms_db::{CourseId, Tx};

use crate::ApiError;
use crate::accounts::store::now_ms;
use crate::auth::Principal;
use crate::policy::CourseAccess;
use courses::Course;

/// The course `id` of the caller's account and what the caller is to it; `None` when there is no such course
/// there (the caller's handler answers 404, as for a course it may not see).
pub async fn course_access(
    tx: &mut Tx,
    principal: &Principal,
    id: CourseId,
) -> Result<Option<(Course, CourseAccess)>, ApiError> {
    let Some(course) = courses::find(tx, principal.account_id, id).await? else { return Ok(None) };
    let mine = enrollments::of_user_in_course(tx, principal.account_id, id, principal.user_id).await?;
    let access = CourseAccess::new(principal.account_admin, course.state, &mine, now_ms());
    Ok(Some((course, access)))
}
