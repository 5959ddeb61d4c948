-- Read rights, row-level security by area, the write API and viewport reads (issue 3).
--
-- The walls every client meets (our GUI, psql, QGIS):
--   * reading: lr_<subsystem>_viewer may SELECT the tables of its subsystem's schemas
--     (sys.subsystem.schemas); editors, approvers and administrators inherit it. Nothing else.
--   * rows: every table of cad, price, plan, inv and doc has row-level security. A row is
--     visible to an account of the whole province, or when it belongs to one of the
--     account's communes (sys.my_units(): communes in force plus the old communes they took
--     over). Records without a commune are seen through their parcel.
--   * writing: no person role holds INSERT/UPDATE/DELETE/TRUNCATE/REFERENCES/TRIGGER or any
--     DDL. Changes go through the SECURITY DEFINER functions of schema api, which check the
--     subsystem right and the area of the record touched, validate every argument and use
--     optimistic version checks.
--   * viewport: api.parcels_in_bbox applies the area rule and the bbox itself, so the GiST
--     index stays in use (pitfall P2: under RLS, geom && bbox is not leakproof and would be
--     applied only after the policy).
-- Policies call sys.sees_whole_province() and sys.my_units() in sub-selects (the cast in
-- "= ANY ((SELECT sys.my_units())::bigint[])" keeps it an array, not an ANY sub-query), which
-- PostgreSQL runs once per query as InitPlans instead of once per row.
-- @SRID@ is the deployment's CRS, substituted by the migration.

CREATE SCHEMA IF NOT EXISTS api;
GRANT USAGE ON SCHEMA api TO lr_person;

------------------------------------------------------------------------------------------
-- 1. Read rights: SELECT for the viewers of each subsystem, nothing else for anybody
------------------------------------------------------------------------------------------
DO $grants$
DECLARE
    sub record;
    sch text;
    obj record;
    grp text;
BEGIN
    FOR sub IN SELECT code, schemas FROM sys.subsystem ORDER BY code LOOP
        FOREACH sch IN ARRAY sub.schemas LOOP
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', sch, 'lr_' || sub.code || '_viewer');
            EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I',
                           sch, 'lr_' || sub.code || '_viewer');
        END LOOP;
    END LOOP;
    -- Whatever an earlier step may have granted: no writes, no references, no triggers.
    FOR obj IN
        SELECT n.nspname AS sch, c.relname AS rel
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('sys', 'ref', 'cad', 'price', 'plan', 'inv', 'doc')
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER '
                       'ON %I.%I FROM PUBLIC, lr_person', obj.sch, obj.rel);
        FOR grp IN SELECT rolname FROM pg_roles WHERE rolname ~ '^lr_[a-z_]+_(viewer|editor|approver|administrator)$' LOOP
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER '
                           'ON %I.%I FROM %I', obj.sch, obj.rel, grp);
        END LOOP;
    END LOOP;
    -- Views run with their owner's rights unless security_invoker: landrec_owner is not
    -- subject to RLS, so a plain view would show every commune's rows to every viewer.
    FOR obj IN
        SELECT n.nspname AS sch, c.relname AS rel
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('cad', 'price', 'plan', 'inv', 'doc') AND c.relkind = 'v'
    LOOP
        EXECUTE format('ALTER VIEW %I.%I SET (security_invoker = true)', obj.sch, obj.rel);
    END LOOP;
END
$grants$;

-- No JIT for this database: policies make the planner's cost estimates large (a sub-plan
-- per row that is in fact hashed or never run), so JIT compiled ordinary reads for 0.3–0.8 s
-- each on the 1 000 000-parcel store (a province viewer counting documents: 390 ms with JIT,
-- 14 ms without). Nothing LandRec runs gains from JIT. An operator may RESET it.
DO $jit$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
END $jit$;

-- Future objects stay closed: PostgreSQL gives a new table no grants, and LandRec adds no
-- default privileges that would open one; a new table is readable only after a migration
-- grants SELECT and gives it a policy (tests/test_rls.py checks every readable table has
-- RLS). Functions, which PostgreSQL opens to PUBLIC by default, are closed for the owner.
ALTER DEFAULT PRIVILEGES FOR ROLE landrec_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE landrec_owner REVOKE ALL ON TABLES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE landrec_owner REVOKE ALL ON SEQUENCES FROM PUBLIC;

------------------------------------------------------------------------------------------
-- 2. Indexes the policies and the API need
------------------------------------------------------------------------------------------
CREATE INDEX IF NOT EXISTS restriction_parcel_idx ON cad.restriction (parcel_id);
CREATE INDEX IF NOT EXISTS mutation_parcel_parcel_idx ON cad.mutation_parcel (parcel_id);
CREATE INDEX IF NOT EXISTS party_member_member_idx ON cad.party_member (member_id);
CREATE INDEX IF NOT EXISTS land_right_certificate_idx ON cad.land_right (certificate_id)
    WHERE certificate_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS mutation_created_by_idx ON cad.mutation (created_by);
CREATE INDEX IF NOT EXISTS document_link_certificate_idx ON doc.document_link (certificate_id)
    WHERE certificate_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS document_link_party_idx ON doc.document_link (party_id)
    WHERE party_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS document_link_mutation_idx ON doc.document_link (mutation_id)
    WHERE mutation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS road_segment_commune_idx ON price.road_segment (commune_id);
CREATE INDEX IF NOT EXISTS price_zone_commune_idx ON price.zone (commune_id);
CREATE INDEX IF NOT EXISTS segment_price_segment_idx ON price.segment_price (segment_id);
CREATE INDEX IF NOT EXISTS zone_price_zone_idx ON price.zone_price (zone_id);
CREATE INDEX IF NOT EXISTS plan_zone_commune_idx ON plan.zone (commune_id);
CREATE INDEX IF NOT EXISTS inv_result_unit_idx ON inv.result (unit_id);

-- Persons get a version for optimistic checks, like parcels.
ALTER TABLE cad.party ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;

-- No data rows are written here: sys.setting and the data tables are audited (0005), and
-- an audited write leaves a deferred trigger event pending on audit.chain_head, which makes
-- the ALTER … OWNER of sys.assign_ownership() fail in the same transaction. The tolerance
-- of api.set_land_uses therefore defaults to 0.1 m² in code; an operator may override it
-- with a sys.setting row 'land_use_sum_tolerance_m2'.

------------------------------------------------------------------------------------------
-- 3. The caller's area as views
------------------------------------------------------------------------------------------
-- Keys of the records in the communes of the person signed in (session_user), computed
-- with the owner's rights: these views are not security_invoker, so the tables they read
-- apply no RLS of their own. They show a person nothing new (only keys of records the area
-- rule lets them see), so anyone may read them. Policies use them in EXISTS, which the
-- planner inlines: a probe by key for single records, a hashed set for scans. Two reasons
-- not to write the policies with the cad tables directly:
--   * each table reached would add its own policy again; nested like that (a person is
--     seen through a right, seen through a parcel) the plans' estimated cost explodes and
--     JIT compiles them (measured: 0.8 s of JIT for a 25 ms count of persons);
--   * a dossier or price viewer may hold no cadastral rights, so their policies could not
--     read cad tables with the caller's rights.
-- Set-returning functions would do the same but can only be used as a whole set: on the
-- 1 000 000-parcel store a lookup of one person took 1 s in a 136 000-parcel commune.
-- Keep the views small on paper: the planner hashes a set only if its estimate fits in
-- hash_mem; a set too big (once with asset owners and their groups: 300 000 estimated rows)
-- falls back to one probe per row, 17 s to count a province's persons.

CREATE VIEW sys.area_parcel AS
SELECT p.id AS parcel_id
FROM cad.parcel p
WHERE p.commune_id = ANY ((SELECT sys.my_units())::bigint[]);

CREATE VIEW sys.area_certificate AS
SELECT cp.certificate_id
FROM cad.certificate_parcel cp JOIN cad.parcel p ON p.id = cp.parcel_id
WHERE p.commune_id = ANY ((SELECT sys.my_units())::bigint[]);

-- Holders of a right on a parcel of the area (use, management, ownership of the assets on
-- it), and the members of such households, couples and groups. UNION ALL: EXISTS does not
-- mind duplicates, and each branch keeps its index for single lookups.
CREATE VIEW sys.area_party AS
SELECT r.party_id
FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
WHERE p.commune_id = ANY ((SELECT sys.my_units())::bigint[])
UNION ALL
SELECT m.member_id
FROM cad.party_member m
JOIN cad.land_right r ON r.party_id = m.group_id JOIN cad.parcel p ON p.id = r.parcel_id
WHERE p.commune_id = ANY ((SELECT sys.my_units())::bigint[]);

-- Mutations touching, splitting or creating a parcel of the area, and the caller's drafts.
CREATE VIEW sys.area_mutation AS
SELECT mp.mutation_id
FROM cad.mutation_parcel mp JOIN cad.parcel p ON p.id = mp.parcel_id
WHERE p.commune_id = ANY ((SELECT sys.my_units())::bigint[])
UNION ALL
SELECT l.mutation_id
FROM cad.parcel_lineage l JOIN cad.parcel p ON p.id = l.parent_id
WHERE p.commune_id = ANY ((SELECT sys.my_units())::bigint[])
UNION ALL
SELECT l.mutation_id
FROM cad.parcel_lineage l JOIN cad.parcel p ON p.id = l.child_id
WHERE p.commune_id = ANY ((SELECT sys.my_units())::bigint[])
UNION ALL
SELECT m.id FROM cad.mutation m WHERE m.created_by = session_user;

-- Documents linked to a parcel, certificate, person or mutation of the area.
CREATE VIEW sys.area_document AS
SELECT l.document_id
FROM doc.document_link l JOIN sys.area_parcel a ON a.parcel_id = l.parcel_id
UNION ALL
SELECT l.document_id
FROM doc.document_link l JOIN sys.area_certificate a ON a.certificate_id = l.certificate_id
UNION ALL
SELECT l.document_id
FROM doc.document_link l JOIN sys.area_party a ON a.party_id = l.party_id
UNION ALL
SELECT l.document_id
FROM doc.document_link l JOIN sys.area_mutation a ON a.mutation_id = l.mutation_id;

GRANT SELECT ON sys.area_parcel, sys.area_certificate, sys.area_party, sys.area_mutation,
    sys.area_document TO PUBLIC;

------------------------------------------------------------------------------------------
-- 4. Row-level security by area
------------------------------------------------------------------------------------------
-- Every data table gets RLS, so a table without a policy shows nothing to anyone but the
-- owner. Policies are FOR SELECT only: no person role can write, and the API functions
-- run as the owner, to whom RLS does not apply.
DO $enable$
DECLARE
    obj record;
BEGIN
    FOR obj IN
        SELECT n.nspname AS sch, c.relname AS rel
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('cad', 'price', 'plan', 'inv', 'doc') AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', obj.sch, obj.rel);
    END LOOP;
END
$enable$;

-- Cadastral records ----------------------------------------------------------------------
CREATE POLICY area ON cad.parcel FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR commune_id = ANY ((SELECT sys.my_units())::bigint[]));

-- Sheets carry the commune of their survey (old communes are in my_units).
CREATE POLICY area ON cad.map_sheet FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR commune_id = ANY ((SELECT sys.my_units())::bigint[]));

-- Records of a parcel are visible with their parcel.
CREATE POLICY area ON cad.parcel_old_key FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = parcel_old_key.parcel_id));
CREATE POLICY area ON cad.land_use FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = land_use.parcel_id));
CREATE POLICY area ON cad.land_right FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = land_right.parcel_id));
CREATE POLICY area ON cad.certificate_parcel FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = certificate_parcel.parcel_id));
CREATE POLICY area ON cad.asset FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = asset.parcel_id));
CREATE POLICY area ON cad.restriction FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = restriction.parcel_id));
CREATE POLICY area ON cad.mutation_parcel FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = mutation_parcel.parcel_id));
CREATE POLICY area ON cad.parcel_lineage FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = parcel_lineage.parent_id)
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = parcel_lineage.child_id));

-- A certificate is visible with any parcel it covers.
CREATE POLICY area ON cad.certificate FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_certificate a WHERE a.certificate_id = certificate.id));

-- A person is visible when they hold a right on a visible parcel or belong to a household,
-- couple or group that does; so are the member lists of such groups.
CREATE POLICY area ON cad.party FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_party a WHERE a.party_id = party.id));
CREATE POLICY area ON cad.party_member FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_party a WHERE a.party_id = party_member.group_id));

-- A mutation is visible with a parcel it touches, splits or creates, and to its drafter.
CREATE POLICY area ON cad.mutation FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR created_by = session_user
    OR EXISTS (SELECT 1 FROM sys.area_mutation a WHERE a.mutation_id = mutation.id));

-- Land price --------------------------------------------------------------------------
-- Roads, the yearly price tables and depth bands are province-wide (published decisions).
CREATE POLICY province_wide ON price.road FOR SELECT USING (true);
CREATE POLICY province_wide ON price.price_table FOR SELECT USING (true);
CREATE POLICY province_wide ON price.depth_band FOR SELECT USING (true);

CREATE POLICY area ON price.road_segment FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR commune_id = ANY ((SELECT sys.my_units())::bigint[]));
CREATE POLICY area ON price.zone FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR commune_id = ANY ((SELECT sys.my_units())::bigint[]));
CREATE POLICY area ON price.segment_price FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR EXISTS (
        SELECT 1 FROM price.road_segment s
        WHERE s.id = segment_price.segment_id
          AND s.commune_id = ANY ((SELECT sys.my_units())::bigint[])));
CREATE POLICY area ON price.zone_price FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR EXISTS (
        SELECT 1 FROM price.zone z
        WHERE z.id = zone_price.zone_id AND z.commune_id = ANY ((SELECT sys.my_units())::bigint[])));
-- A price viewer need not hold cadastral rights: the parcel comes from the area view.
CREATE POLICY area ON price.parcel_position FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = parcel_position.parcel_id));

-- Planning ----------------------------------------------------------------------------
CREATE POLICY province_wide ON plan.land_use_plan FOR SELECT USING (true);
-- Zones without a commune (province-level) are for whole-province accounts only.
CREATE POLICY area ON plan.zone FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR commune_id = ANY ((SELECT sys.my_units())::bigint[]));

-- Inventory ---------------------------------------------------------------------------
CREATE POLICY province_wide ON inv.period FOR SELECT USING (true);
-- Results of the caller's units; the province's totals only for whole-province accounts.
CREATE POLICY area ON inv.result FOR SELECT USING (
    (SELECT sys.sees_whole_province()) OR unit_id = ANY ((SELECT sys.my_units())::bigint[]));

-- Scanned documents -------------------------------------------------------------------
CREATE POLICY area ON doc.document FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_document a WHERE a.document_id = document.id));
CREATE POLICY area ON doc.document_link FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_document a WHERE a.document_id = document_link.document_id));

------------------------------------------------------------------------------------------
-- 5. Write API: checks shared by every function (internal, not granted to anybody)
------------------------------------------------------------------------------------------

-- Raise unless the signed-in person (session_user) holds p_kind in p_subsystem.
CREATE FUNCTION sys.api_require_right(p_subsystem text, p_kind text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_account sys.account;
    v_subsystem text;
BEGIN
    IF sys.has_right(p_subsystem, p_kind) THEN
        RETURN;
    END IF;
    SELECT * INTO v_account FROM sys.account WHERE role_name = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Người dùng % không có tài khoản LandRec', session_user
            USING ERRCODE = '28000',
                  HINT = 'Ask an administrator to create an account for this role.';
    ELSIF v_account.state = 'locked' THEN
        RAISE EXCEPTION 'Tài khoản % đang bị khóa: %', session_user, v_account.lock_reason
            USING ERRCODE = '28000', HINT = 'Ask an administrator to unlock the account.';
    ELSIF v_account.state <> 'active' THEN
        RAISE EXCEPTION 'Tài khoản % đã bị vô hiệu hóa', session_user USING ERRCODE = '28000';
    ELSIF v_account.must_change_password AND EXISTS (
              SELECT 1 FROM sys.account_right r
              WHERE r.role_name = session_user AND r.subsystem = p_subsystem
                AND (r.kind = p_kind OR p_kind = 'viewer')) THEN
        -- Holds the right, but the helpers answer nothing until the first password change.
        RAISE EXCEPTION 'Tài khoản % phải đổi mật khẩu tạm trước khi làm việc', session_user
            USING ERRCODE = '28000', HINT = 'Change the temporary password first.';
    END IF;
    SELECT name_vi INTO v_subsystem FROM sys.subsystem WHERE code = p_subsystem;
    RAISE EXCEPTION 'Tài khoản % không có quyền % trong phân hệ %', session_user,
        CASE p_kind WHEN 'viewer' THEN 'xem' WHEN 'editor' THEN 'cập nhật'
                    WHEN 'approver' THEN 'phê duyệt' ELSE 'quản trị' END,
        coalesce(v_subsystem, p_subsystem)
        USING ERRCODE = '42501',
              HINT = format('The account needs the %s right of the %s subsystem.', p_kind,
                            p_subsystem);
END
$fn$;

-- Raise unless the commune is in the caller's area; the message names the commune.
CREATE FUNCTION sys.api_require_commune(p_commune_id bigint, p_what text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_name text;
    v_code text;
BEGIN
    IF sys.sees_whole_province() OR p_commune_id = ANY (sys.my_units()) THEN
        RETURN;
    END IF;
    SELECT u.name, u.code INTO v_name, v_code FROM ref.admin_unit u WHERE u.id = p_commune_id;
    RAISE EXCEPTION '% thuộc % (mã %), ngoài địa bàn được phân quyền cho tài khoản %',
        p_what, coalesce(v_name, 'đơn vị hành chính ' || p_commune_id), coalesce(v_code, '?'),
        session_user
        USING ERRCODE = '42501',
              HINT = 'An account may change records only in the communes it is granted.';
END
$fn$;

-- How a parcel is named in messages: "Thửa đất số 45, tờ bản đồ số 3 (mã 1234)".
CREATE FUNCTION sys.api_parcel_label(p_parcel_id bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (
    SELECT format('Thửa đất số %s, tờ bản đồ số %s (mã %s)', p.parcel_number, s.sheet_number, p.id)
    FROM cad.parcel p JOIN cad.map_sheet s ON s.id = p.sheet_id
    WHERE p.id = p_parcel_id
);

-- Areas in messages: Vietnamese decimal comma.
CREATE FUNCTION sys.api_m2(p_area numeric) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN coalesce(replace(p_area::text, '.', ',') || ' m²', 'chưa có');

-- The current parcel p_parcel_id in the caller's area, locked for update.
CREATE FUNCTION sys.api_lock_parcel(p_parcel_id bigint) RETURNS cad.parcel
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_parcel cad.parcel;
BEGIN
    IF p_parcel_id IS NULL THEN
        RAISE EXCEPTION 'Thiếu mã thửa đất' USING ERRCODE = '22023';
    END IF;
    -- Area first, without a lock, so nobody can lock another commune's parcels.
    SELECT * INTO v_parcel FROM cad.parcel WHERE id = p_parcel_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có thửa đất mã %', p_parcel_id USING ERRCODE = '22023';
    END IF;
    PERFORM sys.api_require_commune(v_parcel.commune_id, sys.api_parcel_label(p_parcel_id));
    SELECT * INTO v_parcel FROM cad.parcel WHERE id = p_parcel_id FOR UPDATE;
    IF v_parcel.retired_at IS NOT NULL THEN
        RAISE EXCEPTION '% đã ngừng hiệu lực từ % (thay thế bởi biến động), không sửa được',
            sys.api_parcel_label(p_parcel_id), to_char(v_parcel.retired_at, 'DD/MM/YYYY')
            USING ERRCODE = '55000';
    END IF;
    RETURN v_parcel;
END
$fn$;

-- 40001 when the record changed since the caller read it; the detail tells the current state.
CREATE FUNCTION sys.api_check_parcel_version(p_parcel cad.parcel, p_expected integer)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_uses text;
BEGIN
    IF p_expected IS NULL THEN
        RAISE EXCEPTION 'Thiếu phiên bản của thửa đất (p_expected_version)'
            USING ERRCODE = '22023', HINT = 'Pass the version read with the parcel.';
    END IF;
    IF p_parcel.version = p_expected THEN
        RETURN;
    END IF;
    SELECT string_agg(lu.code || ' ' || sys.api_m2(lu.area), ', ' ORDER BY lu.id) INTO v_uses
    FROM cad.land_use lu WHERE lu.parcel_id = p_parcel.id AND lu.retired_at IS NULL;
    RAISE EXCEPTION '% đã được người khác sửa: phiên bản hiện tại là %, bạn đang sửa trên phiên bản %',
        sys.api_parcel_label(p_parcel.id), p_parcel.version, p_expected
        USING ERRCODE = '40001',
              DETAIL = format('Hiện tại: địa chỉ «%s»; diện tích pháp lý %s; mục đích sử dụng: %s.',
                              coalesce(p_parcel.address, ''), sys.api_m2(p_parcel.area_legal),
                              coalesce(v_uses, 'chưa có')),
              HINT = 'Reload the parcel and apply your change again.';
END
$fn$;

-- Enter the change set p_mutation_id (or none): the GUC landrec.change_set tells the audit
-- triggers which change set a row change belongs to, and the parcel joins the change set.
CREATE FUNCTION sys.api_enter_change_set(p_mutation_id bigint, p_parcel_id bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_mutation cad.mutation;
BEGIN
    IF p_mutation_id IS NULL THEN
        PERFORM pg_catalog.set_config('landrec.change_set', '', true);
        RETURN;
    END IF;
    SELECT * INTO v_mutation FROM cad.mutation WHERE id = p_mutation_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có biến động mã %', p_mutation_id USING ERRCODE = '22023';
    END IF;
    IF v_mutation.created_by <> session_user THEN
        RAISE EXCEPTION 'Biến động % do % lập; chỉ người lập được thêm thay đổi vào đó',
            p_mutation_id, v_mutation.created_by USING ERRCODE = '42501';
    END IF;
    IF v_mutation.status <> 'nhap' THEN
        RAISE EXCEPTION 'Biến động % không còn là bản nháp (trạng thái %), không thêm thay đổi được',
            p_mutation_id, v_mutation.status USING ERRCODE = '55000';
    END IF;
    PERFORM pg_catalog.set_config('landrec.change_set', p_mutation_id::text, true);
    IF p_parcel_id IS NOT NULL THEN
        INSERT INTO cad.mutation_parcel (mutation_id, parcel_id)
        VALUES (p_mutation_id, p_parcel_id) ON CONFLICT DO NOTHING;
    END IF;
END
$fn$;

-- Free text from a person: trimmed, spaces collapsed, NFC; no control characters; at most
-- p_max characters. Blank becomes NULL (or an error when required).
CREATE FUNCTION sys.api_clean_text(p_value text, p_field text, p_max integer,
                                   p_required boolean) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v text;
BEGIN
    IF p_value IS NULL OR btrim(p_value) = '' THEN
        IF p_required THEN
            RAISE EXCEPTION 'Thiếu %', p_field USING ERRCODE = '22023';
        END IF;
        RETURN NULL;
    END IF;
    -- Checked before any work on the text, so a huge argument costs nothing.
    IF length(p_value) > 4 * p_max THEN
        RAISE EXCEPTION '% dài quá % ký tự', p_field, p_max USING ERRCODE = '22023';
    END IF;
    IF p_value ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' THEN
        RAISE EXCEPTION '% chứa ký tự điều khiển', p_field USING ERRCODE = '22023';
    END IF;
    v := normalize(btrim(regexp_replace(p_value, '\s+', ' ', 'g')), NFC);
    IF length(v) > p_max THEN
        RAISE EXCEPTION '% dài quá % ký tự (có % ký tự)', p_field, p_max, length(v)
            USING ERRCODE = '22023';
    END IF;
    RETURN v;
END
$fn$;

-- Names of persons and organisations: Vietnamese letters (checked without diacritics, so
-- the rule does not depend on the server's locale), spaces and a few marks.
CREATE FUNCTION sys.api_clean_name(p_value text, p_field text, p_individual boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v text := sys.api_clean_text(p_value, p_field, 200, true);
    v_folded text := ref.fold_vi(v);
BEGIN
    IF p_individual AND v_folded !~ '^[a-z][a-z'' .-]*$' THEN
        RAISE EXCEPTION '% «%» chứa ký tự không hợp lệ', p_field, left(v, 60)
            USING ERRCODE = '22023',
                  HINT = 'A person''s name may hold letters, spaces, apostrophes, dots and hyphens.';
    ELSIF NOT p_individual AND v_folded !~ '^[a-z0-9][a-z0-9'' .,&()/-]*$' THEN
        RAISE EXCEPTION '% «%» chứa ký tự không hợp lệ', p_field, left(v, 60)
            USING ERRCODE = '22023',
                  HINT = 'A name may hold letters, digits, spaces and . , - '' & ( ) /';
    END IF;
    IF position('--' IN v) > 0 THEN
        RAISE EXCEPTION '% «%» chứa ký tự không hợp lệ', p_field, left(v, 60)
            USING ERRCODE = '22023';
    END IF;
    RETURN v;
END
$fn$;

-- Addresses: letters, digits, spaces and the marks of Vietnamese addresses (Số 12/3, Tổ 5 - KP.2).
CREATE FUNCTION sys.api_clean_address(p_value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v text := sys.api_clean_text(p_value, 'Địa chỉ', 300, false);
BEGIN
    IF v IS NOT NULL AND (ref.fold_vi(v) !~ '^[a-z0-9 .,''()/&#:+-]*$' OR position('--' IN v) > 0)
    THEN
        RAISE EXCEPTION 'Địa chỉ «%» chứa ký tự không hợp lệ', left(v, 60)
            USING ERRCODE = '22023',
                  HINT = 'An address may hold letters, digits, spaces and . , - / ( ) '' & # : +';
    END IF;
    RETURN v;
END
$fn$;

-- A person's identity document: the formats of the schema (CCCD 12 digits, CMND 9 digits),
-- passports of 6–12 letters and digits, tax codes of 10 digits (+ 3 for a branch).
CREATE FUNCTION sys.api_check_identity(p_party_kind text, p_id_kind text, p_id_number text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v text;
BEGIN
    IF p_id_kind IS NULL AND p_id_number IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_id_kind IS NULL OR p_id_number IS NULL THEN
        RAISE EXCEPTION 'Loại giấy tờ và số giấy tờ phải đi cùng nhau' USING ERRCODE = '22023';
    END IF;
    IF length(p_id_number) > 40 THEN
        RAISE EXCEPTION 'Số giấy tờ dài quá' USING ERRCODE = '22023';
    END IF;
    v := upper(btrim(p_id_number));
    IF p_id_kind = 'cccd' AND v !~ '^[0-9]{12}$' THEN
        RAISE EXCEPTION 'Số căn cước công dân phải có đúng 12 chữ số' USING ERRCODE = '22023';
    ELSIF p_id_kind = 'cmnd' AND v !~ '^[0-9]{9}$' THEN
        RAISE EXCEPTION 'Số chứng minh nhân dân phải có đúng 9 chữ số' USING ERRCODE = '22023';
    ELSIF p_id_kind = 'ho_chieu' AND (v !~ '^[A-Z0-9]{6,12}$' OR v !~ '[0-9]') THEN
        RAISE EXCEPTION 'Số hộ chiếu phải gồm 6–12 chữ cái in hoa và chữ số' USING ERRCODE = '22023';
    ELSIF p_id_kind = 'mst' AND v !~ '^[0-9]{10}(-[0-9]{3})?$' THEN
        RAISE EXCEPTION 'Mã số thuế phải có 10 chữ số (hoặc 10 chữ số, gạch nối và 3 chữ số)'
            USING ERRCODE = '22023';
    ELSIF p_id_kind NOT IN ('cccd', 'cmnd', 'ho_chieu', 'mst') THEN
        RAISE EXCEPTION 'Loại giấy tờ «%» không hợp lệ (cccd, cmnd, ho_chieu, mst)',
            left(p_id_kind, 40) USING ERRCODE = '22023';
    END IF;
    IF p_party_kind = 'to_chuc' AND p_id_kind <> 'mst' THEN
        RAISE EXCEPTION 'Tổ chức được nhận diện bằng mã số thuế, không bằng %', p_id_kind
            USING ERRCODE = '22023';
    ELSIF p_party_kind NOT IN ('ca_nhan', 'to_chuc') AND p_id_kind <> 'mst' THEN
        RAISE EXCEPTION 'Hộ gia đình, vợ chồng, cộng đồng không có giấy tờ cá nhân; '
                        'hãy ghi giấy tờ cho từng thành viên' USING ERRCODE = '22023';
    END IF;
    RETURN v;
END
$fn$;

-- One identity document names one party (the unique index would say so in English).
CREATE FUNCTION sys.api_identity_unused(p_id_kind text, p_id_number text, p_except bigint)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_other bigint;
BEGIN
    SELECT id INTO v_other FROM cad.party
    WHERE id_kind = p_id_kind AND id_number = p_id_number AND id IS DISTINCT FROM p_except;
    IF FOUND THEN
        RAISE EXCEPTION 'Số giấy tờ % % đã thuộc chủ thể mã %', p_id_kind, p_id_number, v_other
            USING ERRCODE = '23505',
                  HINT = 'One identity document names one party; use or merge that party.';
    END IF;
END
$fn$;

------------------------------------------------------------------------------------------
-- 6. Write API (schema api): editors of the cadastral subsystem, inside their area
------------------------------------------------------------------------------------------
-- Every function: right → arguments → area and lock → version → change → change set.
-- An optional p_mutation_id files the change under a draft change set of the caller.

-- Address and legal area of a parcel; NULL leaves a field as it is. Returns the new version.
CREATE FUNCTION api.update_parcel(p_parcel_id bigint, p_expected_version integer,
                                  p_address text, p_area_legal numeric,
                                  p_mutation_id bigint DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_parcel cad.parcel;
    v_address text;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    v_address := sys.api_clean_address(p_address);
    IF p_address IS NOT NULL AND v_address IS NULL THEN
        RAISE EXCEPTION 'Địa chỉ không được để trống' USING ERRCODE = '22023';
    END IF;
    IF p_address IS NULL AND p_area_legal IS NULL THEN
        RAISE EXCEPTION 'Không có gì để sửa: địa chỉ và diện tích đều trống' USING ERRCODE = '22023';
    END IF;
    IF p_area_legal IS NOT NULL AND NOT (p_area_legal > 0 AND p_area_legal < 1e9) THEN
        RAISE EXCEPTION 'Diện tích pháp lý phải lớn hơn 0 và nhỏ hơn 1 000 000 000 m² (nhận %)',
            left(p_area_legal::text, 40) USING ERRCODE = '22023';
    END IF;
    IF p_area_legal IS NOT NULL AND round(p_area_legal, 1) <> p_area_legal THEN
        RAISE EXCEPTION 'Diện tích pháp lý ghi tới 0,1 m² (nhận %)', left(p_area_legal::text, 40)
            USING ERRCODE = '22023';
    END IF;
    v_parcel := sys.api_lock_parcel(p_parcel_id);
    PERFORM sys.api_check_parcel_version(v_parcel, p_expected_version);
    PERFORM sys.api_enter_change_set(p_mutation_id, p_parcel_id);
    UPDATE cad.parcel
    SET address = coalesce(v_address, address),
        area_legal = coalesce(p_area_legal, area_legal),
        version = version + 1
    WHERE id = p_parcel_id
    RETURNING version INTO v_parcel.version;
    RETURN v_parcel.version;
END
$fn$;

-- Replace the land-use purposes of a parcel. p_uses is a JSON array of
--   {"code": "ONT", "area": 200.0, "term_until": "2064-01-01", "use_from": "…", "origin": "…"}
-- Codes must exist; a legacy code (TT 27/2018) is kept only where the parcel already has it;
-- areas are positive and add up to the legal area. Returns the parcel's new version.
CREATE FUNCTION api.set_land_uses(p_parcel_id bigint, p_expected_version integer, p_uses jsonb,
                                  p_mutation_id bigint DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_parcel cad.parcel;
    v_item jsonb;
    v_n integer;
    v_i integer;
    v_key text;
    v_code text;
    v_ref ref.land_use_code;
    v_current_name text;
    v_area numeric;
    v_term date;
    v_from date;
    v_origin text;
    v_sum numeric := 0;
    v_tolerance numeric;
    v_rows jsonb := '[]';
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    IF p_uses IS NULL OR jsonb_typeof(p_uses) <> 'array' THEN
        RAISE EXCEPTION 'Danh sách mục đích sử dụng phải là một mảng JSON'
            USING ERRCODE = '22023', HINT = 'Example: [{"code": "ONT", "area": 200.0}]';
    END IF;
    v_n := jsonb_array_length(p_uses);
    IF v_n = 0 OR v_n > 20 THEN
        RAISE EXCEPTION 'Thửa đất phải có từ 1 đến 20 mục đích sử dụng (nhận %)', v_n
            USING ERRCODE = '22023';
    END IF;
    v_parcel := sys.api_lock_parcel(p_parcel_id);
    PERFORM sys.api_check_parcel_version(v_parcel, p_expected_version);
    IF v_parcel.area_legal IS NULL THEN
        RAISE EXCEPTION '% chưa có diện tích pháp lý; hãy cập nhật diện tích trước',
            sys.api_parcel_label(p_parcel_id) USING ERRCODE = '23514';
    END IF;

    FOR v_i IN 0 .. v_n - 1 LOOP
        v_item := p_uses -> v_i;
        IF jsonb_typeof(v_item) <> 'object' THEN
            RAISE EXCEPTION 'Mục đích thứ % phải là một đối tượng JSON', v_i + 1
                USING ERRCODE = '22023';
        END IF;
        FOR v_key IN SELECT k FROM jsonb_object_keys(v_item) k LOOP
            IF v_key NOT IN ('code', 'area', 'term_until', 'use_from', 'origin') THEN
                RAISE EXCEPTION 'Mục đích thứ %: trường «%» không được biết', v_i + 1, left(v_key, 40)
                    USING ERRCODE = '22023',
                          HINT = 'Fields: code, area, term_until, use_from, origin.';
            END IF;
        END LOOP;

        -- Code: known, and current unless the parcel already carries the legacy code.
        IF jsonb_typeof(v_item -> 'code') IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'Mục đích thứ %: thiếu mã loại đất', v_i + 1 USING ERRCODE = '22023';
        END IF;
        v_code := upper(btrim(left(v_item ->> 'code', 10)));
        SELECT * INTO v_ref FROM ref.land_use_code WHERE code = v_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Mục đích thứ %: mã loại đất «%» không có trong danh mục',
                v_i + 1, left(v_item ->> 'code', 20)
                USING ERRCODE = '22023', HINT = 'See ref.land_use_code (TT 08/2024/TT-BTNMT).';
        END IF;
        IF v_ref.status = 'legacy' AND NOT EXISTS (
               SELECT 1 FROM cad.land_use lu
               WHERE lu.parcel_id = p_parcel_id AND lu.retired_at IS NULL AND lu.code = v_code)
        THEN
            IF v_ref.maps_to IS NULL THEN
                RAISE EXCEPTION 'Mã % (%) là mã cũ theo TT 27/2018, không dùng cho mục đích mới; '
                                'hãy chọn mã hiện hành theo TT 08/2024', v_code, v_ref.name_vi
                    USING ERRCODE = '22023';
            END IF;
            SELECT name_vi INTO v_current_name FROM ref.land_use_code WHERE code = v_ref.maps_to;
            RAISE EXCEPTION 'Mã % (%) là mã cũ theo TT 27/2018, không dùng cho mục đích mới; '
                            'mã hiện hành tương ứng là % (%)',
                v_code, v_ref.name_vi, v_ref.maps_to, v_current_name
                USING ERRCODE = '22023',
                      HINT = format('Use the current code %s.', v_ref.maps_to);
        END IF;

        -- Area: a positive number of m² to 0.1 m².
        IF jsonb_typeof(v_item -> 'area') IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION 'Mục đích thứ % (%): diện tích phải là một số', v_i + 1, v_code
                USING ERRCODE = '22023';
        END IF;
        v_area := (v_item -> 'area')::numeric;
        IF NOT (v_area > 0 AND v_area < 1e9) OR round(v_area, 1) <> v_area THEN
            RAISE EXCEPTION 'Mục đích thứ % (%): diện tích phải dương, ghi tới 0,1 m² (nhận %)',
                v_i + 1, v_code, left(v_area::text, 40) USING ERRCODE = '22023';
        END IF;

        -- Dates (ISO) and origin.
        BEGIN
            v_term := CASE WHEN v_item -> 'term_until' IS NULL OR v_item -> 'term_until' = 'null'
                           THEN NULL ELSE (v_item ->> 'term_until')::date END;
            v_from := CASE WHEN v_item -> 'use_from' IS NULL OR v_item -> 'use_from' = 'null'
                           THEN NULL ELSE (v_item ->> 'use_from')::date END;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow
                       OR invalid_text_representation THEN
            RAISE EXCEPTION 'Mục đích thứ % (%): ngày không hợp lệ (dùng dạng YYYY-MM-DD)',
                v_i + 1, v_code USING ERRCODE = '22023';
        END;
        IF v_term IS NOT NULL AND v_from IS NOT NULL AND v_term <= v_from THEN
            RAISE EXCEPTION 'Mục đích thứ % (%): thời hạn sử dụng phải sau ngày bắt đầu',
                v_i + 1, v_code USING ERRCODE = '22023';
        END IF;
        IF v_from > current_date THEN
            RAISE EXCEPTION 'Mục đích thứ % (%): ngày bắt đầu sử dụng ở tương lai', v_i + 1, v_code
                USING ERRCODE = '22023';
        END IF;
        IF jsonb_typeof(v_item -> 'origin') NOT IN ('string', 'null') THEN
            RAISE EXCEPTION 'Mục đích thứ % (%): nguồn gốc phải là văn bản', v_i + 1, v_code
                USING ERRCODE = '22023';
        END IF;
        v_origin := sys.api_clean_text(v_item ->> 'origin', 'Nguồn gốc sử dụng', 200, false);

        v_sum := v_sum + v_area;
        v_rows := v_rows || jsonb_build_object('code', v_code, 'area', v_area,
                                               'term_until', v_term, 'use_from', v_from,
                                               'origin', v_origin);
    END LOOP;

    -- Rounding of the areas printed on the certificate; sys.setting may override it.
    SELECT (value #>> '{}')::numeric INTO v_tolerance
    FROM sys.setting WHERE key = 'land_use_sum_tolerance_m2';
    IF abs(v_sum - v_parcel.area_legal) > coalesce(v_tolerance, 0.1) THEN
        RAISE EXCEPTION 'Tổng diện tích các mục đích sử dụng (%) khác diện tích pháp lý của thửa (%)',
            sys.api_m2(v_sum), sys.api_m2(v_parcel.area_legal)
            USING ERRCODE = '23514',
                  HINT = format('Purpose areas must add up to the legal area within %s m².',
                                coalesce(v_tolerance, 0.1));
    END IF;

    PERFORM sys.api_enter_change_set(p_mutation_id, p_parcel_id);
    -- Purposes are retired, never deleted (history).
    UPDATE cad.land_use SET retired_at = now()
    WHERE parcel_id = p_parcel_id AND retired_at IS NULL;
    INSERT INTO cad.land_use (parcel_id, code, area, term_until, use_from, origin)
    SELECT p_parcel_id, r ->> 'code', (r ->> 'area')::numeric, (r ->> 'term_until')::date,
           (r ->> 'use_from')::date, r ->> 'origin'
    FROM jsonb_array_elements(v_rows) r;
    UPDATE cad.parcel SET version = version + 1 WHERE id = p_parcel_id
    RETURNING version INTO v_parcel.version;
    RETURN v_parcel.version;
END
$fn$;

-- A new person or organisation. Returns its id.
CREATE FUNCTION api.create_party(p_kind text, p_full_name text, p_gender text DEFAULT NULL,
                                 p_birth_year integer DEFAULT NULL, p_id_kind text DEFAULT NULL,
                                 p_id_number text DEFAULT NULL, p_address text DEFAULT NULL,
                                 p_mutation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_name text;
    v_id_number text;
    v_address text;
    v_id bigint;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    IF p_kind IS NULL OR p_kind NOT IN ('ca_nhan', 'ho_gia_dinh', 'vo_chong', 'to_chuc', 'cong_dong')
    THEN
        RAISE EXCEPTION 'Loại chủ thể «%» không hợp lệ', left(coalesce(p_kind, ''), 40)
            USING ERRCODE = '22023',
                  HINT = 'Kinds: ca_nhan, ho_gia_dinh, vo_chong, to_chuc, cong_dong.';
    END IF;
    v_name := sys.api_clean_name(p_full_name, 'Họ tên', p_kind = 'ca_nhan');
    IF p_kind <> 'ca_nhan' AND (p_gender IS NOT NULL OR p_birth_year IS NOT NULL) THEN
        RAISE EXCEPTION 'Giới tính và năm sinh chỉ ghi cho cá nhân' USING ERRCODE = '22023';
    END IF;
    IF p_gender IS NOT NULL AND p_gender NOT IN ('nam', 'nu') THEN
        RAISE EXCEPTION 'Giới tính phải là nam hoặc nu' USING ERRCODE = '22023';
    END IF;
    IF p_birth_year IS NOT NULL
       AND NOT p_birth_year BETWEEN 1880 AND extract(year FROM current_date)::integer THEN
        RAISE EXCEPTION 'Năm sinh % không hợp lệ', p_birth_year USING ERRCODE = '22023';
    END IF;
    v_id_number := sys.api_check_identity(p_kind, p_id_kind, p_id_number);
    IF v_id_number IS NOT NULL THEN
        PERFORM sys.api_identity_unused(p_id_kind, v_id_number, NULL);
    END IF;
    v_address := sys.api_clean_address(p_address);
    PERFORM sys.api_enter_change_set(p_mutation_id, NULL);
    BEGIN
        INSERT INTO cad.party (kind, full_name, gender, birth_year, id_kind, id_number, address)
        VALUES (p_kind, v_name, p_gender, p_birth_year, p_id_kind, v_id_number, v_address)
        RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN  -- a concurrent insert of the same document
        RAISE EXCEPTION 'Số giấy tờ % % đã thuộc một chủ thể khác', p_id_kind, v_id_number
            USING ERRCODE = '23505';
    END;
    RETURN v_id;
END
$fn$;

-- Change a person's details; NULL leaves a field as it is. Returns the new version.
-- The person must be in the caller's area (a right on one of its parcels, or a member of a
-- group holding one), or hold
-- nothing yet (a person just created and not yet given a right).
CREATE FUNCTION api.update_party(p_party_id bigint, p_expected_version integer,
                                 p_full_name text DEFAULT NULL, p_gender text DEFAULT NULL,
                                 p_birth_year integer DEFAULT NULL, p_id_kind text DEFAULT NULL,
                                 p_id_number text DEFAULT NULL, p_address text DEFAULT NULL,
                                 p_mutation_id bigint DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_party cad.party;
    v_name text;
    v_id_number text;
    v_address text;
    v_commune bigint;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    IF p_party_id IS NULL THEN
        RAISE EXCEPTION 'Thiếu mã chủ thể' USING ERRCODE = '22023';
    END IF;
    IF p_expected_version IS NULL THEN
        RAISE EXCEPTION 'Thiếu phiên bản của chủ thể (p_expected_version)' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_party FROM cad.party WHERE id = p_party_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có chủ thể mã %', p_party_id USING ERRCODE = '22023';
    END IF;
    IF NOT sys.sees_whole_province()
       AND NOT EXISTS (SELECT 1 FROM sys.area_party a WHERE a.party_id = p_party_id) THEN
        -- Name a commune where the person does hold something, or refuse plainly.
        SELECT p.commune_id INTO v_commune
        FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
        WHERE r.party_id = p_party_id
           OR r.party_id IN (SELECT group_id FROM cad.party_member WHERE member_id = p_party_id)
        LIMIT 1;
        IF FOUND THEN
            PERFORM sys.api_require_commune(v_commune, format('Chủ thể mã %s', p_party_id));
        END IF;
    END IF;
    IF p_full_name IS NULL AND p_gender IS NULL AND p_birth_year IS NULL AND p_id_kind IS NULL
       AND p_id_number IS NULL AND p_address IS NULL THEN
        RAISE EXCEPTION 'Không có gì để sửa' USING ERRCODE = '22023';
    END IF;
    IF p_full_name IS NOT NULL THEN
        v_name := sys.api_clean_name(p_full_name, 'Họ tên', v_party.kind = 'ca_nhan');
    END IF;
    IF v_party.kind <> 'ca_nhan' AND (p_gender IS NOT NULL OR p_birth_year IS NOT NULL) THEN
        RAISE EXCEPTION 'Giới tính và năm sinh chỉ ghi cho cá nhân' USING ERRCODE = '22023';
    END IF;
    IF p_gender IS NOT NULL AND p_gender NOT IN ('nam', 'nu') THEN
        RAISE EXCEPTION 'Giới tính phải là nam hoặc nu' USING ERRCODE = '22023';
    END IF;
    IF p_birth_year IS NOT NULL
       AND NOT p_birth_year BETWEEN 1880 AND extract(year FROM current_date)::integer THEN
        RAISE EXCEPTION 'Năm sinh % không hợp lệ', p_birth_year USING ERRCODE = '22023';
    END IF;
    IF p_id_kind IS NOT NULL OR p_id_number IS NOT NULL THEN
        v_id_number := sys.api_check_identity(v_party.kind, p_id_kind, p_id_number);
        PERFORM sys.api_identity_unused(p_id_kind, v_id_number, p_party_id);
    END IF;
    IF p_address IS NOT NULL THEN
        v_address := sys.api_clean_address(p_address);
        IF v_address IS NULL THEN
            RAISE EXCEPTION 'Địa chỉ không được để trống' USING ERRCODE = '22023';
        END IF;
    END IF;

    SELECT * INTO v_party FROM cad.party WHERE id = p_party_id FOR UPDATE;
    IF v_party.version <> p_expected_version THEN
        RAISE EXCEPTION 'Chủ thể mã % đã được người khác sửa: phiên bản hiện tại là %, bạn đang sửa trên phiên bản %',
            p_party_id, v_party.version, p_expected_version
            USING ERRCODE = '40001',
                  DETAIL = format('Hiện tại: họ tên «%s»; giấy tờ %s %s; địa chỉ «%s».',
                                  v_party.full_name, coalesce(v_party.id_kind, '—'),
                                  coalesce(v_party.id_number, ''), coalesce(v_party.address, '')),
                  HINT = 'Reload the person and apply your change again.';
    END IF;
    PERFORM sys.api_enter_change_set(p_mutation_id, NULL);
    UPDATE cad.party
    SET full_name = coalesce(v_name, full_name),
        gender = coalesce(p_gender, gender),
        birth_year = coalesce(p_birth_year, birth_year),
        id_kind = coalesce(p_id_kind, id_kind),
        id_number = coalesce(v_id_number, id_number),
        address = coalesce(v_address, address),
        version = version + 1
    WHERE id = p_party_id
    RETURNING version INTO v_party.version;
    RETURN v_party.version;
END
$fn$;

-- A right (use, management, asset ownership) of a party on a current parcel. Returns its id.
CREATE FUNCTION api.grant_right(p_parcel_id bigint, p_party_id bigint, p_kind text,
                                p_share numeric DEFAULT 1, p_valid_from date DEFAULT NULL,
                                p_certificate_id bigint DEFAULT NULL,
                                p_mutation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_from date := coalesce(p_valid_from, current_date);
    v_held numeric;
    v_id bigint;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    IF p_kind IS NULL OR p_kind NOT IN ('su_dung', 'quan_ly', 'so_huu_tai_san') THEN
        RAISE EXCEPTION 'Loại quyền «%» không hợp lệ', left(coalesce(p_kind, ''), 40)
            USING ERRCODE = '22023', HINT = 'Kinds: su_dung, quan_ly, so_huu_tai_san.';
    END IF;
    IF p_share IS NULL OR NOT (p_share > 0 AND p_share <= 1) OR round(p_share, 6) <> p_share THEN
        RAISE EXCEPTION 'Phần quyền phải lớn hơn 0 và không quá 1, tối đa 6 chữ số thập phân'
            USING ERRCODE = '22023';
    END IF;
    IF v_from > current_date OR v_from < date '1900-01-01' THEN
        RAISE EXCEPTION 'Ngày bắt đầu quyền % không hợp lệ', to_char(v_from, 'DD/MM/YYYY')
            USING ERRCODE = '22023';
    END IF;
    IF p_party_id IS NULL OR NOT EXISTS (SELECT 1 FROM cad.party WHERE id = p_party_id) THEN
        RAISE EXCEPTION 'Không có chủ thể mã %', coalesce(p_party_id::text, '(trống)')
            USING ERRCODE = '22023';
    END IF;
    -- The parcel row lock serialises concurrent grants, so the share check below holds.
    PERFORM sys.api_lock_parcel(p_parcel_id);
    IF p_certificate_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM cad.certificate c JOIN cad.certificate_parcel cp ON cp.certificate_id = c.id
           WHERE c.id = p_certificate_id AND cp.parcel_id = p_parcel_id AND c.status = 'hieu_luc')
    THEN
        RAISE EXCEPTION 'Giấy chứng nhận mã % không còn hiệu lực hoặc không cấp cho thửa đất này',
            p_certificate_id USING ERRCODE = '23514';
    END IF;
    IF EXISTS (SELECT 1 FROM cad.land_right
               WHERE parcel_id = p_parcel_id AND party_id = p_party_id AND kind = p_kind
                 AND valid_to IS NULL) THEN
        RAISE EXCEPTION 'Chủ thể mã % đã có quyền % trên thửa đất này', p_party_id, p_kind
            USING ERRCODE = '23514';
    END IF;
    SELECT coalesce(sum(share), 0) INTO v_held FROM cad.land_right
    WHERE parcel_id = p_parcel_id AND kind = p_kind AND valid_to IS NULL;
    IF v_held + p_share > 1 THEN
        RAISE EXCEPTION 'Tổng phần quyền % trên thửa đất sẽ là %, vượt quá 1 (đang có %)',
            p_kind, v_held + p_share, v_held
            USING ERRCODE = '23514', HINT = 'End or reduce the existing rights first.';
    END IF;
    PERFORM sys.api_enter_change_set(p_mutation_id, p_parcel_id);
    INSERT INTO cad.land_right (parcel_id, party_id, kind, share, certificate_id, valid_from)
    VALUES (p_parcel_id, p_party_id, p_kind, p_share, p_certificate_id, v_from)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$fn$;

-- End a right on a date (default today).
CREATE FUNCTION api.end_right(p_right_id bigint, p_valid_to date DEFAULT NULL,
                              p_mutation_id bigint DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_right cad.land_right;
    v_to date := coalesce(p_valid_to, current_date);
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    IF p_right_id IS NULL THEN
        RAISE EXCEPTION 'Thiếu mã quyền' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_right FROM cad.land_right WHERE id = p_right_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có quyền mã %', p_right_id USING ERRCODE = '22023';
    END IF;
    PERFORM sys.api_lock_parcel(v_right.parcel_id);
    SELECT * INTO v_right FROM cad.land_right WHERE id = p_right_id FOR UPDATE;
    IF v_right.valid_to IS NOT NULL THEN
        RAISE EXCEPTION 'Quyền mã % đã chấm dứt ngày %', p_right_id,
            to_char(v_right.valid_to, 'DD/MM/YYYY') USING ERRCODE = '55000';
    END IF;
    IF v_to < v_right.valid_from OR v_to > current_date THEN
        RAISE EXCEPTION 'Ngày chấm dứt % phải từ ngày bắt đầu quyền (%) đến hôm nay',
            to_char(v_to, 'DD/MM/YYYY'), to_char(v_right.valid_from, 'DD/MM/YYYY')
            USING ERRCODE = '22023';
    END IF;
    PERFORM sys.api_enter_change_set(p_mutation_id, v_right.parcel_id);
    UPDATE cad.land_right SET valid_to = v_to WHERE id = p_right_id;
END
$fn$;

-- Issue a certificate (giấy chứng nhận) for parcels of one holder: every parcel current, in
-- the caller's area, with the same holders. The active rights on them point to it; a
-- replaced certificate (p_replaces) becomes 'cap_doi'. Returns the certificate's id.
CREATE FUNCTION api.issue_certificate(p_serial text, p_register_number text, p_issued_on date,
                                      p_issuer text, p_parcel_ids bigint[],
                                      p_replaces bigint DEFAULT NULL,
                                      p_mutation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_serial text;
    v_register text;
    v_issuer text;
    v_parcel bigint;
    v_holders bigint[];
    v_first bigint[];
    v_old cad.certificate;
    v_id bigint;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    v_serial := upper(sys.api_clean_text(p_serial, 'Số phát hành', 20, true));
    IF v_serial !~ '^[A-Z]{2} [0-9]{6,8}$' THEN
        RAISE EXCEPTION 'Số phát hành «%» không đúng dạng (2 chữ cái, dấu cách, 6–8 chữ số, vd. BD 123456)',
            v_serial USING ERRCODE = '22023';
    END IF;
    v_register := upper(sys.api_clean_text(p_register_number, 'Số vào sổ cấp giấy chứng nhận', 30, true));
    IF v_register !~ '^[A-Z0-9][A-Z0-9 ./-]*$' THEN
        RAISE EXCEPTION 'Số vào sổ «%» chỉ gồm chữ, số, dấu cách và . / -', v_register
            USING ERRCODE = '22023';
    END IF;
    v_issuer := sys.api_clean_name(p_issuer, 'Cơ quan cấp', false);
    IF p_issued_on IS NULL OR p_issued_on > current_date OR p_issued_on < date '1980-01-01' THEN
        RAISE EXCEPTION 'Ngày cấp % không hợp lệ', coalesce(to_char(p_issued_on, 'DD/MM/YYYY'), '(trống)')
            USING ERRCODE = '22023';
    END IF;
    IF p_parcel_ids IS NULL OR cardinality(p_parcel_ids) = 0 OR cardinality(p_parcel_ids) > 100
       OR array_position(p_parcel_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'Giấy chứng nhận phải ghi từ 1 đến 100 thửa đất, không có mã trống'
            USING ERRCODE = '22023';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(p_parcel_ids) x) <> cardinality(p_parcel_ids) THEN
        RAISE EXCEPTION 'Danh sách thửa đất có mã trùng' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM cad.certificate WHERE serial = v_serial) THEN
        RAISE EXCEPTION 'Số phát hành % đã được dùng cho giấy chứng nhận khác', v_serial
            USING ERRCODE = '23505';
    END IF;

    -- Lock in id order, so two clerks never deadlock on the same parcels.
    FOR v_parcel IN SELECT x FROM unnest(p_parcel_ids) x ORDER BY x LOOP
        PERFORM sys.api_lock_parcel(v_parcel);
        SELECT array_agg(DISTINCT party_id ORDER BY party_id) INTO v_holders
        FROM cad.land_right WHERE parcel_id = v_parcel AND valid_to IS NULL;
        IF v_holders IS NULL THEN
            RAISE EXCEPTION '% chưa có người sử dụng, không cấp giấy chứng nhận được',
                sys.api_parcel_label(v_parcel) USING ERRCODE = '23514';
        END IF;
        IF v_first IS NULL THEN
            v_first := v_holders;
        ELSIF v_first <> v_holders THEN
            RAISE EXCEPTION 'Các thửa đất trên một giấy chứng nhận phải cùng người sử dụng; % khác',
                sys.api_parcel_label(v_parcel) USING ERRCODE = '23514';
        END IF;
    END LOOP;

    IF p_replaces IS NOT NULL THEN
        SELECT * INTO v_old FROM cad.certificate WHERE id = p_replaces FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Không có giấy chứng nhận mã %', p_replaces USING ERRCODE = '22023';
        END IF;
        IF v_old.status <> 'hieu_luc' THEN
            RAISE EXCEPTION 'Giấy chứng nhận % không còn hiệu lực (%), không cấp đổi được',
                v_old.serial, v_old.status USING ERRCODE = '55000';
        END IF;
        FOR v_parcel IN SELECT parcel_id FROM cad.certificate_parcel
                        WHERE certificate_id = p_replaces ORDER BY parcel_id LOOP
            PERFORM sys.api_require_commune(
                (SELECT commune_id FROM cad.parcel WHERE id = v_parcel),
                sys.api_parcel_label(v_parcel));
        END LOOP;
    END IF;

    PERFORM sys.api_enter_change_set(p_mutation_id, NULL);
    BEGIN
        INSERT INTO cad.certificate (serial, register_number, issued_on, issuer)
        VALUES (v_serial, v_register, p_issued_on, v_issuer)
        RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN  -- a concurrent issue of the same serial
        RAISE EXCEPTION 'Số phát hành % đã được dùng cho giấy chứng nhận khác', v_serial
            USING ERRCODE = '23505';
    END;
    INSERT INTO cad.certificate_parcel (certificate_id, parcel_id)
    SELECT v_id, x FROM unnest(p_parcel_ids) x;
    UPDATE cad.land_right SET certificate_id = v_id
    WHERE parcel_id = ANY (p_parcel_ids) AND valid_to IS NULL;
    IF p_replaces IS NOT NULL THEN
        UPDATE cad.certificate SET status = 'cap_doi', replaced_by = v_id WHERE id = p_replaces;
    END IF;
    IF p_mutation_id IS NOT NULL THEN
        INSERT INTO cad.mutation_parcel (mutation_id, parcel_id)
        SELECT p_mutation_id, x FROM unnest(p_parcel_ids) x ON CONFLICT DO NOTHING;
    END IF;
    RETURN v_id;
END
$fn$;

-- Open a draft change set (biến động). Issue 5 builds submission and approval on it.
CREATE FUNCTION api.create_mutation(p_kind text, p_reason text, p_dossier_number text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_reason text;
    v_dossier text;
    v_id bigint;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    IF p_kind IS NULL OR p_kind NOT IN ('tach_thua', 'hop_thua', 'dinh_chinh_ranh_gioi',
            'thua_moi', 'thay_doi_thuoc_tinh', 'chuyen_muc_dich', 'chuyen_quyen', 'the_chap',
            'xoa_the_chap') THEN
        RAISE EXCEPTION 'Loại biến động «%» không hợp lệ', left(coalesce(p_kind, ''), 40)
            USING ERRCODE = '22023',
                  HINT = 'Kinds: tach_thua, hop_thua, dinh_chinh_ranh_gioi, thua_moi, '
                         'thay_doi_thuoc_tinh, chuyen_muc_dich, chuyen_quyen, the_chap, '
                         'xoa_the_chap.';
    END IF;
    v_reason := sys.api_clean_text(p_reason, 'Lý do biến động', 1000, true);
    v_dossier := sys.api_clean_text(p_dossier_number, 'Số hồ sơ', 50, false);
    IF v_dossier !~ '^[A-Za-z0-9][A-Za-z0-9./_-]*$' THEN
        RAISE EXCEPTION 'Số hồ sơ «%» chỉ gồm chữ không dấu, số và . / _ -', v_dossier
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO cad.mutation (kind, reason, dossier_number)
    VALUES (p_kind, v_reason, v_dossier)
    RETURNING id INTO v_id;
    PERFORM pg_catalog.set_config('landrec.change_set', v_id::text, true);
    RETURN v_id;
END
$fn$;

------------------------------------------------------------------------------------------
-- 7. Viewport reads (pitfall P2): the area rule and the bbox in one indexable query
------------------------------------------------------------------------------------------
-- Geometry comes as TWKB (ST_AsTWKB): integers at a fixed precision, delta-encoded, about
-- 4× smaller than WKB for parcels (DESIGN §4: 0.44–0.50 MB instead of 1.84 MB for a 20 000
-- parcel view, ~110 ms less at 100 Mbit). Precision is centimetres, or coarser when the
-- caller simplifies (a 1 m tolerance needs no centimetres).

-- Arguments of a viewport: finite numbers, a real box, a sane simplification tolerance.
CREATE FUNCTION sys.api_check_bbox(p_minx float8, p_miny float8, p_maxx float8, p_maxy float8,
                                   p_simplify float8) RETURNS integer
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_minx IS NULL OR p_miny IS NULL OR p_maxx IS NULL OR p_maxy IS NULL THEN
        RAISE EXCEPTION 'Thiếu tọa độ khung nhìn (minx, miny, maxx, maxy)' USING ERRCODE = '22023';
    END IF;
    -- NaN compares greater than every number, so it fails the upper bound.
    IF NOT (abs(p_minx) < 1e8 AND abs(p_miny) < 1e8 AND abs(p_maxx) < 1e8 AND abs(p_maxy) < 1e8)
    THEN
        RAISE EXCEPTION 'Tọa độ khung nhìn không hợp lệ' USING ERRCODE = '22023';
    END IF;
    IF p_minx >= p_maxx OR p_miny >= p_maxy THEN
        RAISE EXCEPTION 'Khung nhìn rỗng: cần minx < maxx và miny < maxy' USING ERRCODE = '22023';
    END IF;
    IF p_simplify IS NULL OR NOT (p_simplify >= 0 AND p_simplify <= 1000) THEN
        RAISE EXCEPTION 'Dung sai đơn giản hóa phải từ 0 đến 1000 m' USING ERRCODE = '22023';
    END IF;
    -- TWKB decimals: centimetres, one fewer per tenfold tolerance, at least metres.
    RETURN CASE WHEN p_simplify = 0 THEN 2
                ELSE least(2, greatest(0, 1 - floor(log(p_simplify))::integer)) END;
END
$fn$;

-- Current parcels in the box that the caller may see: id, parcel and sheet numbers, main
-- land-use code (largest purpose), area (legal, else computed) and geometry as TWKB.
CREATE FUNCTION api.parcels_in_bbox(p_minx float8, p_miny float8, p_maxx float8, p_maxy float8,
                                    p_simplify float8 DEFAULT 0)
RETURNS TABLE (id bigint, parcel_number integer, sheet_number integer, land_use_code text,
               area float8, geom bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
ROWS 5000 AS $fn$
DECLARE
    v_decimals integer := sys.api_check_bbox(p_minx, p_miny, p_maxx, p_maxy, p_simplify);
    v_whole boolean;
    v_units bigint[];
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    v_whole := sys.sees_whole_province();
    v_units := CASE WHEN v_whole THEN '{}'::bigint[] ELSE sys.my_units() END;
    RETURN QUERY
    SELECT p.id, p.parcel_number, s.sheet_number,
           (SELECT lu.code FROM cad.land_use lu
            WHERE lu.parcel_id = p.id AND lu.retired_at IS NULL
            ORDER BY lu.area DESC, lu.id LIMIT 1),
           coalesce(p.area_legal::float8, round(p.area_computed::numeric, 1)::float8),
           public.ST_AsTWKB(CASE WHEN p_simplify > 0
                                 THEN public.ST_Simplify(p.geom, p_simplify, true)
                                 ELSE p.geom END, v_decimals)
    FROM cad.parcel p
    JOIN cad.map_sheet s ON s.id = p.sheet_id
    WHERE p.geom OPERATOR(public.&&) public.ST_MakeEnvelope(p_minx, p_miny, p_maxx, p_maxy, @SRID@)
      AND p.retired_at IS NULL
      -- The sub-select keeps the area rule a filter on the rows the box found: folded to
      -- "commune_id = ANY (…)" it would let the planner AND in a bitmap of the whole
      -- commune (100 000+ entries) or skip the GiST index for a small commune.
      AND ((SELECT v_whole) OR p.commune_id = ANY (v_units));
END
$fn$;

-- Map sheet frames in the box that the caller may see (sheets carry their survey commune).
CREATE FUNCTION api.sheets_in_bbox(p_minx float8, p_miny float8, p_maxx float8, p_maxy float8)
RETURNS TABLE (id bigint, commune_id bigint, sheet_number integer, scale integer, geom bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
ROWS 100 AS $fn$
DECLARE
    v_decimals integer := sys.api_check_bbox(p_minx, p_miny, p_maxx, p_maxy, 0);
    v_whole boolean;
    v_units bigint[];
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    v_whole := sys.sees_whole_province();
    v_units := CASE WHEN v_whole THEN '{}'::bigint[] ELSE sys.my_units() END;
    RETURN QUERY
    SELECT s.id, s.commune_id, s.sheet_number, s.scale, public.ST_AsTWKB(s.frame, v_decimals)
    FROM cad.map_sheet s
    WHERE s.frame OPERATOR(public.&&) public.ST_MakeEnvelope(p_minx, p_miny, p_maxx, p_maxy, @SRID@)
      AND (v_whole OR s.commune_id = ANY (v_units));
END
$fn$;

------------------------------------------------------------------------------------------
-- 8. Who may call what
------------------------------------------------------------------------------------------
-- Internal helpers: only the owner (definer functions) calls them.
REVOKE ALL ON FUNCTION
    sys.api_require_right(text, text), sys.api_require_commune(bigint, text),
    sys.api_parcel_label(bigint), sys.api_m2(numeric), sys.api_lock_parcel(bigint),
    sys.api_check_parcel_version(cad.parcel, integer), sys.api_enter_change_set(bigint, bigint),
    sys.api_clean_text(text, text, integer, boolean), sys.api_clean_name(text, text, boolean),
    sys.api_clean_address(text), sys.api_check_identity(text, text, text),
    sys.api_identity_unused(text, text, bigint),
    sys.api_check_bbox(float8, float8, float8, float8, float8)
FROM PUBLIC;

-- The API answers every signed-in person: the function itself checks the right in
-- sys.account_right (and the lock state), so a viewer is refused with a clear Vietnamese
-- 42501 rather than PostgreSQL's generic "permission denied for function".
REVOKE ALL ON FUNCTION
    api.update_parcel(bigint, integer, text, numeric, bigint),
    api.set_land_uses(bigint, integer, jsonb, bigint),
    api.create_party(text, text, text, integer, text, text, text, bigint),
    api.update_party(bigint, integer, text, text, integer, text, text, text, bigint),
    api.grant_right(bigint, bigint, text, numeric, date, bigint, bigint),
    api.end_right(bigint, date, bigint),
    api.issue_certificate(text, text, date, text, bigint[], bigint, bigint),
    api.create_mutation(text, text, text),
    api.parcels_in_bbox(float8, float8, float8, float8, float8),
    api.sheets_in_bbox(float8, float8, float8, float8)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    api.update_parcel(bigint, integer, text, numeric, bigint),
    api.set_land_uses(bigint, integer, jsonb, bigint),
    api.create_party(text, text, text, integer, text, text, text, bigint),
    api.update_party(bigint, integer, text, text, integer, text, text, text, bigint),
    api.grant_right(bigint, bigint, text, numeric, date, bigint, bigint),
    api.end_right(bigint, date, bigint),
    api.issue_certificate(text, text, date, text, bigint[], bigint, bigint),
    api.create_mutation(text, text, text),
    api.parcels_in_bbox(float8, float8, float8, float8, float8),
    api.sheets_in_bbox(float8, float8, float8, float8)
TO lr_person;
