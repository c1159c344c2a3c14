-- Row-level security: every tenant-owned row is visible only to a transaction that named its tenant
-- (`lms.tenant_id`, set by lms-db's tenant transaction) or that runs as the system (`lms.system = 'on'`:
-- workers, the relay, token look-up). A transaction that set neither sees nothing: it fails closed.

CREATE OR REPLACE FUNCTION lms_tenant() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('lms.tenant_id', true), '') $$;

-- The tenant as an account id, for tables keyed by account; NULL (no row matches) when it is not a number.
CREATE OR REPLACE FUNCTION lms_account() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT CASE WHEN lms_tenant() ~ '^[0-9]{1,18}$' THEN lms_tenant()::bigint END $$;

CREATE OR REPLACE FUNCTION lms_system() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('lms.system', true), '') = 'on' $$;

-- The outbox names its job's tenant, so that a tenant's transaction may add the message of its own job.
ALTER TABLE outbox ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON jobs
    USING (lms_system() OR tenant_id = lms_tenant())
    WITH CHECK (lms_system() OR tenant_id = lms_tenant());

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON outbox
    USING (lms_system() OR tenant_id = lms_tenant())
    WITH CHECK (lms_system() OR tenant_id = lms_tenant());
