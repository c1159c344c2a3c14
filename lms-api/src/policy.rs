//! Who may do what: one function over (principal, action), backed by one table in the code. Handlers ask it
//! and never decide themselves. What a principal may not even see is answered as not found by the handler,
//! so a caller never learns that it exists.

use lms_db::{AccountId, UserId};

use crate::ApiError;
use crate::auth::Principal;
use crate::catalog::courses::CourseState;
use crate::catalog::enrollments::{Enrollment, EnrollmentState, EnrollmentType};

/// What the caller is to one course: whether it administers the course's account, and the types of its
/// enrollments there that count now (active, inside their window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseAccess {
    /// The caller administers the course's account.
    pub admin: bool,
    /// The caller's current enrollment types in the course.
    pub roles: Vec<EnrollmentType>,
    /// The course's state.
    pub state: CourseState,
    /// The caller has a concluded enrollment there (it may still read the published course).
    pub concluded_role: bool,
    /// The caller is invited to the course (it may look at the published course before accepting).
    pub invited: bool,
}

impl CourseAccess {
    /// What a caller is to a course in `state`, from its `enrollments` there as they count at `now_ms`.
    pub fn new<'e>(
        admin: bool,
        state: CourseState,
        enrollments: impl IntoIterator<Item = &'e Enrollment>,
        now_ms: i64,
    ) -> CourseAccess {
        let mut access = CourseAccess { admin, roles: Vec::new(), state, concluded_role: false, invited: false };
        for enrollment in enrollments {
            match enrollment.effective_state(now_ms) {
                EnrollmentState::Active => access.roles.push(enrollment.kind),
                EnrollmentState::Completed => access.concluded_role = true,
                EnrollmentState::Invited => access.invited = true,
                EnrollmentState::Inactive | EnrollmentState::Deleted => {}
            }
        }
        access
    }

    fn has(&self, kinds: &[EnrollmentType]) -> bool {
        self.roles.iter().any(|role| kinds.contains(role))
    }
}

/// Something a caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read an account's settings.
    ReadAccount(AccountId),
    /// List, create and manage the users of an account.
    ManageUsers(AccountId),
    /// Read a user's profile.
    ReadUser(UserId),
    /// List, create and delete a user's access tokens.
    ManageTokensOf(UserId),
    /// Upload a lecture (a new job).
    Upload,
    /// Read the caller's account's jobs and replay them.
    ManageJobs,
    /// Create a course in an account.
    CreateCourse(AccountId),
    /// See a course and its content.
    ReadCourse(&'a CourseAccess),
    /// Change a course's settings and state.
    ManageCourse(&'a CourseAccess),
    /// Build a course's modules, items and pages.
    ManageContent(&'a CourseAccess),
    /// See everyone enrolled in a course.
    ReadRoster(&'a CourseAccess),
    /// Enroll users in a course and change their enrollments.
    ManageEnrollments(&'a CourseAccess),
}

/// Whether `principal` may do `action`. Every target not listed is denied.
pub fn may(principal: &Principal, action: Action) -> bool {
    let admin = principal.account_admin;
    match action {
        Action::ReadAccount(account) | Action::ManageUsers(account) => admin && account == principal.account_id,
        // Rows of another account are out of reach already: their queries name the caller's account.
        Action::ReadUser(user) | Action::ManageTokensOf(user) => user == principal.user_id || admin,
        // Instructors upload; until courses give users their roles, an account's admins are its instructors.
        Action::Upload | Action::ManageJobs => admin,
        Action::CreateCourse(account) => admin && account == principal.account_id,
        Action::ReadCourse(course) => match course.state {
            CourseState::Deleted => false,
            _ if course.admin || course.has(&STAFF) => true,
            CourseState::Unpublished => false,
            // A concluded enrollment keeps read access, as Canvas's past enrollments do.
            CourseState::Available | CourseState::Completed => {
                course.has(&[EnrollmentType::Student, EnrollmentType::Observer])
                    || course.concluded_role
                    || course.invited
            }
        },
        Action::ManageCourse(course) | Action::ManageEnrollments(course) => {
            course.state != CourseState::Deleted && (course.admin || course.has(&[EnrollmentType::Teacher]))
        }
        Action::ManageContent(course) | Action::ReadRoster(course) => {
            course.state != CourseState::Deleted && (course.admin || course.has(&STAFF))
        }
    }
}

/// The types that run or build a course.
const STAFF: [EnrollmentType; 3] = [EnrollmentType::Teacher, EnrollmentType::Ta, EnrollmentType::Designer];

/// The caller's tenant key, when it may do `action` (one that acts on the caller's own account as a whole);
/// refused otherwise.
pub(crate) fn authorized_tenant(principal: &Principal, action: Action) -> Result<String, ApiError> {
    if may(principal, action) {
        Ok(principal.tenant())
    } else {
        Err(crate::error::forbidden(match action {
            Action::Upload => "only the account's instructors and admins upload lectures",
            Action::ManageJobs => "only the account's instructors and admins see its jobs",
            _ => "not allowed",
        }))
    }
}

#[cfg(test)]
mod tests {
    use lms_db::TokenId;

    use super::*;

    fn course(admin: bool, roles: &[EnrollmentType], state: CourseState) -> CourseAccess {
        CourseAccess { admin, roles: roles.to_vec(), state, concluded_role: false, invited: false }
    }

    #[test]
    fn course_roles() {
        use CourseState::*;
        use EnrollmentType::*;
        let member = principal(2, 10, false);
        let student = course(false, &[Student], Available);
        assert!(may(&member, Action::ReadCourse(&student)));
        assert!(!may(&member, Action::ManageContent(&student)));
        assert!(!may(&member, Action::ReadRoster(&student)));
        assert!(!may(&member, Action::ReadCourse(&course(false, &[Student], Unpublished))), "not yet published");
        assert!(!may(&member, Action::ReadCourse(&course(false, &[], Available))), "a stranger");
        assert!(!may(&member, Action::ReadCourse(&course(true, &[Teacher], Deleted))), "deleted is gone");
        let designer = course(false, &[Designer], Unpublished);
        assert!(may(&member, Action::ReadCourse(&designer)) && may(&member, Action::ManageContent(&designer)));
        assert!(!may(&member, Action::ManageEnrollments(&designer)) && !may(&member, Action::ManageCourse(&designer)));
        let teacher = course(false, &[Teacher], Unpublished);
        assert!(may(&member, Action::ManageEnrollments(&teacher)) && may(&member, Action::ManageCourse(&teacher)));
        let ta = course(false, &[Ta], Available);
        assert!(may(&member, Action::ReadRoster(&ta)) && !may(&member, Action::ManageEnrollments(&ta)));
        let admin = course(true, &[], Unpublished);
        assert!(may(&member, Action::ManageCourse(&admin)) && may(&member, Action::ManageEnrollments(&admin)));
        let mut concluded = course(false, &[], Completed);
        assert!(!may(&member, Action::ReadCourse(&concluded)));
        concluded.concluded_role = true;
        assert!(may(&member, Action::ReadCourse(&concluded)));
        let mut invited = course(false, &[], Unpublished);
        invited.invited = true;
        assert!(!may(&member, Action::ReadCourse(&invited)), "an invitation does not show a draft");
        invited.state = Available;
        assert!(may(&member, Action::ReadCourse(&invited)));
        assert!(!may(&member, Action::ManageContent(&invited)));
        assert!(may(&principal(1, 10, true), Action::CreateCourse(AccountId(10))));
        assert!(!may(&member, Action::CreateCourse(AccountId(10))));
    }

    fn principal(user: i64, account: i64, admin: bool) -> Principal {
        Principal { user_id: UserId(user), account_id: AccountId(account), account_admin: admin, token_id: TokenId(1) }
    }

    #[test]
    fn the_table() {
        let admin = principal(1, 10, true);
        let member = principal(2, 10, false);
        assert!(may(&admin, Action::ManageUsers(AccountId(10))));
        assert!(!may(&admin, Action::ManageUsers(AccountId(11))), "another account");
        assert!(!may(&member, Action::ManageUsers(AccountId(10))));
        assert!(!may(&member, Action::ReadAccount(AccountId(10))));
        assert!(may(&member, Action::ManageTokensOf(UserId(2))));
        assert!(!may(&member, Action::ManageTokensOf(UserId(1))));
        assert!(may(&admin, Action::ManageTokensOf(UserId(2))));
        assert!(may(&admin, Action::Upload) && !may(&member, Action::Upload));
        assert!(may(&admin, Action::ManageJobs) && !may(&member, Action::ManageJobs));
    }
}
