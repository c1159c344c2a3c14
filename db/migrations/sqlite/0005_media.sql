-- Media objects: a course's lecture videos. Each upload for a media object is a version with its own
-- transcode job; the object shows the newest version whose job is published, so replacing a video flips
-- to the new ladder the moment its job is published, and players that hold the old ladder keep it.
CREATE TABLE media_objects (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    course_id BIGINT NOT NULL REFERENCES courses (id),
    title TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX media_objects_by_course ON media_objects (course_id, id);

CREATE TABLE media_versions (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    media_object_id BIGINT NOT NULL REFERENCES media_objects (id),
    job_id TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX media_versions_by_object ON media_versions (media_object_id, id);
