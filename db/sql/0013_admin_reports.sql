-- The administration module's reads (issue 7): account overview, duplicate-person lookup,
-- rights preview, policy listing, audit search and verification, periodic reports.
--
-- Every function is SECURITY DEFINER with a pinned search_path, starts with
-- sys.require_admin() (an active administrator whose second factor was verified in this
-- very session, else 42501) and is granted to lr_admin_administrator only. Writes stay in
-- the functions of 0007 (admin.create_account, set_rights, lock_account …), which audit
-- themselves; here only the integrity check writes an event (AUDIT_VERIFY).

------------------------------------------------------------------------------------------
-- Accounts
------------------------------------------------------------------------------------------
-- One row per account, with what the administrators' screen filters on: the effective
-- state ('expired' = access ended or contractor project accepted, even before the agent's
-- next round locks it), the communes by name, the account kind.
CREATE FUNCTION admin.account_overview()
RETURNS TABLE (role_name name, full_name text, person_id_number text, unit text,
               "position" text, phone text, email text, kinds jsonb, account_kind text,
               whole_province boolean, communes bigint[], commune_names text[], state text,
               effective_state text, lock_kind text, lock_reason text, locked_at timestamptz,
               locked_until timestamptz, must_change_password boolean,
               last_login_at timestamptz, issued_at timestamptz, issued_by name,
               contractor_project text, access_until date, has_totp boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    v_today date := (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
BEGIN
    PERFORM sys.require_admin();
    RETURN QUERY
    SELECT a.role_name, a.full_name, a.person_id_number, a.unit, a.position, a.phone, a.email,
           sys.rights_json(a.role_name),
           -- The three account kinds of the regulations (Sơn La Đ.12, Bình Phước Đ.7).
           CASE WHEN EXISTS (SELECT 1 FROM sys.account_right r WHERE r.role_name = a.role_name
                             AND r.kind = 'administrator') THEN 'administration'
                WHEN EXISTS (SELECT 1 FROM sys.account_right r WHERE r.role_name = a.role_name
                             AND r.kind IN ('editor', 'approver')) THEN 'update'
                WHEN EXISTS (SELECT 1 FROM sys.account_right r WHERE r.role_name = a.role_name)
                     THEN 'read'
                ELSE 'none' END,
           a.whole_province,
           ARRAY(SELECT ar.commune_id FROM sys.account_area ar
                 WHERE ar.role_name = a.role_name ORDER BY 1),
           ARRAY(SELECT u.name FROM sys.account_area ar JOIN ref.admin_unit u ON u.id = ar.commune_id
                 WHERE ar.role_name = a.role_name ORDER BY u.code),
           a.state,
           CASE WHEN a.state = 'disabled' THEN 'disabled'
                WHEN a.access_until < v_today
                  OR a.lock_kind IN ('access_expired', 'contractor_accepted')
                  OR EXISTS (SELECT 1 FROM sys.contractor_project p
                             WHERE p.code = a.contractor_project AND p.state = 'nghiem_thu')
                     THEN 'expired'
                ELSE a.state END,
           a.lock_kind, coalesce(a.lock_reason, a.disable_reason), a.locked_at, a.locked_until,
           a.must_change_password, a.last_login_at, a.issued_at, a.issued_by,
           a.contractor_project, a.access_until, a.totp_secret IS NOT NULL
    FROM sys.account a ORDER BY a.role_name;
END
$fn$;

-- Who already holds an account for this citizen ID number (the create dialog warns while
-- the administrator types; admin.create_account refuses a duplicate anyway, 23505).
CREATE FUNCTION admin.find_person(p_person_id_number text)
RETURNS TABLE (role_name name, full_name text, unit text, state text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM sys.require_admin();
    IF p_person_id_number IS NULL OR p_person_id_number !~ '^[0-9]{12}$' THEN
        RAISE EXCEPTION 'Số định danh cá nhân phải gồm đúng 12 chữ số.' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT a.role_name, a.full_name, a.unit, a.state FROM sys.account a
    WHERE a.person_id_number = p_person_id_number
    ORDER BY a.state = 'disabled', a.issued_at DESC;
END
$fn$;

-- The contractor projects (for the create dialog's choice).
CREATE FUNCTION admin.list_projects()
RETURNS TABLE (code text, name text, contractor text, state text, accepted_at timestamptz,
               accounts bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM sys.require_admin();
    RETURN QUERY
    SELECT p.code, p.name, p.contractor, p.state, p.accepted_at,
           (SELECT count(*) FROM sys.account a WHERE a.contractor_project = p.code)
    FROM sys.contractor_project p ORDER BY p.code;
END
$fn$;

------------------------------------------------------------------------------------------
-- Rights preview: what an account with these rights and areas would see, counted here
------------------------------------------------------------------------------------------
-- Same rules as sys.my_units() (communes in force plus the old units they took over) and
-- api.parcels_in_bbox (current parcels), so the number shown is what the person will see.
-- Returns {"whole_province": bool, "rights": {...}, "parcels": n, "communes":
-- [{"id", "code", "name", "kind", "parcels"}]}.
CREATE FUNCTION admin.rights_preview(p_rights jsonb, p_communes bigint[],
                                     p_whole_province boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_bad bigint;
    v_communes jsonb;
    v_parcels bigint;
BEGIN
    PERFORM sys.require_admin();
    PERFORM sys.parse_rights(coalesce(p_rights, '{}'));  -- same validation as set_rights
    IF cardinality(p_communes) > 5000 THEN
        RAISE EXCEPTION 'Danh sách xã quá dài (tối đa 5000).' USING ERRCODE = '22023';
    END IF;
    SELECT c INTO v_bad FROM unnest(p_communes) AS c
    WHERE c IS NULL OR NOT EXISTS (SELECT 1 FROM ref.admin_unit u
                                   WHERE u.id = c AND u.level = 'commune' AND u.valid_to IS NULL)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Xã % không tồn tại hoặc không còn hiệu lực.', coalesce(v_bad::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF coalesce(p_whole_province, false) THEN
        SELECT count(*) INTO v_parcels FROM cad.parcel p WHERE p.retired_at IS NULL;
        v_communes := '[]';
    ELSE
        WITH chosen AS (
            SELECT DISTINCT c AS id FROM unnest(coalesce(p_communes, '{}')) AS c
        ), counted AS (
            SELECT ch.id,
                   (SELECT count(*) FROM cad.parcel p
                    WHERE p.retired_at IS NULL
                      AND p.commune_id IN (SELECT ch.id UNION ALL
                                           SELECT s.predecessor_id
                                           FROM ref.admin_unit_succession s
                                           WHERE s.successor_id = ch.id)) AS parcels
            FROM chosen ch
        )
        SELECT coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'code', u.code, 'name', u.name,
                                                     'kind', u.kind, 'parcels', c.parcels)
                                  ORDER BY u.code), '[]'),
               coalesce(sum(c.parcels), 0)
          INTO v_communes, v_parcels
        FROM counted c JOIN ref.admin_unit u ON u.id = c.id;
    END IF;
    RETURN jsonb_build_object(
        'whole_province', coalesce(p_whole_province, false),
        'rights', (SELECT coalesce(jsonb_object_agg(x.subsystem, x.kinds), '{}')
                   FROM (SELECT r.subsystem, jsonb_agg(DISTINCT r.kind) AS kinds
                         FROM sys.parse_rights(coalesce(p_rights, '{}')) r
                         GROUP BY r.subsystem) x),
        'parcels', v_parcels,
        'communes', v_communes);
END
$fn$;

------------------------------------------------------------------------------------------
-- Policies: defaults, bounds and the value in force
------------------------------------------------------------------------------------------
CREATE FUNCTION admin.policies()
RETURNS TABLE (key text, description text, default_value integer, min_value integer,
               max_value integer, value integer, overridden boolean, updated_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM sys.require_admin();
    RETURN QUERY
    SELECT p.key, p.description, p.default_value, p.min_value, p.max_value,
           sys.policy_int(p.key), s.key IS NOT NULL, s.updated_at
    FROM sys.policy p LEFT JOIN sys.setting s ON s.key = p.key
    ORDER BY p.key;
END
$fn$;

------------------------------------------------------------------------------------------
-- Audit: search, integrity check
------------------------------------------------------------------------------------------
-- Newest first, filtered; page with p_before_id. p_person matches the actor (who did it)
-- or the target (whom a security event was about). Time bounds are [since, until).
CREATE FUNCTION admin.audit_entries(
    p_since timestamptz DEFAULT NULL, p_until timestamptz DEFAULT NULL,
    p_person text DEFAULT NULL, p_table text DEFAULT NULL, p_change_set bigint DEFAULT NULL,
    p_action text DEFAULT NULL, p_before_id bigint DEFAULT NULL, p_limit integer DEFAULT 500)
RETURNS TABLE (id bigint, logged_at timestamptz, actor name, client_addr inet,
               application text, change_set bigint, action text, table_name text,
               row_key jsonb, old_row jsonb, new_row jsonb, target text, detail jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM sys.require_admin();
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'Số dòng mỗi trang phải từ 1 đến 10000.' USING ERRCODE = '22023';
    END IF;
    IF p_since IS NOT NULL AND p_until IS NOT NULL AND p_since >= p_until THEN
        RAISE EXCEPTION 'Thời điểm bắt đầu phải trước thời điểm kết thúc.' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT l.id, l.logged_at, l.actor, l.client_addr, l.application, l.change_set, l.action,
           l.table_name, l.row_key, l.old_row, l.new_row, l.target, l.detail
    FROM audit.log l
    WHERE (p_since IS NULL OR l.logged_at >= p_since)
      AND (p_until IS NULL OR l.logged_at < p_until)
      AND (p_person IS NULL OR l.actor = p_person OR l.target = p_person)
      AND (p_table IS NULL OR l.table_name = p_table)
      AND (p_change_set IS NULL OR l.change_set = p_change_set)
      AND (p_action IS NULL OR l.action = p_action)
      AND (p_before_id IS NULL OR l.id < p_before_id)
    ORDER BY l.id DESC
    LIMIT p_limit;
END
$fn$;

-- What the viewer's filter lists offer: the actions, tables and people found in the log.
CREATE FUNCTION admin.audit_facets()
RETURNS TABLE (facet text, value text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM sys.require_admin();
    RETURN QUERY
    SELECT 'action', e.action FROM audit.event_action e
    UNION SELECT 'action', op FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) op
    UNION SELECT 'table', t FROM (SELECT DISTINCT l.table_name AS t FROM audit.log l
                                  WHERE l.table_name IS NOT NULL) x
    UNION SELECT 'person', a.role_name::text FROM sys.account a
    ORDER BY 1, 2;
END
$fn$;

-- audit.verify() for the administrator, recorded as an AUDIT_VERIFY event (who checked,
-- what it found). The event is written after the walk, so it is checked next time.
CREATE FUNCTION admin.audit_verify(p_from timestamptz DEFAULT NULL)
RETURNS TABLE (ok boolean, entry_id bigint, reason text, checked bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    r record;
BEGIN
    PERFORM sys.require_admin();
    SELECT * INTO r FROM audit.verify(p_from);
    PERFORM sys.audit_security('AUDIT_VERIFY', 'audit.log', jsonb_build_object(
        'from', p_from, 'ok', r.ok, 'entry_id', r.entry_id, 'reason', r.reason,
        'checked', r.checked));
    ok := r.ok; entry_id := r.entry_id; reason := r.reason; checked := r.checked;
    RETURN NEXT;
END
$fn$;

------------------------------------------------------------------------------------------
-- Reports (the regulations ask for periodic reports on accounts and access)
------------------------------------------------------------------------------------------
-- Checks shared by the reports: a period [p_from, p_to] in Vietnam dates, at most 10 years.
CREATE FUNCTION sys.report_period(p_from date, p_to date, OUT since timestamptz,
                                  OUT until timestamptz)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_from IS NULL OR p_to IS NULL THEN
        RAISE EXCEPTION 'Hãy chọn ngày bắt đầu và ngày kết thúc của kỳ báo cáo.'
            USING ERRCODE = '22023';
    END IF;
    IF p_from > p_to THEN
        RAISE EXCEPTION 'Ngày bắt đầu (%) sau ngày kết thúc (%).',
            to_char(p_from, 'DD/MM/YYYY'), to_char(p_to, 'DD/MM/YYYY') USING ERRCODE = '22023';
    END IF;
    IF p_to - p_from > 3660 THEN
        RAISE EXCEPTION 'Kỳ báo cáo dài quá 10 năm.' USING ERRCODE = '22023';
    END IF;
    since := make_timestamptz(extract(year FROM p_from)::int, extract(month FROM p_from)::int,
                              extract(day FROM p_from)::int, 0, 0, 0, 'Asia/Ho_Chi_Minh');
    until := make_timestamptz(extract(year FROM p_to)::int, extract(month FROM p_to)::int,
                              extract(day FROM p_to)::int, 0, 0, 0, 'Asia/Ho_Chi_Minh')
             + interval '1 day';
END
$fn$;

-- Accounts by unit: issued, locked, disabled in the period (from the audit log: the events
-- the account functions wrote) and the state today.
CREATE FUNCTION admin.report_accounts(p_from date, p_to date)
RETURNS TABLE (unit text, issued bigint, locked bigint, unlocked bigint, disabled bigint,
               active_now bigint, locked_now bigint, disabled_now bigint, total_now bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    p record;
BEGIN
    PERFORM sys.require_admin();
    p := sys.report_period(p_from, p_to);
    RETURN QUERY
    WITH ev AS (
        SELECT l.action, l.target FROM audit.log l
        WHERE l.logged_at >= p.since AND l.logged_at < p.until
          AND l.action IN ('ACCOUNT_CREATE', 'LOCK', 'UNLOCK', 'ACCOUNT_DISABLE')
    )
    SELECT a.unit,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ev WHERE ev.target = a.role_name
                                          AND ev.action = 'ACCOUNT_CREATE')),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ev WHERE ev.target = a.role_name
                                          AND ev.action = 'LOCK')),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ev WHERE ev.target = a.role_name
                                          AND ev.action = 'UNLOCK')),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ev WHERE ev.target = a.role_name
                                          AND ev.action = 'ACCOUNT_DISABLE')),
           count(*) FILTER (WHERE a.state = 'active'),
           count(*) FILTER (WHERE a.state = 'locked'),
           count(*) FILTER (WHERE a.state = 'disabled'),
           count(*)
    FROM sys.account a
    GROUP BY a.unit ORDER BY a.unit;
END
$fn$;

-- Changes per person per month (Vietnam calendar): row changes of the data tables and
-- security events they caused.
CREATE FUNCTION admin.report_activity(p_from date, p_to date)
RETURNS TABLE (month text, actor name, full_name text, unit text, changes bigint,
               inserts bigint, updates bigint, deletes bigint, events bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    p record;
BEGIN
    PERFORM sys.require_admin();
    p := sys.report_period(p_from, p_to);
    RETURN QUERY
    SELECT to_char(l.logged_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM'), l.actor,
           max(a.full_name), max(a.unit),
           count(*) FILTER (WHERE l.table_name IS NOT NULL),
           count(*) FILTER (WHERE l.action = 'INSERT'),
           count(*) FILTER (WHERE l.action = 'UPDATE'),
           count(*) FILTER (WHERE l.action = 'DELETE'),
           count(*) FILTER (WHERE l.table_name IS NULL)
    FROM audit.log l LEFT JOIN sys.account a ON a.role_name = l.actor
    WHERE l.logged_at >= p.since AND l.logged_at < p.until
    GROUP BY 1, 2 ORDER BY 1, 2;
END
$fn$;

-- Sign-ins and failed sign-ins (written by the agent from the server log, P5), one row per
-- event, newest first; p_role narrows to one person, p_failed_only to the failures.
CREATE FUNCTION admin.report_logins(p_from date, p_to date, p_role text DEFAULT NULL,
                                    p_failed_only boolean DEFAULT false,
                                    p_limit integer DEFAULT 5000)
RETURNS TABLE (logged_at timestamptz, role_name text, full_name text, unit text,
               outcome text, failure_kind text, client text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    p record;
BEGIN
    PERFORM sys.require_admin();
    p := sys.report_period(p_from, p_to);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION 'Số dòng phải từ 1 đến 100000.' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT coalesce((l.detail ->> 'at')::timestamptz, l.logged_at), l.target, a.full_name,
           a.unit, l.action, l.detail ->> 'kind', l.detail ->> 'client'
    FROM audit.log l LEFT JOIN sys.account a ON a.role_name = l.target
    WHERE l.logged_at >= p.since AND l.logged_at < p.until
      AND l.action IN ('LOGIN', 'LOGIN_FAILED')
      AND (NOT coalesce(p_failed_only, false) OR l.action = 'LOGIN_FAILED')
      AND (p_role IS NULL OR l.target = p_role)
    ORDER BY l.id DESC
    LIMIT p_limit;
END
$fn$;

-- Per person over the period: sign-ins, failures, last of each, locks for failed logins.
CREATE FUNCTION admin.report_login_summary(p_from date, p_to date)
RETURNS TABLE (role_name text, full_name text, unit text, logins bigint, failures bigint,
               last_login timestamptz, last_failure timestamptz, lockouts bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    p record;
BEGIN
    PERFORM sys.require_admin();
    p := sys.report_period(p_from, p_to);
    RETURN QUERY
    SELECT l.target, max(a.full_name), max(a.unit),
           count(*) FILTER (WHERE l.action = 'LOGIN'),
           count(*) FILTER (WHERE l.action = 'LOGIN_FAILED'),
           max(coalesce((l.detail ->> 'at')::timestamptz, l.logged_at))
               FILTER (WHERE l.action = 'LOGIN'),
           max(coalesce((l.detail ->> 'at')::timestamptz, l.logged_at))
               FILTER (WHERE l.action = 'LOGIN_FAILED'),
           count(*) FILTER (WHERE l.action = 'LOCK' AND l.detail ->> 'kind' = 'failed_logins')
    FROM audit.log l LEFT JOIN sys.account a ON a.role_name = l.target
    WHERE l.logged_at >= p.since AND l.logged_at < p.until
      AND l.action IN ('LOGIN', 'LOGIN_FAILED', 'LOCK') AND l.target IS NOT NULL
    GROUP BY l.target
    HAVING count(*) FILTER (WHERE l.action IN ('LOGIN', 'LOGIN_FAILED')) > 0
    ORDER BY 5 DESC, 1;
END
$fn$;

------------------------------------------------------------------------------------------
-- Grants: administrators only (the functions check the second factor themselves)
------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION
    admin.account_overview(), admin.find_person(text), admin.list_projects(),
    admin.rights_preview(jsonb, bigint[], boolean), admin.policies(),
    admin.audit_entries(timestamptz, timestamptz, text, text, bigint, text, bigint, integer),
    admin.audit_facets(), admin.audit_verify(timestamptz),
    sys.report_period(date, date),
    admin.report_accounts(date, date), admin.report_activity(date, date),
    admin.report_logins(date, date, text, boolean, integer),
    admin.report_login_summary(date, date)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    admin.account_overview(), admin.find_person(text), admin.list_projects(),
    admin.rights_preview(jsonb, bigint[], boolean), admin.policies(),
    admin.audit_entries(timestamptz, timestamptz, text, text, bigint, text, bigint, integer),
    admin.audit_facets(), admin.audit_verify(timestamptz),
    admin.report_accounts(date, date), admin.report_activity(date, date),
    admin.report_logins(date, date, text, boolean, integer),
    admin.report_login_summary(date, date)
TO lr_admin_administrator;
