-- SQLite has no row-level security: every query names its tenant. The outbox names its job's tenant, as on
-- PostgreSQL, where row-level security needs it.
ALTER TABLE outbox ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
