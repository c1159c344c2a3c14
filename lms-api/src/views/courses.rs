//! Courses and enrollments, in Canvas's shapes.

use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::User;
use crate::catalog::courses::Course;
use crate::catalog::enrollments::Enrollment;
use crate::views::iso_time;
use crate::views::users::UserView;

/// Canvas's Course.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourseView {
    /// Its id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Short code.
    pub course_code: String,
    /// Its account.
    pub account_id: i64,
    /// The root account (accounts are roots here).
    pub root_account_id: i64,
    /// `unpublished`, `available`, `completed` or `deleted`.
    pub workflow_state: &'static str,
    /// Start.
    pub start_at: Option<String>,
    /// End.
    pub end_at: Option<String>,
    /// Public description.
    pub public_description: String,
    /// Creation time.
    pub created_at: Option<String>,
    /// Canvas's fixed default: the course's own dates apply.
    pub restrict_enrollments_to_course_dates: bool,
    /// The caller's enrollments in the course, when listing the caller's courses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollments: Option<Vec<CourseEnrollmentView>>,
    /// Active students, with `include[]=total_students`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_students: Option<i64>,
    /// Whether learners may enroll themselves with a code.
    pub self_enrollment: bool,
    /// The code, shown to those who manage the course.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_enrollment_code: Option<String>,
    /// Our addition: the most students self-enrollment admits (null: no cap).
    pub seat_cap: Option<i64>,
    /// A learner's progress, with `include[]=course_progress`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course_progress: Option<CourseProgressView>,
}

/// Canvas's course progress of a learner.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourseProgressView {
    /// Requirements in the course.
    pub requirement_count: usize,
    /// Requirements the learner met.
    pub requirement_completed_count: usize,
    /// Our addition: the share met, in percent (100 with no requirement).
    pub percent: f64,
}

impl From<&crate::catalog::progress::CourseProgress> for CourseProgressView {
    fn from(progress: &crate::catalog::progress::CourseProgress) -> Self {
        CourseProgressView {
            requirement_count: progress.requirement_count,
            requirement_completed_count: progress.requirement_completed_count,
            percent: (progress.percent() * 10.0).round() / 10.0,
        }
    }
}

/// One of the caller's enrollments, as Canvas embeds it in a course.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourseEnrollmentView {
    /// `student`, `teacher`, `ta`, `designer` or `observer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `StudentEnrollment` and so on.
    pub role: &'static str,
    /// The enrollment's state now.
    pub enrollment_state: &'static str,
    /// The user.
    pub user_id: i64,
}

impl CourseView {
    /// The view of `course`; its enrollment code only when `show_code`.
    pub fn new(course: &Course, show_code: bool) -> Self {
        CourseView {
            id: course.id.0,
            name: course.name.clone(),
            course_code: course.course_code.clone(),
            account_id: course.account_id.0,
            root_account_id: course.account_id.0,
            workflow_state: course.state.as_str(),
            start_at: course.start_at_ms.and_then(iso_time),
            end_at: course.end_at_ms.and_then(iso_time),
            public_description: course.description.clone(),
            created_at: iso_time(course.created_at_ms),
            restrict_enrollments_to_course_dates: false,
            enrollments: None,
            total_students: None,
            self_enrollment: course.self_enrollment_code.is_some(),
            self_enrollment_code: if show_code { course.self_enrollment_code.clone() } else { None },
            seat_cap: course.seat_cap,
            course_progress: None,
        }
    }
}

/// Canvas's Enrollment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnrollmentView {
    /// Its id.
    pub id: i64,
    /// The course (canvasapi builds follow-up URLs from it).
    pub course_id: i64,
    /// The user.
    pub user_id: i64,
    /// `StudentEnrollment` and so on.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The same, as Canvas's role name.
    pub role: &'static str,
    /// The state now (`active`, `invited`, `inactive`, `completed`, `deleted`).
    pub enrollment_state: &'static str,
    /// Window start.
    pub start_at: Option<String>,
    /// Window end.
    pub end_at: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last change.
    pub updated_at: Option<String>,
    /// The account.
    pub root_account_id: i64,
    /// The user, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
}

impl EnrollmentView {
    /// The view of `enrollment` as it counts at `now_ms`, with its user when given.
    pub fn new(enrollment: &Enrollment, user: Option<&User>, now_ms: i64) -> Self {
        EnrollmentView {
            id: enrollment.id.0,
            course_id: enrollment.course_id.0,
            user_id: enrollment.user_id.0,
            kind: enrollment.kind.as_str(),
            role: enrollment.kind.as_str(),
            enrollment_state: enrollment.effective_state(now_ms).as_str(),
            start_at: enrollment.start_at_ms.and_then(iso_time),
            end_at: enrollment.end_at_ms.and_then(iso_time),
            created_at: iso_time(enrollment.created_at_ms),
            updated_at: iso_time(enrollment.updated_at_ms),
            root_account_id: enrollment.account_id.0,
            user: user.map(UserView::from),
        }
    }
}
