-- The catalog (flags are INTEGER 0/1: see lms-db's Flag): courses, who is enrolled in them and how, their modules and module items, pages, and each
-- learner's progress through the items.

CREATE TABLE courses (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    course_code TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- unpublished, available, completed (concluded) or deleted, as Canvas names them.
    workflow_state TEXT NOT NULL,
    start_at BIGINT,
    end_at BIGINT,
    self_enrollment_code TEXT UNIQUE,
    seat_cap BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX courses_by_account ON courses (account_id, id);

CREATE TABLE enrollments (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    course_id BIGINT NOT NULL REFERENCES courses (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- StudentEnrollment, TeacherEnrollment, TaEnrollment, DesignerEnrollment or ObserverEnrollment.
    type TEXT NOT NULL,
    -- invited, active, inactive, completed or deleted.
    workflow_state TEXT NOT NULL,
    start_at BIGINT,
    end_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (course_id, user_id, type)
);
CREATE INDEX enrollments_by_user ON enrollments (user_id, course_id);
CREATE INDEX enrollments_by_course ON enrollments (course_id, type, workflow_state);

CREATE TABLE modules (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    course_id BIGINT NOT NULL REFERENCES courses (id),
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    unlock_at BIGINT,
    require_sequential_progress INTEGER NOT NULL DEFAULT 0,
    -- Ids of earlier modules of the course, as a JSON array.
    prerequisite_module_ids TEXT NOT NULL DEFAULT '[]',
    published INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX modules_by_course ON modules (course_id, position);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    course_id BIGINT NOT NULL REFERENCES courses (id),
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    -- Sanitized HTML: only what is safe to show in a learner's page.
    body TEXT NOT NULL,
    published INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (course_id, url)
);

CREATE TABLE module_items (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    course_id BIGINT NOT NULL REFERENCES courses (id),
    module_id BIGINT NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    -- SubHeader, Page, ExternalUrl, Video, Quiz or Scorm.
    type TEXT NOT NULL,
    indent BIGINT NOT NULL DEFAULT 0,
    content_id BIGINT,
    page_url TEXT,
    external_url TEXT,
    new_tab INTEGER NOT NULL DEFAULT 0,
    -- must_view, must_mark_done, must_submit or min_score; NULL when the item has no requirement.
    completion_type TEXT,
    min_score DOUBLE PRECISION,
    published INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX module_items_by_module ON module_items (module_id, position);
CREATE INDEX module_items_by_course ON module_items (course_id);

-- What a learner did with an item: viewed (with the share of a video watched), marked done, scored.
CREATE TABLE item_progress (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    item_id BIGINT NOT NULL REFERENCES module_items (id) ON DELETE CASCADE,
    course_id BIGINT NOT NULL REFERENCES courses (id),
    viewed INTEGER NOT NULL DEFAULT 0,
    -- The parts of a video the player reported as played, merged: a JSON array of [start, end] seconds.
    watched_ranges TEXT NOT NULL DEFAULT '[]',
    watched_fraction DOUBLE PRECISION NOT NULL DEFAULT 0,
    marked_done INTEGER NOT NULL DEFAULT 0,
    submitted INTEGER NOT NULL DEFAULT 0,
    score DOUBLE PRECISION,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, item_id)
);
CREATE INDEX item_progress_by_course ON item_progress (course_id, user_id);
