-- The transcode jobs and their outbox. IF NOT EXISTS: a database made before versioned migrations adopts
-- this first version as it is.
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    requeues BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    progress DOUBLE PRECISION NOT NULL,
    source_key TEXT NOT NULL,
    source_name TEXT NOT NULL,
    subtitles TEXT NOT NULL,
    ladder_prefix TEXT,
    published_attempt BIGINT,
    error_code TEXT,
    error_message TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, lease_until);
CREATE INDEX IF NOT EXISTS jobs_by_tenant ON jobs (tenant_id, created_at);

-- Messages waiting to be published. A row goes in the same transaction as the job change it announces and
-- leaves only after the broker confirmed the message, so a crash in between loses nothing.
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    available_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_time ON outbox (available_at);
CREATE INDEX IF NOT EXISTS outbox_by_job ON outbox (job_id);
