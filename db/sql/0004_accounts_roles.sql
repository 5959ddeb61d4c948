-- Accounts and the role model (issue 3, part 1).
--
-- Who is who in PostgreSQL:
--   landrec_owner        NOLOGIN; owns every LandRec object. SECURITY DEFINER functions run
--                        as this role, never as a superuser.
--   lr_person            NOLOGIN; every person's LOGIN role is a member: CONNECT, reference
--                        data, and the functions every signed-in person may call.
--   lr_<subsystem>_<kind> NOLOGIN group roles, one per subsystem (phân hệ) and account kind:
--                        subsystems cadastral, land_price, planning, inventory, dossier,
--                        workflow, admin; kinds viewer (read), editor (read + write
--                        through the API), approver (approves change sets), administrator
--                        (system setup). Editors, approvers and administrators are also
--                        viewers of that subsystem.
--   one LOGIN role per person, never shared, described by sys.account.
-- Roles are cluster-wide: several LandRec databases in one cluster share them.

DO $roles$
DECLARE
    subsystem text;
    kind text;
    role text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'landrec_owner') THEN
        CREATE ROLE landrec_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lr_person') THEN
        CREATE ROLE lr_person NOLOGIN;
    END IF;
    FOREACH subsystem IN ARRAY ARRAY['cadastral', 'land_price', 'planning', 'inventory',
                                     'dossier', 'workflow', 'admin'] LOOP
        FOREACH kind IN ARRAY ARRAY['viewer', 'editor', 'approver', 'administrator'] LOOP
            role := format('lr_%s_%s', subsystem, kind);
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role);
            END IF;
            IF kind <> 'viewer' THEN
                EXECUTE format('GRANT %I TO %I', format('lr_%s_viewer', subsystem), role);
            END IF;
        END LOOP;
    END LOOP;
END
$roles$;

-- Nobody but people with an account connects; nothing is readable by default.
DO $db$ BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO lr_person', current_database());
END $db$;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO PUBLIC;  -- PostGIS functions and types live there

------------------------------------------------------------------------------------------
-- Subsystems and the schemas they read
------------------------------------------------------------------------------------------
CREATE TABLE sys.subsystem (
    code     text PRIMARY KEY,
    name_vi  text NOT NULL,
    name_en  text NOT NULL,
    schemas  text[] NOT NULL   -- data schemas whose tables its viewers may read
);
INSERT INTO sys.subsystem VALUES
    ('cadastral',  'Địa chính',                       'Cadastral records', '{cad}'),
    ('land_price', 'Giá đất',                         'Land price',        '{price}'),
    ('planning',   'Quy hoạch, kế hoạch sử dụng đất', 'Land-use planning', '{plan}'),
    ('inventory',  'Thống kê, kiểm kê',               'Statistics and inventory', '{inv}'),
    ('dossier',    'Hồ sơ quét',                      'Scanned dossiers',  '{doc}'),
    ('workflow',   'Quy trình xử lý hồ sơ',           'Dossier workflow',  '{}'),
    ('admin',      'Quản trị hệ thống',               'System administration', '{}');

------------------------------------------------------------------------------------------
-- Accounts: one row per person's LOGIN role
------------------------------------------------------------------------------------------
-- Contractors' accounts live as long as their project: accepted (nghiệm thu) → locked.
CREATE TABLE sys.contractor_project (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    contractor   text NOT NULL,
    state        text NOT NULL DEFAULT 'dang_thuc_hien'
                 CHECK (state IN ('dang_thuc_hien', 'nghiem_thu')),
    accepted_at  timestamptz,
    CHECK ((state = 'nghiem_thu') = (accepted_at IS NOT NULL))
);

CREATE TABLE sys.account (
    role_name           name PRIMARY KEY,
    -- The person: one active account per citizen ID number (Sơn La Đ.12, Cà Mau Đ.8).
    person_id_number    text NOT NULL CHECK (person_id_number ~ '^[0-9]{12}$'),
    full_name           text NOT NULL CHECK (btrim(full_name) <> ''),
    unit                text NOT NULL CHECK (btrim(unit) <> ''),
    position            text,
    phone               text,
    email               text,
    -- Area: the whole province, or the communes in sys.account_area.
    whole_province      boolean NOT NULL DEFAULT false,
    contractor_project  text REFERENCES sys.contractor_project,
    access_until        date,                 -- end of a contractor's or temporary access
    issued_by           name NOT NULL DEFAULT session_user,
    issued_at           timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz,
    must_change_password boolean NOT NULL DEFAULT true,
    last_login_at       timestamptz,
    state               text NOT NULL DEFAULT 'active'
                        CHECK (state IN ('active', 'locked', 'disabled')),
    lock_reason         text,
    locked_at           timestamptz,
    locked_until        timestamptz,          -- NULL = until an administrator unlocks
    failed_logins       integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    totp_secret         bytea,                -- administrators' second factor (RFC 6238)
    -- Every lock carries its reason.
    CHECK ((state = 'locked') = (lock_reason IS NOT NULL AND locked_at IS NOT NULL))
);
CREATE UNIQUE INDEX account_one_active_per_person
    ON sys.account (person_id_number) WHERE state <> 'disabled';

-- Rights: the kinds an account holds in each subsystem (least privilege: only these).
CREATE TABLE sys.account_right (
    role_name  name NOT NULL REFERENCES sys.account ON DELETE CASCADE,
    subsystem  text NOT NULL REFERENCES sys.subsystem,
    kind       text NOT NULL CHECK (kind IN ('viewer', 'editor', 'approver', 'administrator')),
    PRIMARY KEY (role_name, subsystem, kind)
);

-- Area: communes (in force today) an account may read and change.
CREATE TABLE sys.account_area (
    role_name  name NOT NULL REFERENCES sys.account ON DELETE CASCADE,
    commune_id bigint NOT NULL REFERENCES ref.admin_unit,
    PRIMARY KEY (role_name, commune_id)
);

------------------------------------------------------------------------------------------
-- Who am I allowed to be: helpers every policy and API function uses
------------------------------------------------------------------------------------------
-- session_user, not current_user: inside SECURITY DEFINER functions current_user is the
-- owner, while session_user stays the person who signed in.

CREATE FUNCTION sys.has_right(p_subsystem text, p_kind text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM sys.account a
    JOIN sys.account_right r USING (role_name)
    WHERE a.role_name = session_user AND a.state = 'active'
      AND r.subsystem = p_subsystem
      AND (r.kind = p_kind OR (p_kind = 'viewer'))  -- every kind may read its subsystem
);

CREATE FUNCTION sys.sees_whole_province() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM sys.account
    WHERE role_name = session_user AND state = 'active' AND whole_province
);

-- Communes in force that the person may see, plus the old communes they took over, since
-- map sheets and old records carry the pre-2025 units.
CREATE FUNCTION sys.my_units() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (
    SELECT coalesce(array_agg(DISTINCT u), '{}')
    FROM sys.account a
    JOIN sys.account_area ar USING (role_name)
    CROSS JOIN LATERAL (
        SELECT ar.commune_id
        UNION ALL
        SELECT s.predecessor_id FROM ref.admin_unit_succession s
        WHERE s.successor_id = ar.commune_id
    ) AS units(u)
    WHERE a.role_name = session_user AND a.state = 'active'
);

-- Keep every LandRec object owned by landrec_owner (run after each migration: objects
-- created by a superuser's migration would otherwise make definer functions superuser).
CREATE FUNCTION sys.assign_ownership() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    obj record;
BEGIN
    FOR obj IN
        SELECT n.nspname AS schema FROM pg_namespace n
        WHERE n.nspname IN ('sys', 'ref', 'cad', 'price', 'plan', 'inv', 'doc', 'api', 'audit',
                            'hist', 'admin')
    LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO landrec_owner', obj.schema);
    END LOOP;
    FOR obj IN
        SELECT n.nspname AS schema, c.relname AS name, c.relkind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('sys', 'ref', 'cad', 'price', 'plan', 'inv', 'doc', 'api', 'audit',
                            'hist', 'admin')
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND NOT c.relispartition
          AND NOT EXISTS (SELECT 1 FROM pg_depend d  -- identity sequences follow their table
                          WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')
                            AND c.relkind = 'S')
    LOOP
        EXECUTE format('ALTER TABLE %I.%I OWNER TO landrec_owner', obj.schema, obj.name);
    END LOOP;
    FOR obj IN
        SELECT p.oid::regprocedure AS fn
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('sys', 'ref', 'cad', 'price', 'plan', 'inv', 'doc', 'api', 'audit',
                            'hist', 'admin')
          AND p.prokind IN ('f', 'p')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO landrec_owner', obj.fn);
    END LOOP;
END
$fn$;

-- Reference data and deployment settings are for every signed-in person.
GRANT USAGE ON SCHEMA ref, sys TO lr_person;
GRANT SELECT ON ALL TABLES IN SCHEMA ref TO lr_person;
GRANT SELECT ON sys.setting, sys.subsystem TO lr_person;
-- The three helpers only answer about the caller, so any role may ask: a role outside the
-- account model (granted SELECT by hand, say) then sees no rows instead of an error.
REVOKE ALL ON FUNCTION sys.assign_ownership() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sys.has_right(text, text), sys.sees_whole_province(), sys.my_units()
    TO PUBLIC;
