"""A school's Canvas script, run against lms-media with the real canvasapi client from PyPI.

Usage: python flow.py BASE_URL ADMIN_TOKEN

Drives accounts, users, courses, enrollments, pagination over several pages and the errors, the way a
school's existing scripts do, and exits non-zero on the first thing that does not work as it does against
Canvas. The Rust test cli/tests/it/canvas.rs starts `lms-media serve` (on SQLite and on PostgreSQL),
creates the account with `lms-media accounts create`, and runs this.
"""

import sys
import uuid
import warnings

from canvasapi import Canvas
from canvasapi.account import Account
from canvasapi.exceptions import (
    Conflict,
    Forbidden,
    InvalidAccessToken,
    ResourceDoesNotExist,
    UnprocessableEntity,
)


def expect(exception, call, what):
    try:
        call()
    except exception:
        return
    except Exception as other:  # noqa: BLE001 - any other outcome is the failure to report
        raise AssertionError(f"{what}: expected {exception.__name__}, got {type(other).__name__}: {other}")
    raise AssertionError(f"{what}: expected {exception.__name__}, got success")


def main(base_url, token):
    # An http:// URL makes canvasapi warn; on loopback that is expected.
    warnings.simplefilter("ignore", UserWarning)
    canvas = Canvas(base_url, token)
    me = canvas.get_current_user()
    assert me.name and isinstance(me.id, int), me
    account = canvas.get_account(me.account_id)
    assert account.name == "Canvas School", account.name
    run = uuid.uuid4().hex[:8]

    # Users, as canvasapi creates them; enough to need two pages (canvasapi always asks for 100 a page).
    teacher = account.create_user(
        pseudonym={"unique_id": f"teacher-{run}@school.example", "password": "correct-horse-battery"},
        user={"name": "Tess Teacher", "terms_of_use": True},
        communication_channel={"skip_confirmation": True},
    )
    assert teacher.name == "Tess Teacher" and teacher.sortable_name == "Teacher, Tess", teacher
    students = [
        account.create_user(
            pseudonym={"unique_id": f"s{number:03}-{run}@school.example"}, user={"name": f"Student {number:03}"}
        )
        for number in range(105)
    ]
    listed = list(account.get_users(search_term=f"-{run}@"))
    assert len(listed) == 106, len(listed)
    assert len({user.id for user in listed}) == 106, "a user appeared twice across pages"
    first_page_only = account.get_users(search_term=f"-{run}@")[0]
    assert first_page_only.name in {"Student 000", "Tess Teacher"}, first_page_only.name
    expect(
        Conflict,
        lambda: account.create_user(pseudonym={"unique_id": f"s000-{run}@school.example"}, user={"name": "Again"}),
        "a login taken twice",
    )
    expect(
        UnprocessableEntity,
        lambda: account.create_user(pseudonym={"unique_id": "not an email"}, user={"name": "X"}),
        "a login that is not an email address",
    )

    # Courses.
    course = account.create_course(
        course={"name": f"Biology {run}", "course_code": "BIO-101", "start_at": "2027-01-10T09:00:00"},
        offer=True,
        enroll_me=True,
    )
    assert course.workflow_state == "available" and course.course_code == "BIO-101", course
    assert course.start_at == "2027-01-10T09:00:00Z" and course.start_at_date.year == 2027
    fetched = canvas.get_course(course.id, include=["total_students"])
    assert fetched.name == f"Biology {run}" and fetched.total_students == 0
    assert course.update(course={"name": f"Biology I {run}"}) == f"Biology I {run}"
    assert canvas.get_course(course.id).name == f"Biology I {run}"
    assert [c.id for c in account.get_courses()].count(course.id) == 1

    # Enrollments: the deprecated positional type and the new style both send the same keys.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        first = course.enroll_user(students[0], "StudentEnrollment", enrollment={"enrollment_state": "active"})
    assert first.type == "StudentEnrollment" and first.course_id == course.id, first
    for student in students[1:5]:
        course.enroll_user(student.id, enrollment={"type": "StudentEnrollment", "enrollment_state": "active"})
    course.enroll_user(teacher.id, enrollment={"type": "TeacherEnrollment", "enrollment_state": "active"})
    roster = list(course.get_enrollments(type=["StudentEnrollment"], state=["active"]))
    assert sorted(e.user_id for e in roster) == sorted(s.id for s in students[:5]), roster
    people = list(course.get_users(enrollment_type=["student"], include=["enrollments"]))
    assert len(people) == 5 and all(p.enrollments[0]["type"] == "StudentEnrollment" for p in people)
    assert course.get_user(students[0].id).name == "Student 000"
    assert canvas.get_course(course.id, include=["total_students"]).total_students == 5

    # The student's own view.
    student_token = student_canvas(canvas, students[0])
    mine = list(student_token.get_courses())
    assert [c.id for c in mine] == [course.id], mine
    assert mine[0].enrollments[0]["type"] == "student"
    as_student = Account(student_token._Canvas__requester, {"id": me.account_id, "name": account.name})
    expect(
        Forbidden,
        lambda: as_student.create_user(pseudonym={"unique_id": f"x-{run}@school.example"}, user={"name": "X"}),
        "a student adding users",
    )
    expect(ResourceDoesNotExist, lambda: student_token.get_account(me.account_id), "a student reading the account")

    # Modules and items, as course builders script them; the learner completes an item.
    intro = course.create_module(module={"name": "Intro", "require_sequential_progress": True})
    assert intro.course_id == course.id and intro.name == "Intro", intro
    week = course.create_module(module={"name": "Week 1", "prerequisite_module_ids": [intro.id], "position": 2})
    assert week.prerequisite_module_ids == [intro.id], week.prerequisite_module_ids
    reading = intro.create_module_item(
        module_item={
            "type": "ExternalUrl",
            "title": "Reading",
            "external_url": "https://example.org/reading",
            "new_tab": True,
            "completion_requirement": {"type": "must_mark_done"},
        }
    )
    assert reading.module_id == intro.id and reading.title == "Reading", reading
    intro.create_module_item(module_item={"type": "SubHeader", "title": "Notes"})
    week.create_module_item(
        module_item={
            "type": "ExternalUrl",
            "title": "Lab",
            "external_url": "https://example.org/lab",
            "completion_requirement": {"type": "must_mark_done"},
        }
    )
    listed_modules = list(course.get_modules(include=["items", "content_details"]))
    assert [m.name for m in listed_modules] == ["Intro", "Week 1"], listed_modules
    assert [i["title"] for i in listed_modules[0].items] == ["Reading", "Notes"]
    assert [i.title for i in intro.get_module_items()] == ["Reading", "Notes"]
    as_learner = student_token.get_course(course.id)
    learner_modules = list(as_learner.get_modules())
    assert [m.state for m in learner_modules] == ["unlocked", "locked"], [m.state for m in learner_modules]
    learner_item = learner_modules[0].get_module_item(reading.id)
    assert learner_item.completion_requirement == {"type": "must_mark_done", "completed": False}
    learner_item.complete()
    assert [m.state for m in as_learner.get_modules()] == ["completed", "unlocked"]
    learner_item.uncomplete()
    assert list(as_learner.get_modules())[0].state == "started"
    staff_view = list(course.get_modules(student_id=students[0].id))
    assert staff_view[0].state == "started", staff_view[0].state

    # Pages edited, and an item removed, as course builders script them.
    page = course.create_page(wiki_page={"title": "Syllabus", "body": "<p>v1</p>"})
    assert page.url == "syllabus", page.url
    page.edit(wiki_page={"title": "Course syllabus", "body": "<p>v2<script>x()</script></p>"})
    assert (page.title, page.body) == ("Course syllabus", "<p>v2</p>"), (page.title, page.body)
    assert course.get_page("syllabus").body == "<p>v2</p>"
    notes = [item for item in intro.get_module_items() if item.title == "Notes"][0]
    notes.delete()
    assert [i.title for i in intro.get_module_items()] == ["Reading"]

    # Ending an enrollment, with the task in the DELETE body.
    ended = first.deactivate("conclude")
    assert ended.enrollment_state == "completed", ended
    assert [c.id for c in student_token.get_courses()] == []
    deleted = list(course.get_enrollments(user_id=students[1].id))[0].deactivate("delete")
    assert deleted.enrollment_state == "deleted"
    assert len(list(course.get_enrollments(type=["StudentEnrollment"], state=["active"]))) == 3

    # Errors as canvasapi reads them.
    expect(ResourceDoesNotExist, lambda: canvas.get_course(999999999), "an unknown course")
    expect(InvalidAccessToken, lambda: Canvas(base_url, "not-a-token").get_current_user(), "a bad token")
    print(f"canvasapi flow passed: {len(listed)} users over pages, course {course.id}, {len(roster)} students")


def student_canvas(canvas, student):
    """A client acting as `student`, with a token an admin made for it (POST /users/:id/tokens)."""
    requester = canvas._Canvas__requester
    response = requester.request("POST", f"users/{student.id}/tokens", _kwargs=[("token[purpose]", "flow")])
    return Canvas(requester.original_url, response.json()["visible_token"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
