-- Tamper-evident audit log and versioned history (issue 3, part: audit and history).
--
-- audit.log  one append-only, hash-chained log of every INSERT/UPDATE/DELETE on the data
--            tables and of every security event (login, lock, rights change, export …),
--            partitioned by year. Nobody used by a person can change it: no grants, and
--            triggers refuse UPDATE/DELETE/TRUNCATE for everyone, the owner included.
-- hist.*     every earlier version of parcels, land-use purposes, rights and certificates
--            with the period it was valid, behind the same area rule as the live tables.
--
-- The chain: entry n stores prev_hash = hash of entry n-1 and
--   hash = sha256(prev_hash || canonical text of entry n)
-- Entries are numbered 1, 2, 3 … without gaps in commit order: writers are serialised by a
-- transaction-level advisory lock from their first audited change until they commit, so
-- the numbering, the chain and the commit order are the same thing.

CREATE SCHEMA audit;
CREATE SCHEMA hist;

------------------------------------------------------------------------------------------
-- Security events the log knows, and which of them a client may report itself
------------------------------------------------------------------------------------------
CREATE TABLE audit.event_action (
    action             text PRIMARY KEY CHECK (action ~ '^[A-Z][A-Z0-9_]{1,39}$'),
    -- true: the event happens in the client (an export, showing an ID number), so a
    -- person's session reports it through audit.log_event. false: only the server
    -- functions that perform the action (owned by landrec_owner) write it.
    client_may_report  boolean NOT NULL DEFAULT false,
    description        text NOT NULL
);
INSERT INTO audit.event_action (action, client_may_report, description) VALUES
    ('LOGIN',            false, 'Successful sign-in'),
    ('LOGIN_FAILED',     false, 'Failed sign-in (from the server log, pitfall P5)'),
    ('LOGOUT',           true,  'Sign-out reported by the client'),
    ('SESSION_LOCK',     true,  'Client locked an idle session'),
    ('LOCK',             false, 'Account locked (with its reason)'),
    ('UNLOCK',           false, 'Account unlocked'),
    ('ACCOUNT_CREATE',   false, 'Account issued'),
    ('ACCOUNT_UPDATE',   false, 'Account profile changed'),
    ('ACCOUNT_DISABLE',  false, 'Account disabled'),
    ('RIGHTS_CHANGE',    false, 'Rights or areas of an account changed'),
    ('PASSWORD_CHANGE',  false, 'Password changed or reset'),
    ('MFA_ENROL',        false, 'Second factor (TOTP) enrolled or reset'),
    ('MFA_VERIFY',       false, 'Second factor verified'),
    ('MFA_FAILED',       false, 'Second factor rejected'),
    ('SETTING_CHANGE',   false, 'Deployment setting or policy changed'),
    ('EXPORT',           true,  'Data exported from the client (file, print, clipboard)'),
    ('PRINT',            true,  'Records printed from the client'),
    ('READ_PERSONAL_ID', true,  'Personal identity numbers shown to the person'),
    ('BULK_LOAD',        false, 'Bulk load with row auditing switched off (one summary event)'),
    ('BACKUP',           false, 'Backup taken'),
    ('RESTORE',          false, 'Restore from a backup'),
    ('AUDIT_VERIFY',     false, 'Audit chain verified'),
    ('AUDIT_PARTITION',  false, 'Audit log partition added');

------------------------------------------------------------------------------------------
-- The log, partitioned by year (Vietnam time) on the event time
------------------------------------------------------------------------------------------
CREATE TABLE audit.log (
    id           bigint      NOT NULL,  -- position in the chain: 1, 2, 3 … without gaps
    logged_at    timestamptz NOT NULL,  -- clock_timestamp() when written
    actor        name        NOT NULL,  -- session_user: the person who signed in
    client_addr  inet,                  -- inet_client_addr(); NULL over a Unix socket
    application  text,                  -- application_name (client-chosen, informative)
    change_set   bigint,                -- landrec.change_set (biến động) if set
    action       text        NOT NULL,  -- INSERT/UPDATE/DELETE/TRUNCATE or an event action
    table_name   text,                  -- schema.table of a data change
    row_key      jsonb,                 -- primary key of the changed row
    old_row      jsonb,                 -- row before UPDATE/DELETE (secrets redacted)
    new_row      jsonb,                 -- row after INSERT/UPDATE (secrets redacted)
    target       text,                  -- subject of a security event (e.g. a role name)
    detail       jsonb,                 -- details of a security event
    prev_hash    bytea       NOT NULL,
    hash         bytea       NOT NULL,
    PRIMARY KEY (id, logged_at),
    CHECK (octet_length(prev_hash) = 32 AND octet_length(hash) = 32)
) PARTITION BY RANGE (logged_at);
CREATE INDEX log_table_key_idx ON audit.log (table_name, row_key) WHERE table_name IS NOT NULL;
CREATE INDEX log_actor_idx ON audit.log (actor, logged_at);
CREATE TABLE audit.log_default PARTITION OF audit.log DEFAULT;

-- End of the committed chain, read by the first append of a transaction and by verify
-- (a deleted tail is found by comparing with it). writer is the transaction appending now.
CREATE TABLE audit.chain_head (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_id    bigint NOT NULL DEFAULT 0,
    last_hash  bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000',
    writer     xid8
);
INSERT INTO audit.chain_head DEFAULT VALUES;

-- Secrets that must never enter the log: their value is replaced by "[redacted]".
CREATE TABLE audit.redacted_column (
    table_name   text NOT NULL,
    column_name  text NOT NULL,
    PRIMARY KEY (table_name, column_name)
);
INSERT INTO audit.redacted_column VALUES ('sys.account', 'totp_secret');

------------------------------------------------------------------------------------------
-- Append-only: refuse UPDATE, DELETE and TRUNCATE for everyone, the owner included
------------------------------------------------------------------------------------------
-- Only a superuser who deliberately switches triggers off (session_replication_role =
-- replica, or ALTER TABLE … DISABLE TRIGGER) can change rows, and verify() then reports
-- the first changed entry. The operator's procedure is in docs/security-audit.md.
CREATE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'Nhật ký kiểm toán chỉ được ghi thêm: không được sửa, xoá hay làm rỗng (%)',
        TG_OP
        USING ERRCODE = '42501',
              HINT = 'The audit log is append-only. Archiving old years is an operator '
                     'procedure (docs/security.md), never an edit.';
END
$fn$;

CREATE TRIGGER refuse_update_delete BEFORE UPDATE OR DELETE ON audit.log
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON audit.log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- A year's partition (Asia/Ho_Chi_Minh calendar year). Statement triggers are not cloned
-- to partitions, so TRUNCATE is refused on each partition too.
CREATE FUNCTION audit.add_year_partition(p_year integer) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_name text := format('log_%s', p_year);
    v_from timestamptz;
    v_to timestamptz;
BEGIN
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2200 THEN
        RAISE EXCEPTION 'Năm của phân vùng nhật ký không hợp lệ: %', p_year
            USING ERRCODE = '22023', HINT = 'Give a year between 2000 and 2200.';
    END IF;
    IF to_regclass(format('audit.%I', v_name)) IS NOT NULL THEN
        RETURN 'audit.' || v_name;
    END IF;
    v_from := make_timestamptz(p_year, 1, 1, 0, 0, 0, 'Asia/Ho_Chi_Minh');
    v_to := make_timestamptz(p_year + 1, 1, 1, 0, 0, 0, 'Asia/Ho_Chi_Minh');
    BEGIN
        EXECUTE format('CREATE TABLE audit.%I PARTITION OF audit.log FOR VALUES FROM (%L) TO (%L)',
                       v_name, v_from, v_to);
    EXCEPTION WHEN check_violation THEN
        RAISE EXCEPTION 'Phân vùng mặc định của nhật ký đã có bản ghi năm %', p_year
            USING ERRCODE = '23514',
                  HINT = 'Entries of that year are in audit.log_default; leave them there '
                         '(verify and reads work across partitions) or move them as in '
                         'docs/security.md.';
    END;
    EXECUTE format('CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON audit.%I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()', v_name);
    EXECUTE format('ALTER TABLE audit.%I OWNER TO landrec_owner', v_name);
    RETURN 'audit.' || v_name;
END
$fn$;

DO $parts$
BEGIN
    FOR y IN 2015..2035 LOOP
        PERFORM audit.add_year_partition(y);
    END LOOP;
END
$parts$;
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON audit.log_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
ALTER TABLE audit.log_default OWNER TO landrec_owner;

------------------------------------------------------------------------------------------
-- Hashing and appending
------------------------------------------------------------------------------------------
-- Canonical text of an entry: a JSON array of its fields, times in UTC with microseconds,
-- so the text does not depend on the session's TimeZone or DateStyle. The id is left out:
-- an entry's place is fixed by prev_hash, which lets verify tell a re-ordered entry
-- (intact, but in the wrong place) from an edited one.
CREATE FUNCTION audit.entry_hash(
    p_prev_hash bytea, p_logged_at timestamptz, p_actor name, p_client_addr inet,
    p_application text, p_change_set bigint, p_action text, p_table_name text,
    p_row_key jsonb, p_old_row jsonb, p_new_row jsonb, p_target text, p_detail jsonb
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE  -- SQL-standard body: names bound at creation
RETURN sha256(p_prev_hash || convert_to(jsonb_build_array(
    to_char(p_logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    p_actor::text, p_client_addr::text, p_application, p_change_set, p_action, p_table_name,
    p_row_key, p_old_row, p_new_row, p_target, p_detail)::text, 'UTF8'));

-- Key of the lock that serialises writers of the chain ('LRAUDIT' in ASCII).
CREATE FUNCTION audit.lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN 21528190145234004;

-- Append one entry at the end of the chain; returns its id. Only the trigger and the
-- event functions below call it (no grants).
CREATE FUNCTION audit.append(
    p_action text, p_table_name text, p_row_key jsonb, p_old_row jsonb, p_new_row jsonb,
    p_target text, p_detail jsonb
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_head audit.chain_head;
    v_prev_id bigint;
    v_prev_hash bytea;
    v_at timestamptz;
    v_cs text := current_setting('landrec.change_set', true);
    v_change_set bigint;
    v_addr inet := inet_client_addr();
    v_app text := current_setting('application_name', true);
BEGIN
    -- The change set is a client-settable GUC: keep it only when it is a plain number, and
    -- never let a bad value stop the audited write.
    IF v_cs ~ '^[0-9]{1,18}$' THEN
        v_change_set := v_cs::bigint;
    END IF;

    PERFORM pg_advisory_xact_lock(audit.lock_key());
    -- In READ COMMITTED this statement's snapshot is taken after the lock: it sees the
    -- previous writer's commit.
    SELECT * INTO v_head FROM audit.chain_head;
    IF v_head.writer IS DISTINCT FROM pg_current_xact_id() THEN
        -- First entry of this transaction: continue the committed chain. Marking the head
        -- makes a REPEATABLE READ transaction whose snapshot predates the last writer fail
        -- with 40001 (retry) instead of forking the chain.
        UPDATE audit.chain_head SET writer = pg_current_xact_id();
        v_prev_id := v_head.last_id;
        v_prev_hash := v_head.last_hash;
    ELSE
        -- Later entries: the transaction's own last entry (entries of a rolled-back
        -- savepoint are gone, so the chain stays without gaps). Entries of this
        -- transaction are not older than its start, which prunes to this year's partition.
        SELECT l.id, l.hash INTO v_prev_id, v_prev_hash
        FROM audit.log l
        WHERE l.logged_at >= now() AND l.id > v_head.last_id
        ORDER BY l.id DESC LIMIT 1;
        IF NOT FOUND THEN  -- no entry survived (savepoint rolled back) or the clock stepped back
            SELECT l.id, l.hash INTO v_prev_id, v_prev_hash
            FROM audit.log l WHERE l.id > v_head.last_id ORDER BY l.id DESC LIMIT 1;
            IF NOT FOUND THEN
                v_prev_id := v_head.last_id;
                v_prev_hash := v_head.last_hash;
            END IF;
        END IF;
    END IF;

    v_at := clock_timestamp();
    INSERT INTO audit.log (id, logged_at, actor, client_addr, application, change_set, action,
                           table_name, row_key, old_row, new_row, target, detail,
                           prev_hash, hash)
    VALUES (v_prev_id + 1, v_at, session_user, v_addr, v_app, v_change_set, p_action,
            p_table_name, p_row_key, p_old_row, p_new_row, p_target, p_detail,
            v_prev_hash,
            audit.entry_hash(v_prev_hash, v_at, session_user, v_addr, v_app, v_change_set,
                             p_action, p_table_name, p_row_key, p_old_row, p_new_row,
                             p_target, p_detail));
    RETURN v_prev_id + 1;
END
$fn$;

-- At commit, the head records the transaction's last entry (a deferred trigger: it runs
-- once per transaction, so a bulk change does not update the head row per entry).
-- ENABLE ALWAYS: it must run under session_replication_role = replica too (bulk loads).
CREATE FUNCTION audit.close_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_id bigint;
    v_hash bytea;
BEGIN
    SELECT l.id, l.hash INTO v_id, v_hash
    FROM audit.log l WHERE l.id > OLD.last_id ORDER BY l.id DESC LIMIT 1;
    IF FOUND THEN
        UPDATE audit.chain_head SET last_id = v_id, last_hash = v_hash, writer = NULL;
    ELSE
        UPDATE audit.chain_head SET writer = NULL;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE CONSTRAINT TRIGGER close_head AFTER UPDATE ON audit.chain_head
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.writer IS NOT NULL AND OLD.writer IS DISTINCT FROM NEW.writer)
    EXECUTE FUNCTION audit.close_head();
ALTER TABLE audit.chain_head ENABLE ALWAYS TRIGGER close_head;

------------------------------------------------------------------------------------------
-- Row changes of the data tables
------------------------------------------------------------------------------------------
-- Trigger arguments: the primary-key columns and the redacted columns, comma-separated,
-- fixed when the trigger is attached so no catalog lookup happens per row.
CREATE FUNCTION audit.on_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_old jsonb;
    v_new jsonb;
    v_key jsonb;
    v_col text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        v_old := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_new := to_jsonb(NEW);
    END IF;
    IF TG_ARGV[1] <> '' THEN
        FOREACH v_col IN ARRAY string_to_array(TG_ARGV[1], ',') LOOP
            IF v_old ->> v_col IS NOT NULL THEN
                v_old := jsonb_set(v_old, ARRAY[v_col], '"[redacted]"');
            END IF;
            IF v_new ->> v_col IS NOT NULL THEN
                v_new := jsonb_set(v_new, ARRAY[v_col], '"[redacted]"');
            END IF;
        END LOOP;
    END IF;
    IF TG_ARGV[0] <> '' THEN
        SELECT jsonb_object_agg(k, coalesce(v_old, v_new) -> k) INTO v_key
        FROM unnest(string_to_array(TG_ARGV[0], ',')) AS k;
    END IF;
    PERFORM audit.append(TG_OP, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, v_key, v_old, v_new,
                         NULL, NULL);
    RETURN NULL;
END
$fn$;

CREATE FUNCTION audit.on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM audit.append('TRUNCATE', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, NULL, NULL, NULL,
                         NULL, NULL);
    RETURN NULL;
END
$fn$;

-- Attach the audit triggers to one table (idempotent). Run by migrations.
CREATE FUNCTION audit.attach(p_table regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_name text;
    v_pk text;
    v_redact text;
BEGIN
    SELECT n.nspname || '.' || c.relname INTO v_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table;
    SELECT coalesce(string_agg(a.attname, ',' ORDER BY k.ord), '') INTO v_pk
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE i.indrelid = p_table AND i.indisprimary;
    SELECT coalesce(string_agg(column_name, ',' ORDER BY column_name), '') INTO v_redact
    FROM audit.redacted_column WHERE table_name = v_name;
    EXECUTE format('CREATE OR REPLACE TRIGGER zz_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION audit.on_row_change(%L, %L)',
                   p_table, v_pk, v_redact);
    EXECUTE format('CREATE OR REPLACE TRIGGER zz_audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit.on_truncate()', p_table);
END
$fn$;

-- Every data table: all tables of ref, cad, price, plan, inv, doc, and the account tables
-- of sys. Idempotent; later migrations that add tables run it again.
CREATE FUNCTION audit.attach_all() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_table regclass;
    v_n integer := 0;
BEGIN
    FOR v_table IN
        SELECT c.oid::regclass
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND (n.nspname IN ('ref', 'cad', 'price', 'plan', 'inv', 'doc')
               OR (n.nspname = 'sys' AND c.relname IN ('account', 'account_right',
                   'account_area', 'setting', 'contractor_project')))
        ORDER BY n.nspname, c.relname
    LOOP
        PERFORM audit.attach(v_table);
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$fn$;

------------------------------------------------------------------------------------------
-- Security events
------------------------------------------------------------------------------------------
CREATE FUNCTION audit.check_event(p_action text, p_target text, p_detail jsonb)
RETURNS audit.event_action
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_kind audit.event_action;
BEGIN
    SELECT * INTO v_kind FROM audit.event_action WHERE action = p_action;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Loại sự kiện nhật ký không hợp lệ: %', coalesce(left(p_action, 60), 'NULL')
            USING ERRCODE = '22023', HINT = 'Known actions are listed in audit.event_action.';
    END IF;
    IF length(p_target) > 200 THEN
        RAISE EXCEPTION 'Đối tượng của sự kiện quá dài (tối đa 200 ký tự)'
            USING ERRCODE = '22023';
    END IF;
    IF p_detail IS NOT NULL
       AND (jsonb_typeof(p_detail) <> 'object' OR octet_length(p_detail::text) > 16384) THEN
        RAISE EXCEPTION 'Chi tiết sự kiện phải là một đối tượng JSON không quá 16 kB'
            USING ERRCODE = '22023';
    END IF;
    RETURN v_kind;
END
$fn$;

-- Any event, for the server functions that perform the action (owned by landrec_owner;
-- no grants).
CREATE FUNCTION audit.write_event(p_action text, p_target text, p_detail jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM audit.check_event(p_action, p_target, p_detail);
    RETURN audit.append(p_action, NULL, NULL, NULL, NULL, p_target, p_detail);
END
$fn$;

-- Events a client may report about its own session (granted to lr_person).
CREATE FUNCTION audit.report_event(p_action text, p_target text, p_detail jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT (audit.check_event(p_action, p_target, p_detail)).client_may_report THEN
        RAISE EXCEPTION 'Không được tự ghi sự kiện % vào nhật ký', p_action
            USING ERRCODE = '42501',
                  HINT = 'A client may report only the actions marked client_may_report in '
                         'audit.event_action (EXPORT, READ_PERSONAL_ID …); the others are '
                         'written by the server functions that perform them.';
    END IF;
    RETURN audit.append(p_action, NULL, NULL, NULL, NULL, p_target, p_detail);
END
$fn$;

-- The one entry point: audit.log_event(action, target, detail) → entry id.
-- SECURITY INVOKER on purpose: inside a definer function current_user is the owner, so
-- the caller could not be told apart. Here current_user is the caller: landrec_owner when
-- a server function (SECURITY DEFINER, owned by landrec_owner) logs LOCK, RIGHTS_CHANGE …,
-- or a person calling directly, who only reaches report_event and its short list.
CREATE FUNCTION audit.log_event(p_action text, p_target text DEFAULT NULL,
                                p_detail jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF current_user = 'landrec_owner'
       OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RETURN audit.write_event(p_action, p_target, p_detail);
    END IF;
    RETURN audit.report_event(p_action, p_target, p_detail);
END
$fn$;

------------------------------------------------------------------------------------------
-- Verification
------------------------------------------------------------------------------------------
-- Walk the chain in id order (from p_from, trusting the first entry there) and report the
-- first entry that breaks it:
--   edited      its hash is not sha256(prev_hash || its content), or its successor was
--               chained to a different hash (the entry was replaced and re-hashed)
--   deleted     ids jump, or the chain ends before the committed head
--   re-ordered  intact, but chained to an entry that sits elsewhere in the log
-- or one all-clear row (ok, entry_id = last entry checked). checked = entries read.
CREATE FUNCTION audit.verify(p_from timestamptz DEFAULT NULL)
RETURNS TABLE (ok boolean, entry_id bigint, reason text, checked bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_head audit.chain_head;
    v_prev_id bigint;
    v_prev_hash bytea;
    v_started boolean := false;
    v_n bigint := 0;
    r audit.log;
BEGIN
    -- The head first: entries up to it were committed when it was read, so they are all
    -- visible to the walk below; later entries are left for the next run.
    SELECT * INTO v_head FROM audit.chain_head;
    IF p_from IS NULL THEN
        v_prev_id := 0;
        v_prev_hash := '\x0000000000000000000000000000000000000000000000000000000000000000';
        v_started := true;
    END IF;
    FOR r IN
        SELECT * FROM audit.log l
        WHERE l.id <= v_head.last_id AND (p_from IS NULL OR l.logged_at >= p_from)
        ORDER BY l.id
    LOOP
        IF NOT v_started THEN
            v_prev_id := r.id - 1;
            v_prev_hash := r.prev_hash;
            v_started := true;
        END IF;
        v_n := v_n + 1;
        IF r.hash IS DISTINCT FROM audit.entry_hash(r.prev_hash, r.logged_at, r.actor,
               r.client_addr, r.application, r.change_set, r.action, r.table_name,
               r.row_key, r.old_row, r.new_row, r.target, r.detail) THEN
            RETURN QUERY SELECT false, r.id, 'edited'::text, v_n;
            RETURN;
        END IF;
        IF r.id <> v_prev_id + 1 THEN
            RETURN QUERY SELECT false, v_prev_id + 1, 'deleted'::text, v_n;
            RETURN;
        END IF;
        IF r.prev_hash IS DISTINCT FROM v_prev_hash THEN
            IF EXISTS (SELECT 1 FROM audit.log l WHERE l.hash = r.prev_hash) THEN
                RETURN QUERY SELECT false, r.id, 're-ordered'::text, v_n;
            ELSE
                RETURN QUERY SELECT false, v_prev_id, 'edited'::text, v_n;
            END IF;
            RETURN;
        END IF;
        v_prev_id := r.id;
        v_prev_hash := r.hash;
    END LOOP;
    IF v_started AND v_prev_id < v_head.last_id THEN
        RETURN QUERY SELECT false, v_prev_id + 1, 'deleted'::text, v_n;
    ELSIF v_started AND v_prev_id = v_head.last_id AND v_prev_hash IS DISTINCT FROM v_head.last_hash THEN
        RETURN QUERY SELECT false, v_prev_id, 'edited'::text, v_n;
    ELSE
        RETURN QUERY SELECT true, v_prev_id, 'ok'::text, v_n;
    END IF;
END
$fn$;

-- The head, to be written down outside the database (backup report, printed register):
-- an attacker with superuser rights who rewrites the whole tail cannot match it.
CREATE FUNCTION audit.head() RETURNS TABLE (last_id bigint, last_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT h.last_id, encode(h.last_hash, 'hex') FROM audit.chain_head h;
END;

------------------------------------------------------------------------------------------
-- Attach to the data tables (history triggers below attach to four of them as well)
------------------------------------------------------------------------------------------
SELECT audit.attach_all();

------------------------------------------------------------------------------------------
-- Grants: the audit viewer reads, persons report client events, nobody writes
------------------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.refuse_change(), audit.add_year_partition(integer),
    audit.entry_hash(bytea, timestamptz, name, inet, text, bigint, text, text, jsonb, jsonb,
                     jsonb, text, jsonb),
    audit.lock_key(), audit.append(text, text, jsonb, jsonb, jsonb, text, jsonb),
    audit.close_head(), audit.on_row_change(), audit.on_truncate(), audit.attach(regclass),
    audit.attach_all(), audit.check_event(text, text, jsonb),
    audit.write_event(text, text, jsonb), audit.report_event(text, text, jsonb),
    audit.log_event(text, text, jsonb), audit.verify(timestamptz), audit.head()
    FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO lr_person;
GRANT EXECUTE ON FUNCTION audit.log_event(text, text, jsonb),
    audit.report_event(text, text, jsonb) TO lr_person;
GRANT SELECT ON audit.log, audit.event_action TO lr_admin_viewer;
GRANT EXECUTE ON FUNCTION audit.verify(timestamptz), audit.head() TO lr_admin_viewer;

------------------------------------------------------------------------------------------
-- History: every version of parcels, land-use purposes, rights and certificates
------------------------------------------------------------------------------------------
-- Each live row carries version_from, the time its current version began (transaction
-- time). On UPDATE or DELETE a trigger copies the old row to hist.<table> with
-- version_period = [version_from, now()). A row is in force at t when t is inside its
-- period and it was not yet retired (retired_at closes validity as well).
-- The column is version_from, not valid_from: cad.land_right.valid_from already holds the
-- legal start of a right (a date), a different thing from when the record changed.
ALTER TABLE cad.parcel ADD COLUMN version_from timestamptz NOT NULL DEFAULT now();
ALTER TABLE cad.land_use ADD COLUMN version_from timestamptz NOT NULL DEFAULT now();
ALTER TABLE cad.land_right ADD COLUMN version_from timestamptz NOT NULL DEFAULT now();
ALTER TABLE cad.certificate ADD COLUMN version_from timestamptz NOT NULL DEFAULT now();
-- Rows older than this migration: a parcel's version began when it was created, its
-- purposes and rights with it; a certificate on its issue date (Vietnam time).
-- This backfill is part of the schema change, not a change to the records: with triggers
-- off (migrations run as a superuser) it writes no audit row per parcel — a million
-- parcels would otherwise add millions of entries and minutes to the upgrade.
SET LOCAL session_replication_role = replica;
UPDATE cad.parcel SET version_from = created_at;
UPDATE cad.land_use u SET version_from = p.created_at FROM cad.parcel p WHERE p.id = u.parcel_id;
UPDATE cad.land_right r SET version_from = p.created_at FROM cad.parcel p WHERE p.id = r.parcel_id;
UPDATE cad.certificate SET version_from = issued_on::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh';
SET LOCAL session_replication_role = origin;

-- hist.<table>: the live columns (LIKE copies names, types and NOT NULL; a generated column
-- becomes a plain one holding the value it had), then the version's period and who closed it.
CREATE TABLE hist.parcel (LIKE cad.parcel);
CREATE TABLE hist.land_use (LIKE cad.land_use);
CREATE TABLE hist.land_right (LIKE cad.land_right);
CREATE TABLE hist.certificate (LIKE cad.certificate);
DO $hist$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['parcel', 'land_use', 'land_right', 'certificate'] LOOP
        EXECUTE format($sql$
            ALTER TABLE hist.%1$I
                ADD COLUMN version_period tstzrange NOT NULL
                    CHECK (NOT isempty(version_period) AND NOT upper_inf(version_period)),
                ADD COLUMN closed_by_op text NOT NULL CHECK (closed_by_op IN ('UPDATE', 'DELETE')),
                ADD COLUMN closed_by name NOT NULL,       -- session_user of the change
                ADD COLUMN change_set bigint,              -- landrec.change_set if set
                ADD COLUMN hist_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY
            $sql$, t);
        EXECUTE format('CREATE INDEX ON hist.%I (id, lower(version_period))', t);
    END LOOP;
END
$hist$;
CREATE INDEX ON hist.parcel USING gist (geom, version_period);
CREATE INDEX ON hist.parcel (commune_id);
CREATE INDEX ON hist.land_use (parcel_id);
CREATE INDEX ON hist.land_right (parcel_id);

-- The versioning trigger of one live table, generated with the column list of today:
-- a later migration that adds or drops a live column runs hist.install() again (after
-- adding the column to hist.<table>); columns missing from hist.<table> are not copied.
CREATE FUNCTION hist.install(p_table text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_cols text;
    v_vals text;
BEGIN
    IF p_table NOT IN ('parcel', 'land_use', 'land_right', 'certificate') THEN
        RAISE EXCEPTION 'Bảng không có lịch sử: %', p_table USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('OLD.%I', a.attname), ', ' ORDER BY a.attnum)
    INTO v_cols, v_vals
    FROM pg_attribute a
    WHERE a.attrelid = format('cad.%I', p_table)::regclass AND a.attnum > 0
      AND NOT a.attisdropped
      AND EXISTS (SELECT 1 FROM pg_attribute h
                  WHERE h.attrelid = format('hist.%I', p_table)::regclass
                    AND h.attname = a.attname AND NOT h.attisdropped);
    -- The version ends now() (transaction start), the same instant for every row the
    -- transaction touches. Two changes in one transaction leave one version: the state
    -- between them was never visible to anyone. If a transaction that started later has
    -- already changed the row, its version began after our now(), so ours ends at the
    -- clock instead, keeping periods in order.
    EXECUTE format($body$
        CREATE OR REPLACE FUNCTION hist.%1$I() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $trg$
        DECLARE
            v_end timestamptz;
            v_cs text;
        BEGIN
            IF TG_OP = 'INSERT' THEN
                NEW.version_from := now();
                RETURN NEW;
            END IF;
            v_end := CASE WHEN OLD.version_from <= now() THEN now() ELSE clock_timestamp() END;
            IF v_end > OLD.version_from THEN
                v_cs := current_setting('landrec.change_set', true);
                INSERT INTO hist.%1$I (%2$s, version_period, closed_by_op, closed_by, change_set)
                VALUES (%3$s, tstzrange(OLD.version_from, v_end, '[)'), TG_OP, session_user,
                        CASE WHEN v_cs ~ '^[0-9]{1,18}$' THEN v_cs::bigint END);
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            NEW.version_from := v_end;
            RETURN NEW;
        END
        $trg$
        $body$, p_table, v_cols, v_vals);
    EXECUTE format('REVOKE ALL ON FUNCTION hist.%I() FROM PUBLIC', p_table);
    -- zz_: after other BEFORE triggers, so the copy is the row as it was stored.
    EXECUTE format('CREATE OR REPLACE TRIGGER zz_hist BEFORE INSERT OR UPDATE OR DELETE '
                   'ON cad.%1$I FOR EACH ROW EXECUTE FUNCTION hist.%1$I()', p_table);
END
$fn$;
SELECT hist.install(t) FROM unnest(ARRAY['parcel', 'land_use', 'land_right', 'certificate']) t;

-- Reads follow the area rule of the live tables: a commune officer sees the history of
-- the parcels of their communes only, from any client.
ALTER TABLE hist.parcel ENABLE ROW LEVEL SECURITY;
ALTER TABLE hist.land_use ENABLE ROW LEVEL SECURITY;
ALTER TABLE hist.land_right ENABLE ROW LEVEL SECURITY;
ALTER TABLE hist.certificate ENABLE ROW LEVEL SECURITY;
CREATE POLICY area ON hist.parcel FOR SELECT
    USING ((SELECT sys.sees_whole_province()) OR commune_id = ANY ((SELECT sys.my_units())::bigint[]));
CREATE POLICY area ON hist.land_use FOR SELECT
    USING ((SELECT sys.sees_whole_province()) OR EXISTS (
        SELECT 1 FROM cad.parcel p WHERE p.id = parcel_id
          AND p.commune_id = ANY ((SELECT sys.my_units())::bigint[])));
CREATE POLICY area ON hist.land_right FOR SELECT
    USING ((SELECT sys.sees_whole_province()) OR EXISTS (
        SELECT 1 FROM cad.parcel p WHERE p.id = parcel_id
          AND p.commune_id = ANY ((SELECT sys.my_units())::bigint[])));
CREATE POLICY area ON hist.certificate FOR SELECT
    USING ((SELECT sys.sees_whole_province()) OR EXISTS (
        SELECT 1 FROM cad.certificate_parcel cp JOIN cad.parcel p ON p.id = cp.parcel_id
        WHERE cp.certificate_id = certificate.id AND p.commune_id = ANY ((SELECT sys.my_units())::bigint[])));

------------------------------------------------------------------------------------------
-- "As of": the parcel(s) as they were at a moment (SECURITY INVOKER: RLS applies)
------------------------------------------------------------------------------------------
CREATE FUNCTION hist.parcel_as_of(p_parcel_id bigint, p_at timestamptz)
RETURNS TABLE (id bigint, sheet_id bigint, parcel_number integer, duplicate_seq smallint,
               commune_id bigint, national_id text, geom geometry, area_legal numeric,
               area_computed double precision, address text, created_at timestamptz,
               retired_at timestamptz, version integer, version_period tstzrange,
               is_current boolean)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    IF p_parcel_id IS NULL OR p_at IS NULL OR NOT isfinite(p_at) THEN
        RAISE EXCEPTION 'Cần mã thửa và một thời điểm xác định'
            USING ERRCODE = '22023', HINT = 'Give a parcel id and a finite timestamp.';
    END IF;
    RETURN QUERY
    SELECT p.id, p.sheet_id, p.parcel_number, p.duplicate_seq, p.commune_id, p.national_id,
           p.geom::geometry, p.area_legal::numeric, p.area_computed, p.address, p.created_at,
           p.retired_at, p.version, tstzrange(p.version_from, NULL), true
    FROM cad.parcel p
    WHERE p.id = p_parcel_id AND p.version_from <= p_at
      AND (p.retired_at IS NULL OR p_at < p.retired_at)
    UNION ALL
    SELECT h.id, h.sheet_id, h.parcel_number, h.duplicate_seq, h.commune_id, h.national_id,
           h.geom::geometry, h.area_legal::numeric, h.area_computed, h.address, h.created_at,
           h.retired_at, h.version, h.version_period, false
    FROM hist.parcel h
    WHERE h.id = p_parcel_id AND h.version_period @> p_at
      AND (h.retired_at IS NULL OR p_at < h.retired_at);
END
$fn$;

-- Every parcel in force at p_at whose geometry meets the box (province CRS, metres).
CREATE FUNCTION hist.parcels_as_of(p_minx double precision, p_miny double precision,
                                   p_maxx double precision, p_maxy double precision,
                                   p_at timestamptz)
RETURNS TABLE (id bigint, sheet_id bigint, parcel_number integer, duplicate_seq smallint,
               commune_id bigint, national_id text, geom geometry, area_legal numeric,
               area_computed double precision, address text, created_at timestamptz,
               retired_at timestamptz, version integer, version_period tstzrange,
               is_current boolean)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    v_box geometry;
BEGIN
    IF p_at IS NULL OR NOT isfinite(p_at) THEN
        RAISE EXCEPTION 'Cần một thời điểm xác định' USING ERRCODE = '22023';
    END IF;
    IF p_minx IS NULL OR p_miny IS NULL OR p_maxx IS NULL OR p_maxy IS NULL
       OR 'NaN'::float8 IN (p_minx, p_miny, p_maxx, p_maxy)
       OR abs(p_minx) = 'Infinity' OR abs(p_miny) = 'Infinity'
       OR abs(p_maxx) = 'Infinity' OR abs(p_maxy) = 'Infinity'
       OR p_minx >= p_maxx OR p_miny >= p_maxy THEN
        RAISE EXCEPTION 'Khung tìm kiếm không hợp lệ'
            USING ERRCODE = '22023', HINT = 'Give minx < maxx and miny < maxy, finite numbers.';
    END IF;
    v_box := ST_MakeEnvelope(p_minx, p_miny, p_maxx, p_maxy,
                             (SELECT (s.value #>> '{}')::integer FROM sys.setting s
                              WHERE s.key = 'srid'));
    RETURN QUERY
    SELECT p.id, p.sheet_id, p.parcel_number, p.duplicate_seq, p.commune_id, p.national_id,
           p.geom::geometry, p.area_legal::numeric, p.area_computed, p.address, p.created_at,
           p.retired_at, p.version, tstzrange(p.version_from, NULL), true
    FROM cad.parcel p
    WHERE p.geom && v_box AND p.version_from <= p_at
      AND (p.retired_at IS NULL OR p_at < p.retired_at)
    UNION ALL
    SELECT h.id, h.sheet_id, h.parcel_number, h.duplicate_seq, h.commune_id, h.national_id,
           h.geom::geometry, h.area_legal::numeric, h.area_computed, h.address, h.created_at,
           h.retired_at, h.version, h.version_period, false
    FROM hist.parcel h
    WHERE h.geom && v_box AND h.version_period @> p_at
      AND (h.retired_at IS NULL OR p_at < h.retired_at);
END
$fn$;

-- Every version of one parcel, oldest first (the current one last, open-ended).
CREATE FUNCTION hist.parcel_versions(p_parcel_id bigint)
RETURNS TABLE (version_period tstzrange, closed_by_op text, closed_by name, change_set bigint,
               version integer, parcel_number integer, commune_id bigint, geom geometry,
               area_legal numeric, address text, retired_at timestamptz, is_current boolean)
LANGUAGE sql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp
BEGIN ATOMIC
    SELECT v.* FROM (
        SELECT h.version_period, h.closed_by_op, h.closed_by, h.change_set, h.version,
               h.parcel_number, h.commune_id, h.geom::geometry, h.area_legal::numeric,
               h.address, h.retired_at, false
        FROM hist.parcel h WHERE h.id = p_parcel_id
        UNION ALL
        SELECT tstzrange(p.version_from, NULL), NULL, NULL, NULL, p.version, p.parcel_number,
               p.commune_id, p.geom::geometry, p.area_legal::numeric, p.address,
               p.retired_at, true
        FROM cad.parcel p WHERE p.id = p_parcel_id
    ) AS v(version_period, closed_by_op, closed_by, change_set, version, parcel_number,
           commune_id, geom, area_legal, address, retired_at, is_current)
    ORDER BY lower(v.version_period);
END;

------------------------------------------------------------------------------------------
-- Lineage: ancestors and descendants through splits and merges
------------------------------------------------------------------------------------------
-- One row for the parcel itself (depth 0), then one per lineage link reached: ancestors
-- at negative depth (-1 = its parents), descendants at positive depth (1 = its children).
-- parcel_id is the parcel reached through the link. SECURITY INVOKER: the caller's rights
-- and area apply to lineage, mutations and parcels alike.
CREATE FUNCTION cad.parcel_lineage_tree(p_parcel_id bigint)
RETURNS TABLE (depth integer, parcel_id bigint, parent_id bigint, child_id bigint,
               mutation_id bigint, mutation_kind text, decided_at timestamptz,
               sheet_id bigint, parcel_number integer, commune_id bigint,
               retired_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp AS $fn$
BEGIN
    IF p_parcel_id IS NULL THEN
        RAISE EXCEPTION 'Cần mã thửa' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH RECURSIVE
    up (depth, parcel_id, parent_id, child_id, mutation_id, path) AS (
        SELECT -1, l.parent_id, l.parent_id, l.child_id, l.mutation_id, ARRAY[l.child_id, l.parent_id]
        FROM cad.parcel_lineage l WHERE l.child_id = p_parcel_id
        UNION ALL
        SELECT u.depth - 1, l.parent_id, l.parent_id, l.child_id, l.mutation_id, u.path || l.parent_id
        FROM up u JOIN cad.parcel_lineage l ON l.child_id = u.parcel_id
        WHERE l.parent_id <> ALL (u.path) AND u.depth > -100
    ),
    down (depth, parcel_id, parent_id, child_id, mutation_id, path) AS (
        SELECT 1, l.child_id, l.parent_id, l.child_id, l.mutation_id, ARRAY[l.parent_id, l.child_id]
        FROM cad.parcel_lineage l WHERE l.parent_id = p_parcel_id
        UNION ALL
        SELECT d.depth + 1, l.child_id, l.parent_id, l.child_id, l.mutation_id, d.path || l.child_id
        FROM down d JOIN cad.parcel_lineage l ON l.parent_id = d.parcel_id
        WHERE l.child_id <> ALL (d.path) AND d.depth < 100
    ),
    links AS (
        SELECT 0 AS depth, p_parcel_id AS parcel_id, NULL::bigint AS parent_id,
               NULL::bigint AS child_id, NULL::bigint AS mutation_id
        UNION ALL SELECT up.depth, up.parcel_id, up.parent_id, up.child_id, up.mutation_id FROM up
        UNION ALL SELECT down.depth, down.parcel_id, down.parent_id, down.child_id, down.mutation_id FROM down
    )
    SELECT k.depth, k.parcel_id, k.parent_id, k.child_id, k.mutation_id, m.kind, m.decided_at,
           p.sheet_id, p.parcel_number, p.commune_id, p.retired_at
    FROM links k
    JOIN cad.parcel p ON p.id = k.parcel_id            -- only parcels the caller may see
    LEFT JOIN cad.mutation m ON m.id = k.mutation_id
    WHERE EXISTS (SELECT 1 FROM cad.parcel s WHERE s.id = p_parcel_id)
    ORDER BY k.depth, k.parcel_id, k.mutation_id;
END
$fn$;

REVOKE ALL ON ALL TABLES IN SCHEMA hist FROM PUBLIC;
REVOKE ALL ON FUNCTION hist.install(text),
    hist.parcel_as_of(bigint, timestamptz),
    hist.parcels_as_of(double precision, double precision, double precision, double precision,
                       timestamptz),
    hist.parcel_versions(bigint), cad.parcel_lineage_tree(bigint) FROM PUBLIC;
GRANT USAGE ON SCHEMA hist TO lr_cadastral_viewer;
GRANT SELECT ON ALL TABLES IN SCHEMA hist TO lr_cadastral_viewer;
GRANT EXECUTE ON FUNCTION hist.parcel_as_of(bigint, timestamptz),
    hist.parcels_as_of(double precision, double precision, double precision, double precision,
                       timestamptz),
    hist.parcel_versions(bigint), cad.parcel_lineage_tree(bigint) TO lr_cadastral_viewer;
