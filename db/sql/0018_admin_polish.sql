-- Administration module, second pass (issue 7): edit a person's details, Vietnamese state
-- words in the account messages, a paged account list with its filters in SQL, audit
-- search that stays fast on a large log, accounts report by normalised unit, and the
-- lockout agent's heartbeat.
--
-- Same conventions as 0007/0013: SECURITY DEFINER, pinned search_path, sys.require_admin()
-- first in every admin.* function, revoked from PUBLIC, granted to lr_admin_administrator
-- (the heartbeat to lr_agent).

------------------------------------------------------------------------------------------
-- Words people read
------------------------------------------------------------------------------------------
-- An account state as a Vietnamese phrase: messages read in the app and in psql alike.
CREATE FUNCTION sys.state_vi(p_state text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
RETURN CASE p_state
    WHEN 'active' THEN 'đang hoạt động'
    WHEN 'locked' THEN 'đang bị khóa'
    WHEN 'disabled' THEN 'đã vô hiệu hóa'
    WHEN 'expired' THEN 'đã hết hạn'
    ELSE coalesce(p_state, 'không rõ') END;

-- The key units are grouped by: spaces collapsed, case and diacritics ignored
-- ("Sở Nông nghiệp và Môi trường " = "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG" = "So nong nghiep…").
CREATE FUNCTION sys.unit_key(p_unit text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
RETURN regexp_replace(btrim(ref.fold_vi(p_unit)), '\s+', ' ', 'g');

-- The unit as typed, tidied (outer spaces dropped, inner runs collapsed).
CREATE FUNCTION sys.unit_tidy(p_unit text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
RETURN regexp_replace(btrim(p_unit), '\s+', ' ', 'g');

------------------------------------------------------------------------------------------
-- 0007's messages with English state words, re-worded (bodies otherwise unchanged)
------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION sys.create_account_internal(
    p_role_name text, p_person_id_number text, p_full_name text, p_unit text,
    p_position text, p_phone text, p_email text, p_rights jsonb, p_communes bigint[],
    p_whole_province boolean, p_contractor_project text, p_access_until date)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_role name := sys.check_role_name(p_role_name);
    v_full_name text := sys.check_text(p_full_name, 'Họ tên', 200, true);
    v_unit text := sys.check_text(p_unit, 'Đơn vị công tác', 200, true);
    v_position text := sys.check_text(p_position, 'Chức vụ', 200, false);
    v_phone text := sys.check_text(p_phone, 'Số điện thoại', 20, false);
    v_email text := sys.check_text(p_email, 'Thư điện tử', 254, false);
    v_existing sys.account;
    v_project sys.contractor_project;
    v_password text;
BEGIN
    IF p_person_id_number IS NULL OR p_person_id_number !~ '^[0-9]{12}$' THEN
        RAISE EXCEPTION 'Số định danh cá nhân phải gồm đúng 12 chữ số.'
            USING ERRCODE = '22023', HINT = 'The 12-digit citizen ID (CCCD) number.';
    END IF;
    IF v_phone !~ '^\+?[0-9 .()-]{6,20}$' THEN
        RAISE EXCEPTION 'Số điện thoại không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    IF v_email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' THEN
        RAISE EXCEPTION 'Địa chỉ thư điện tử không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    IF p_rights IS NULL THEN
        RAISE EXCEPTION 'Quyền không được để trống (dùng {} cho tài khoản chưa có quyền).'
            USING ERRCODE = '22023';
    END IF;
    PERFORM sys.parse_rights(p_rights);  -- validate before anything is created
    IF p_access_until IS NOT NULL
       AND p_access_until < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date THEN
        RAISE EXCEPTION 'Ngày hết hạn truy cập % đã qua.', to_char(p_access_until, 'DD/MM/YYYY')
            USING ERRCODE = '22023';
    END IF;
    IF p_contractor_project IS NOT NULL THEN
        SELECT * INTO v_project FROM sys.contractor_project WHERE code = p_contractor_project;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Không có dự án "%".', left(p_contractor_project, 60)
                USING ERRCODE = '22023', HINT = 'Create it with admin.create_project first.';
        END IF;
        IF v_project.state = 'nghiem_thu' THEN
            RAISE EXCEPTION 'Dự án % đã nghiệm thu: không cấp thêm tài khoản nhà thầu.',
                            v_project.code USING ERRCODE = '22023';
        END IF;
    END IF;
    -- One person, one account (Sơn La Đ.12, Cà Mau Đ.8).
    SELECT * INTO v_existing FROM sys.account a
    WHERE a.person_id_number = p_person_id_number AND a.state <> 'disabled';
    IF FOUND THEN
        RAISE EXCEPTION 'Người có số định danh % đã có tài khoản "%" (%); mỗi người chỉ được '
                        'có một tài khoản.',
                        p_person_id_number, v_existing.role_name, sys.state_vi(v_existing.state)
            USING ERRCODE = '23505',
                  HINT = 'Change the rights of the existing account, or disable it first.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
        RAISE EXCEPTION 'Tên đăng nhập "%" đã được dùng.', v_role
            USING ERRCODE = '23505', HINT = 'Role names are shared by the whole server.';
    END IF;

    EXECUTE format('CREATE ROLE %I LOGIN IN ROLE lr_person', v_role);
    INSERT INTO sys.account (role_name, person_id_number, full_name, unit, position, phone,
                             email, whole_province, contractor_project, access_until,
                             must_change_password, password_issued_at)
    VALUES (v_role, p_person_id_number, v_full_name, v_unit, v_position, v_phone, v_email,
            coalesce(p_whole_province, false), p_contractor_project, p_access_until,
            true, now());
    PERFORM sys.replace_rights_internal(v_role, p_rights);
    PERFORM sys.replace_areas_internal(v_role, p_communes, p_whole_province);
    v_password := sys.new_temp_password(v_role);
    PERFORM sys.set_password_internal(v_role, v_password, true);
    PERFORM sys.audit_security('ACCOUNT_CREATE', v_role, jsonb_build_object(
        'person_id_number', p_person_id_number, 'full_name', v_full_name, 'unit', v_unit,
        'rights', sys.rights_json(v_role), 'communes', p_communes,
        'whole_province', p_whole_province, 'contractor_project', p_contractor_project,
        'access_until', p_access_until));
    RETURN v_password;
EXCEPTION WHEN unique_violation THEN
    -- A concurrent administrator created the same person or name a moment ago.
    IF SQLERRM LIKE '%account_one_active_per_person%' THEN
        RAISE EXCEPTION 'Người có số định danh % đã có tài khoản; mỗi người chỉ được có một '
                        'tài khoản.', p_person_id_number USING ERRCODE = '23505';
    END IF;
    RAISE;
END
$fn$;

CREATE OR REPLACE FUNCTION admin.lock_account(p_role text, p_reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_reason text := sys.check_text(p_reason, 'Lý do khóa', 500, true);
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    IF v.role_name = session_user THEN
        RAISE EXCEPTION 'Không thể tự khóa tài khoản của chính mình.' USING ERRCODE = '22023';
    END IF;
    IF v.state <> 'active' THEN
        RAISE EXCEPTION 'Không khóa được tài khoản "%": tài khoản %, không phải đang hoạt động.',
                        v.role_name, sys.state_vi(v.state)
            USING ERRCODE = '22023';
    END IF;
    IF sys.is_last_admin(v.role_name) THEN
        RAISE EXCEPTION 'Không thể khóa quản trị viên cuối cùng.' USING ERRCODE = '22023';
    END IF;
    PERFORM sys.lock_internal(v.role_name, 'administrator',
        format('Quản trị viên %s khóa: %s', session_user, v_reason));
END
$fn$;

CREATE OR REPLACE FUNCTION admin.unlock_account(p_role text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_project sys.contractor_project;
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    IF v.state <> 'locked' THEN
        RAISE EXCEPTION 'Tài khoản "%" không bị khóa (tài khoản %).', v.role_name,
                        sys.state_vi(v.state)
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_project FROM sys.contractor_project WHERE code = v.contractor_project;
    IF v_project.state = 'nghiem_thu' THEN
        RAISE EXCEPTION 'Dự án % đã nghiệm thu: tài khoản nhà thầu không được mở lại.',
                        v_project.code USING ERRCODE = '22023';
    END IF;
    IF v.access_until < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date THEN
        RAISE EXCEPTION 'Thời hạn truy cập của tài khoản đã hết ngày %; hãy gia hạn (Sửa thông '
                        'tin) trước khi mở khóa.', to_char(v.access_until, 'DD/MM/YYYY')
            USING ERRCODE = '22023', HINT = 'Extend access_until before unlocking.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sys.account_secret s JOIN pg_catalog.pg_authid a
                       ON a.rolname = s.role_name AND a.rolpassword = s.password_verifier
                   WHERE s.role_name = v.role_name)
       AND EXISTS (SELECT 1 FROM sys.account_secret s WHERE s.role_name = v.role_name) THEN
        RAISE EXCEPTION 'Mật khẩu của tài khoản "%" đã bị đổi ngoài hệ thống; hãy đặt lại mật '
                        'khẩu trước khi mở khóa.', v.role_name
            USING ERRCODE = '22023', HINT = 'Call admin.reset_password(role) first.';
    END IF;
    PERFORM sys.unlock_internal(v.role_name, format('administrator %s', session_user));
END
$fn$;

------------------------------------------------------------------------------------------
-- Edit a person's details (identity corrections, a move to another unit, a contractor's
-- project or end of access). Rights and areas stay with admin.set_rights / set_areas.
------------------------------------------------------------------------------------------
-- Takes the whole profile as it should be; returns {field: {"old": …, "new": …}} for what
-- changed (empty when nothing did) and audits it as ACCOUNT_UPDATE (the row trigger on
-- sys.account records the UPDATE too).
CREATE FUNCTION admin.update_account(
    p_role text, p_person_id_number text, p_full_name text, p_unit text, p_position text,
    p_phone text, p_email text, p_contractor_project text, p_access_until date)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_full_name text := sys.check_text(p_full_name, 'Họ tên', 200, true);
    v_unit text := sys.check_text(p_unit, 'Đơn vị công tác', 200, true);
    v_position text := sys.check_text(p_position, 'Chức vụ', 200, false);
    v_phone text := sys.check_text(p_phone, 'Số điện thoại', 20, false);
    v_email text := sys.check_text(p_email, 'Thư điện tử', 254, false);
    v_project_code text := sys.check_text(p_contractor_project, 'Dự án', 60, false);
    v_project sys.contractor_project;
    v_existing sys.account;
    v_old jsonb;
    v_new jsonb;
    v_changes jsonb;
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);  -- locks the row: two administrators take turns
    IF v.state = 'disabled' THEN
        RAISE EXCEPTION 'Tài khoản "%" đã bị vô hiệu hóa: không sửa được thông tin.',
                        v.role_name USING ERRCODE = '22023';
    END IF;
    IF p_person_id_number IS NULL OR p_person_id_number !~ '^[0-9]{12}$' THEN
        RAISE EXCEPTION 'Số định danh cá nhân phải gồm đúng 12 chữ số.' USING ERRCODE = '22023';
    END IF;
    IF v_phone !~ '^\+?[0-9 .()-]{6,20}$' THEN
        RAISE EXCEPTION 'Số điện thoại không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    IF v_email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' THEN
        RAISE EXCEPTION 'Địa chỉ thư điện tử không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    IF v_project_code IS NOT NULL AND v_project_code IS DISTINCT FROM v.contractor_project THEN
        SELECT * INTO v_project FROM sys.contractor_project WHERE code = v_project_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Không có dự án "%".', left(v_project_code, 60)
                USING ERRCODE = '22023';
        END IF;
        IF v_project.state = 'nghiem_thu' THEN
            RAISE EXCEPTION 'Dự án % đã nghiệm thu: không chuyển thêm tài khoản vào dự án này.',
                            v_project.code USING ERRCODE = '22023';
        END IF;
    END IF;
    IF v_project_code IS NOT NULL AND p_access_until IS NULL THEN
        RAISE EXCEPTION 'Tài khoản nhà thầu cần ngày hết hạn truy cập.' USING ERRCODE = '22023';
    END IF;
    IF p_access_until IS DISTINCT FROM v.access_until AND p_access_until IS NOT NULL
       AND p_access_until < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date THEN
        RAISE EXCEPTION 'Ngày hết hạn truy cập % đã qua.', to_char(p_access_until, 'DD/MM/YYYY')
            USING ERRCODE = '22023';
    END IF;
    -- One person, one account among those not disabled.
    IF p_person_id_number <> v.person_id_number THEN
        SELECT * INTO v_existing FROM sys.account a
        WHERE a.person_id_number = p_person_id_number AND a.state <> 'disabled'
          AND a.role_name <> v.role_name;
        IF FOUND THEN
            RAISE EXCEPTION 'Người có số định danh % đã có tài khoản "%" (%); mỗi người chỉ '
                            'được có một tài khoản.', p_person_id_number, v_existing.role_name,
                            sys.state_vi(v_existing.state)
                USING ERRCODE = '23505';
        END IF;
    END IF;

    v_old := jsonb_build_object(
        'person_id_number', v.person_id_number, 'full_name', v.full_name, 'unit', v.unit,
        'position', v.position, 'phone', v.phone, 'email', v.email,
        'contractor_project', v.contractor_project, 'access_until', v.access_until);
    v_new := jsonb_build_object(
        'person_id_number', p_person_id_number, 'full_name', v_full_name, 'unit', v_unit,
        'position', v_position, 'phone', v_phone, 'email', v_email,
        'contractor_project', v_project_code, 'access_until', p_access_until);
    SELECT coalesce(jsonb_object_agg(o.key, jsonb_build_object('old', o.value, 'new', n.value)),
                    '{}')
      INTO v_changes
    FROM jsonb_each(v_old) o JOIN jsonb_each(v_new) n ON n.key = o.key
    WHERE o.value IS DISTINCT FROM n.value;
    IF v_changes = '{}' THEN
        RETURN v_changes;
    END IF;
    BEGIN
        UPDATE sys.account SET person_id_number = p_person_id_number, full_name = v_full_name,
               unit = v_unit, position = v_position, phone = v_phone, email = v_email,
               contractor_project = v_project_code, access_until = p_access_until
        WHERE role_name = v.role_name;
    EXCEPTION WHEN unique_violation THEN  -- a concurrent create of the same person
        RAISE EXCEPTION 'Người có số định danh % đã có tài khoản; mỗi người chỉ được có một '
                        'tài khoản.', p_person_id_number USING ERRCODE = '23505';
    END;
    PERFORM sys.audit_security('ACCOUNT_UPDATE', v.role_name,
                               jsonb_build_object('changes', v_changes));
    RETURN v_changes;
END
$fn$;

------------------------------------------------------------------------------------------
-- The account list, one page at a time, filtered in SQL
------------------------------------------------------------------------------------------
-- p_unit is a unit key (sys.unit_key), p_kind an account kind, p_state an effective state
-- (active / locked / disabled / expired), p_login '7d' | '30d' | 'never', p_text matched
-- without diacritics against user name, full name, ID number and unit. total = the
-- number of accounts matching, for "1–200 / 5 000".
CREATE FUNCTION admin.account_page(
    p_unit text DEFAULT NULL, p_commune bigint DEFAULT NULL, p_kind text DEFAULT NULL,
    p_state text DEFAULT NULL, p_login text DEFAULT NULL, p_text text DEFAULT NULL,
    p_limit integer DEFAULT 200, p_offset integer DEFAULT 0)
RETURNS TABLE (role_name name, full_name text, person_id_number text, unit text,
               "position" text, phone text, email text, kinds jsonb, account_kind text,
               whole_province boolean, communes bigint[], commune_names text[], state text,
               effective_state text, lock_kind text, lock_reason text, locked_at timestamptz,
               locked_until timestamptz, must_change_password boolean,
               last_login_at timestamptz, issued_at timestamptz, issued_by name,
               contractor_project text, access_until date, has_totp boolean, total bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    v_today date := (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    v_text text := nullif(btrim(ref.fold_vi(p_text)), '');
BEGIN
    PERFORM sys.require_admin();
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 5000 THEN
        RAISE EXCEPTION 'Số dòng mỗi trang phải từ 1 đến 5000.' USING ERRCODE = '22023';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION 'Vị trí trang không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    IF p_login IS NOT NULL AND p_login NOT IN ('7d', '30d', 'never') THEN
        RAISE EXCEPTION 'Điều kiện đăng nhập không hợp lệ: %.', left(p_login, 20)
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH kinds AS (
        SELECT r.role_name,
               CASE WHEN bool_or(r.kind = 'administrator') THEN 'administration'
                    WHEN bool_or(r.kind IN ('editor', 'approver')) THEN 'update'
                    ELSE 'read' END AS account_kind
        FROM sys.account_right r GROUP BY r.role_name
    ), matched AS (
        SELECT a.*, coalesce(k.account_kind, 'none') AS account_kind,
               CASE WHEN a.state = 'disabled' THEN 'disabled'
                    WHEN a.access_until < v_today
                      OR a.lock_kind IN ('access_expired', 'contractor_accepted')
                      OR EXISTS (SELECT 1 FROM sys.contractor_project p
                                 WHERE p.code = a.contractor_project AND p.state = 'nghiem_thu')
                         THEN 'expired'
                    ELSE a.state END AS effective_state
        FROM sys.account a LEFT JOIN kinds k ON k.role_name = a.role_name
        WHERE (p_unit IS NULL OR sys.unit_key(a.unit) = p_unit)
          AND (p_commune IS NULL OR a.whole_province
               OR EXISTS (SELECT 1 FROM sys.account_area ar
                          WHERE ar.role_name = a.role_name AND ar.commune_id = p_commune))
          AND (p_login IS NULL
               OR (p_login = '7d' AND a.last_login_at >= now() - interval '7 days')
               OR (p_login = '30d' AND (a.last_login_at IS NULL
                                        OR a.last_login_at < now() - interval '30 days'))
               OR (p_login = 'never' AND a.last_login_at IS NULL))
          AND (v_text IS NULL
               OR strpos(ref.fold_vi(a.role_name || ' ' || a.full_name || ' '
                                     || a.person_id_number || ' ' || a.unit), v_text) > 0)
    ), page AS (
        SELECT m.*, count(*) OVER () AS total FROM matched m
        WHERE (p_kind IS NULL OR m.account_kind = p_kind)
          AND (p_state IS NULL OR m.effective_state = p_state)
        ORDER BY m.role_name
        LIMIT p_limit OFFSET p_offset
    )
    SELECT a.role_name, a.full_name, a.person_id_number, a.unit, a.position, a.phone, a.email,
           sys.rights_json(a.role_name), a.account_kind, a.whole_province,
           ARRAY(SELECT ar.commune_id FROM sys.account_area ar
                 WHERE ar.role_name = a.role_name ORDER BY 1),
           ARRAY(SELECT u.name FROM sys.account_area ar JOIN ref.admin_unit u ON u.id = ar.commune_id
                 WHERE ar.role_name = a.role_name ORDER BY u.code),
           a.state, a.effective_state, a.lock_kind, coalesce(a.lock_reason, a.disable_reason),
           a.locked_at, a.locked_until, a.must_change_password, a.last_login_at, a.issued_at,
           a.issued_by, a.contractor_project, a.access_until, a.totp_secret IS NOT NULL,
           a.total
    FROM page a ORDER BY a.role_name;
END
$fn$;

-- What the list's filters offer: units by key with their most common spelling, and the
-- communes some account holds. facet 'unit' | 'commune'; key; label; accounts.
CREATE FUNCTION admin.account_facets()
RETURNS TABLE (facet text, key text, label text, accounts bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM sys.require_admin();
    RETURN QUERY
    SELECT 'unit', sys.unit_key(a.unit),
           mode() WITHIN GROUP (ORDER BY sys.unit_tidy(a.unit)), count(*)
    FROM sys.account a GROUP BY 2
    UNION ALL
    SELECT 'commune', u.id::text, u.name, count(*)
    FROM sys.account_area ar JOIN ref.admin_unit u ON u.id = ar.commune_id
    GROUP BY u.id, u.name
    ORDER BY 1, 3;
END
$fn$;

------------------------------------------------------------------------------------------
-- Audit search: indexes for each filter, and a plan made for the filters actually given
------------------------------------------------------------------------------------------
-- Newest first within one filter: each is a short backward index scan, whatever the size
-- of the log (the generic plan of "p IS NULL OR col = p" could use none of them).
CREATE INDEX IF NOT EXISTS log_actor_id_idx ON audit.log (actor, id);
CREATE INDEX IF NOT EXISTS log_target_id_idx ON audit.log (target, id) WHERE target IS NOT NULL;
CREATE INDEX IF NOT EXISTS log_table_id_idx ON audit.log (table_name, id)
    WHERE table_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS log_action_id_idx ON audit.log (action, id);
CREATE INDEX IF NOT EXISTS log_change_set_id_idx ON audit.log (change_set, id)
    WHERE change_set IS NOT NULL;
CREATE INDEX IF NOT EXISTS log_logged_at_idx ON audit.log (logged_at);

CREATE OR REPLACE FUNCTION admin.audit_entries(
    p_since timestamptz DEFAULT NULL, p_until timestamptz DEFAULT NULL,
    p_person text DEFAULT NULL, p_table text DEFAULT NULL, p_change_set bigint DEFAULT NULL,
    p_action text DEFAULT NULL, p_before_id bigint DEFAULT NULL, p_limit integer DEFAULT 500)
RETURNS TABLE (id bigint, logged_at timestamptz, actor name, client_addr inet,
               application text, change_set bigint, action text, table_name text,
               row_key jsonb, old_row jsonb, new_row jsonb, target text, detail jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_where text := 'true';
    v_cols text := 'l.id, l.logged_at, l.actor, l.client_addr, l.application, l.change_set, '
                   'l.action, l.table_name, l.row_key, l.old_row, l.new_row, l.target, l.detail';
BEGIN
    PERFORM sys.require_admin();
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'Số dòng mỗi trang phải từ 1 đến 10000.' USING ERRCODE = '22023';
    END IF;
    IF p_since IS NOT NULL AND p_until IS NOT NULL AND p_since >= p_until THEN
        RAISE EXCEPTION 'Thời điểm bắt đầu phải trước thời điểm kết thúc.' USING ERRCODE = '22023';
    END IF;
    -- Only the filters given, as parameters ($1…$8): no text of the caller enters the SQL.
    IF p_since IS NOT NULL THEN v_where := v_where || ' AND l.logged_at >= $1'; END IF;
    IF p_until IS NOT NULL THEN v_where := v_where || ' AND l.logged_at < $2'; END IF;
    IF p_table IS NOT NULL THEN v_where := v_where || ' AND l.table_name = $4'; END IF;
    IF p_change_set IS NOT NULL THEN v_where := v_where || ' AND l.change_set = $5'; END IF;
    IF p_action IS NOT NULL THEN v_where := v_where || ' AND l.action = $6'; END IF;
    IF p_before_id IS NOT NULL THEN v_where := v_where || ' AND l.id < $7'; END IF;
    IF p_person IS NULL THEN
        RETURN QUERY EXECUTE format(
            'SELECT %s FROM audit.log l WHERE %s ORDER BY l.id DESC LIMIT $8', v_cols, v_where)
        USING p_since, p_until, p_person, p_table, p_change_set, p_action, p_before_id, p_limit;
    ELSE
        -- Actor or target: the newest of each through its own index, then merged.
        RETURN QUERY EXECUTE format(
            'SELECT * FROM ('
            '  (SELECT %1$s FROM audit.log l WHERE %2$s AND l.actor = $3::name '
            '   ORDER BY l.id DESC LIMIT $8)'
            '  UNION'
            '  (SELECT %1$s FROM audit.log l WHERE %2$s AND l.target = $3 '
            '   AND l.target IS NOT NULL ORDER BY l.id DESC LIMIT $8)'
            ') x ORDER BY x.id DESC LIMIT $8', v_cols, v_where)
        USING p_since, p_until, p_person, p_table, p_change_set, p_action, p_before_id, p_limit;
    END IF;
END
$fn$;

------------------------------------------------------------------------------------------
-- Accounts report grouped by normalised unit (the unit is free text)
------------------------------------------------------------------------------------------
-- unit = the most common spelling in the group; spellings = how many different ways it is
-- written (more than 1: worth tidying).
DROP FUNCTION admin.report_accounts(date, date);
CREATE FUNCTION admin.report_accounts(p_from date, p_to date)
RETURNS TABLE (unit text, issued bigint, locked bigint, unlocked bigint, disabled bigint,
               active_now bigint, locked_now bigint, disabled_now bigint, total_now bigint,
               spellings bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    p record;
BEGIN
    PERFORM sys.require_admin();
    p := sys.report_period(p_from, p_to);
    RETURN QUERY
    WITH ev AS (
        SELECT l.target,
               bool_or(l.action = 'ACCOUNT_CREATE') AS issued,
               bool_or(l.action = 'LOCK') AS locked,
               bool_or(l.action = 'UNLOCK') AS unlocked,
               bool_or(l.action = 'ACCOUNT_DISABLE') AS disabled
        FROM audit.log l
        WHERE l.logged_at >= p.since AND l.logged_at < p.until
          AND l.action IN ('ACCOUNT_CREATE', 'LOCK', 'UNLOCK', 'ACCOUNT_DISABLE')
          AND l.target IS NOT NULL
        GROUP BY l.target
    )
    SELECT mode() WITHIN GROUP (ORDER BY sys.unit_tidy(a.unit)),
           count(*) FILTER (WHERE ev.issued),
           count(*) FILTER (WHERE ev.locked),
           count(*) FILTER (WHERE ev.unlocked),
           count(*) FILTER (WHERE ev.disabled),
           count(*) FILTER (WHERE a.state = 'active'),
           count(*) FILTER (WHERE a.state = 'locked'),
           count(*) FILTER (WHERE a.state = 'disabled'),
           count(*),
           count(DISTINCT a.unit)
    FROM sys.account a LEFT JOIN ev ON ev.target = a.role_name
    GROUP BY sys.unit_key(a.unit) ORDER BY 1;
END
$fn$;

------------------------------------------------------------------------------------------
-- The lockout agent's heartbeat: login reports are only complete while it runs
------------------------------------------------------------------------------------------
-- Not audited on purpose (a row updated every minute would flood the log).
CREATE TABLE sys.agent_heartbeat (
    agent       text PRIMARY KEY CHECK (length(agent) BETWEEN 1 AND 200),  -- host:log dir
    started_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION admin.agent_heartbeat(p_agent text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_agent IS NULL OR length(p_agent) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'Tên tác tử không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    INSERT INTO sys.agent_heartbeat (agent) VALUES (p_agent)
    ON CONFLICT (agent) DO UPDATE SET seen_at = now();
END
$fn$;

-- For the reports' header: when each agent last reported.
CREATE FUNCTION admin.agent_status()
RETURNS TABLE (agent text, started_at timestamptz, seen_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM sys.require_admin();
    RETURN QUERY SELECT h.agent, h.started_at, h.seen_at FROM sys.agent_heartbeat h
                 ORDER BY h.seen_at DESC;
END
$fn$;

------------------------------------------------------------------------------------------
-- Grants
------------------------------------------------------------------------------------------
REVOKE ALL ON TABLE sys.agent_heartbeat FROM PUBLIC;
REVOKE ALL ON FUNCTION
    sys.state_vi(text), sys.unit_key(text), sys.unit_tidy(text),
    admin.update_account(text, text, text, text, text, text, text, text, date),
    admin.account_page(text, bigint, text, text, text, text, integer, integer),
    admin.account_facets(), admin.report_accounts(date, date),
    admin.agent_heartbeat(text), admin.agent_status()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    admin.update_account(text, text, text, text, text, text, text, text, date),
    admin.account_page(text, bigint, text, text, text, text, integer, integer),
    admin.account_facets(), admin.report_accounts(date, date), admin.agent_status()
TO lr_admin_administrator;
GRANT EXECUTE ON FUNCTION admin.agent_heartbeat(text) TO lr_agent;
