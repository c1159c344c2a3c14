-- Answers to POST requests that carried an Idempotency-Key, kept for a day so that a client retrying
-- after a lost answer gets the same answer instead of a second effect.
CREATE TABLE idempotency_keys (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    -- SHA-256 of the request's method, path, query, content type and body (or length, for large bodies).
    fingerprint TEXT NOT NULL,
    -- pending while the first request runs; done once its answer is stored.
    state TEXT NOT NULL,
    status BIGINT,
    content_type TEXT,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
