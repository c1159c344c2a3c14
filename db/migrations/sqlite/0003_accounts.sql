-- Accounts are tenants; users belong to one account and sign in with their login (an email address); access
-- tokens are stored as SHA-256 hashes, never in clear.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    sortable_name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    login_id TEXT NOT NULL,
    password_hash TEXT,
    account_admin INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, login_id)
);
CREATE INDEX users_by_login ON users (login_id);

CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    token_hint TEXT NOT NULL,
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id);
