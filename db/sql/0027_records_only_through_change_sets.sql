-- Revision 0027: official cadastral records change only through an approved change set.
--
-- Regulation: "every change checked and approved before it is official", and security
-- lives in the database (psql and QGIS meet the same walls as the desktop client).
-- Issue 3 (0006) granted lr_person a direct write API: api.update_parcel, set_land_uses,
-- create_party, update_party, grant_right, end_right, issue_certificate. Issue 5 (0011,
-- 0016, 0024) made every one of those changes a change-set item applied by
-- api.approve_change_set, with the four-eyes rule. The direct functions were still
-- executable, so a cadastral editor with psql could change a parcel's area, purposes,
-- holders or certificates officially without anybody's approval.
--
-- 1. The seven direct writers become refusals. Nothing inside the database calls them
--    (the change-set functions write the tables themselves; the demo loader and bulk loads
--    run as the owner and use COPY), so their bodies are replaced by one RAISE with
--    SQLSTATE 42501 and a Vietnamese message naming the change-set function to use. They
--    are SECURITY INVOKER now: they hold none of the owner's privileges, so even a body
--    written back by mistake could not write a table (persons hold no table privilege,
--    tests/test_write_api.py sweeps every table for every lr_* role).
--    EXECUTE stays granted to lr_person on purpose: a person calling them from psql gets the
--    Vietnamese message that points to the change sets (0006's convention: refusals come
--    from the function, not PostgreSQL's generic "permission denied for function"). The
--    signatures stay so old scripts fail with that message rather than "function does not
--    exist".
-- 2. Correcting a person's or organisation's details (name, ID number after CMND → CCCD,
--    gender, birth year, address) is a change-set item: op 'party', drafted by
--    api.cs_draft_party, checked like api.update_party was (NFC names, ID formats, one
--    document per party, the area, the party's version), applied at approval.
--    The item touches no parcel (its parcel_ids are empty: a name correction is not a new
--    version of the person's parcels, and an organisation holding thousands of parcels would
--    otherwise go stale with every change to any of them). Its concurrency token is the
--    party's own version; the parcels the party holds a right in force on join
--    cad.mutation_parcel, so the change set is visible in, and must be approved from, their
--    communes.
--    Hooks chosen to stay independent of parallel migrations that may replace
--    api.approve_change_set or api.cs_remove_item: the approval applies party items from a
--    trigger on the change set's status change to 'da_duyet' (same transaction, same actor,
--    same landrec.change_set), and removing a party item cleans its area rows from a
--    trigger on cad.change_item. Validation wraps 0024's sys.cs_record_problems (renamed
--    sys.cs_record_problems_0024) and adds the party problems, so sys.cs_problems stays the
--    only validator.

------------------------------------------------------------------------------------------
-- 1. The direct writers refuse
------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION api.update_parcel(p_parcel_id bigint, p_expected_version integer,
                                             p_address text, p_area_legal numeric,
                                             p_mutation_id bigint DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'Thay đổi hồ sơ chính thức phải qua biến động được phê duyệt: hãy lập biến động (api.create_mutation), soạn thay đổi thuộc tính thửa đất bằng api.cs_draft_attributes, nộp và chờ người khác phê duyệt; api.update_parcel không còn ghi trực tiếp được'
        USING ERRCODE = '42501',
              HINT = 'Official records change only through an approved change set (docs/change-sets.md).';
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION api.set_land_uses(p_parcel_id bigint, p_expected_version integer,
                                             p_uses jsonb, p_mutation_id bigint DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'Thay đổi hồ sơ chính thức phải qua biến động được phê duyệt: hãy lập biến động (api.create_mutation), soạn mục đích sử dụng mới bằng api.cs_draft_attributes (land_uses), nộp và chờ người khác phê duyệt; api.set_land_uses không còn ghi trực tiếp được'
        USING ERRCODE = '42501',
              HINT = 'Official records change only through an approved change set (docs/change-sets.md).';
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION api.create_party(p_kind text, p_full_name text, p_gender text DEFAULT NULL,
                                            p_birth_year integer DEFAULT NULL,
                                            p_id_kind text DEFAULT NULL,
                                            p_id_number text DEFAULT NULL,
                                            p_address text DEFAULT NULL,
                                            p_mutation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'Thay đổi hồ sơ chính thức phải qua biến động được phê duyệt: hãy lập biến động (api.create_mutation), soạn người nhận quyền mới trong thay đổi chuyển quyền bằng api.cs_draft_rights, nộp và chờ người khác phê duyệt; api.create_party không còn ghi trực tiếp được'
        USING ERRCODE = '42501',
              HINT = 'Official records change only through an approved change set (docs/change-sets.md).';
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION api.update_party(p_party_id bigint, p_expected_version integer,
                                            p_full_name text DEFAULT NULL,
                                            p_gender text DEFAULT NULL,
                                            p_birth_year integer DEFAULT NULL,
                                            p_id_kind text DEFAULT NULL,
                                            p_id_number text DEFAULT NULL,
                                            p_address text DEFAULT NULL,
                                            p_mutation_id bigint DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'Thay đổi hồ sơ chính thức phải qua biến động được phê duyệt: hãy lập biến động (api.create_mutation), soạn thay đổi thông tin người sử dụng đất bằng api.cs_draft_party, nộp và chờ người khác phê duyệt; api.update_party không còn ghi trực tiếp được'
        USING ERRCODE = '42501',
              HINT = 'Official records change only through an approved change set (docs/change-sets.md).';
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION api.grant_right(p_parcel_id bigint, p_party_id bigint, p_kind text,
                                           p_share numeric DEFAULT 1,
                                           p_valid_from date DEFAULT NULL,
                                           p_certificate_id bigint DEFAULT NULL,
                                           p_mutation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'Thay đổi hồ sơ chính thức phải qua biến động được phê duyệt: hãy lập biến động (api.create_mutation), soạn thay đổi chuyển quyền bằng api.cs_draft_rights, nộp và chờ người khác phê duyệt; api.grant_right không còn ghi trực tiếp được'
        USING ERRCODE = '42501',
              HINT = 'Official records change only through an approved change set (docs/change-sets.md).';
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION api.end_right(p_right_id bigint, p_valid_to date DEFAULT NULL,
                                         p_mutation_id bigint DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'Thay đổi hồ sơ chính thức phải qua biến động được phê duyệt: hãy lập biến động (api.create_mutation), soạn thay đổi chuyển quyền bằng api.cs_draft_rights, nộp và chờ người khác phê duyệt; api.end_right không còn ghi trực tiếp được'
        USING ERRCODE = '42501',
              HINT = 'Official records change only through an approved change set (docs/change-sets.md).';
END
$fn$;

CREATE OR REPLACE FUNCTION api.issue_certificate(p_serial text, p_register_number text,
                                                 p_issued_on date, p_issuer text,
                                                 p_parcel_ids bigint[],
                                                 p_replaces bigint DEFAULT NULL,
                                                 p_mutation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RAISE EXCEPTION 'Thay đổi hồ sơ chính thức phải qua biến động được phê duyệt: hãy lập biến động (api.create_mutation), soạn giấy chứng nhận mới bằng api.cs_draft_certificate, nộp và chờ người khác phê duyệt; api.issue_certificate không còn ghi trực tiếp được'
        USING ERRCODE = '42501',
              HINT = 'Official records change only through an approved change set (docs/change-sets.md).';
    RETURN NULL;
END
$fn$;

------------------------------------------------------------------------------------------
-- 2. The party item
------------------------------------------------------------------------------------------
-- Add 'party' to the ops the check allows, keeping whatever ops a parallel migration added.
DO $do$
DECLARE
    v_def text;
BEGIN
    SELECT pg_get_constraintdef(c.oid) INTO v_def FROM pg_constraint c
    WHERE c.conrelid = 'cad.change_item'::regclass AND c.conname = 'change_item_op_check';
    IF v_def IS NULL OR v_def !~ 'ARRAY\[' THEN
        RAISE EXCEPTION 'cad.change_item: unexpected op check %', v_def;
    END IF;
    IF v_def !~ '''party''' THEN
        EXECUTE 'ALTER TABLE cad.change_item DROP CONSTRAINT change_item_op_check';
        EXECUTE 'ALTER TABLE cad.change_item ADD CONSTRAINT change_item_op_check '
                || regexp_replace(v_def, 'ARRAY\[', 'ARRAY[''party''::text, ');
    END IF;
END
$do$;
CREATE INDEX change_item_party_idx ON cad.change_item (((attributes ->> 'party_id')::bigint))
    WHERE op = 'party';

-- The parcels a party holds a right in force on, itself or through a household, couple or
-- group it belongs to: the area of a party correction.
CREATE FUNCTION sys.cs_party_parcels(p_party_id bigint) RETURNS TABLE (parcel_id bigint, commune_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT DISTINCT p.id, p.commune_id
    FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
    WHERE r.valid_to IS NULL AND p.retired_at IS NULL
      AND (r.party_id = p_party_id
           OR r.party_id IN (SELECT m.group_id FROM cad.party_member m WHERE m.member_id = p_party_id));
$fn$;

-- Field names in messages and the review.
CREATE FUNCTION sys.cs_party_field_label(p_field text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN CASE p_field WHEN 'full_name' THEN 'họ tên' WHEN 'gender' THEN 'giới tính'
                    WHEN 'birth_year' THEN 'năm sinh' WHEN 'id_kind' THEN 'loại giấy tờ'
                    WHEN 'id_number' THEN 'số giấy tờ' WHEN 'address' THEN 'địa chỉ'
                    ELSE p_field END;

-- The order fields are listed in.
CREATE FUNCTION sys.cs_party_field_order(p_field text) RETURNS integer
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN array_position(ARRAY['full_name', 'gender', 'birth_year', 'id_kind', 'id_number', 'address'],
                      p_field);

-- How a party is named in messages: "Chủ thể mã 12 (Nguyễn Văn An)".
CREATE FUNCTION sys.cs_party_label(p_party_id bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (SELECT format('Chủ thể mã %s (%s)', pa.id, pa.full_name) FROM cad.party pa
        WHERE pa.id = p_party_id);

-- NULL when the party is still at p_base; else the 40001 text naming the versions, who
-- changed it, when, in which change set and what (from the audit log).
CREATE FUNCTION sys.cs_party_conflict_text(p_party_id bigint, p_base integer) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.party;
    l record;
    v_what text;
    v_text text;
BEGIN
    SELECT * INTO v FROM cad.party WHERE id = p_party_id;
    IF NOT FOUND OR v.version = p_base THEN
        RETURN NULL;
    END IF;
    SELECT a.actor, a.logged_at, a.change_set, a.old_row, a.new_row INTO l
    FROM audit.log a
    WHERE a.table_name = 'cad.party' AND a.row_key = jsonb_build_object('id', p_party_id)
      AND a.action = 'UPDATE'
    ORDER BY a.id DESC LIMIT 1;
    v_text := format('%s đã thay đổi từ khi bạn bắt đầu soạn: phiên bản %s → %s',
                     sys.cs_party_label(p_party_id), p_base, v.version);
    IF FOUND THEN
        SELECT string_agg(format('%s «%s» → «%s»', sys.cs_party_field_label(k),
                                 coalesce(l.old_row ->> k, ''), coalesce(l.new_row ->> k, '')),
                          ', ' ORDER BY sys.cs_party_field_order(k))
        INTO v_what
        FROM jsonb_object_keys(l.new_row) k
        WHERE sys.cs_party_field_order(k) IS NOT NULL
          AND l.old_row -> k IS DISTINCT FROM l.new_row -> k;
        v_text := v_text || format(', do %s thực hiện lúc %s%s%s', l.actor,
            to_char(l.logged_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'HH24:MI DD/MM/YYYY'),
            CASE WHEN l.change_set IS NOT NULL THEN format(' (biến động số %s)', l.change_set) ELSE '' END,
            CASE WHEN v_what IS NOT NULL THEN ': ' || v_what ELSE '' END);
    END IF;
    RETURN v_text || '. Không có gì bị ghi đè: hãy tải lại thông tin người này và soạn lại thay đổi.';
END
$fn$;

-- Raise unless every commune where the party holds a right in force is in the caller's
-- area (the message names the commune). A party holding nothing is nobody's area.
CREATE FUNCTION sys.cs_require_party_area(p_party_id bigint) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_commune bigint;
BEGIN
    IF sys.sees_whole_province() THEN
        RETURN;
    END IF;
    FOR v_commune IN SELECT DISTINCT pp.commune_id FROM sys.cs_party_parcels(p_party_id) pp
                     ORDER BY 1 LOOP
        PERFORM sys.api_require_commune(v_commune, sys.cs_party_label(p_party_id));
    END LOOP;
END
$fn$;

-- Correct a person's or organisation's details: p_changes holds the fields to change
-- (full_name, gender, birth_year, id_kind + id_number, address; null = unchanged). Checked
-- like api.update_party was; only fields that differ from the record are stored, with
-- their values at drafting ("before") for the review.
CREATE FUNCTION api.cs_draft_party(p_mutation_id bigint, p_party_id bigint,
                                   p_base_version integer, p_changes jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.party;
    c jsonb;
    v_key text;
    v_text text;
    v_new jsonb := '{}';
    v_id text;
    v_address text;
    v_year integer;
    v_result jsonb;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    IF p_party_id IS NULL OR p_base_version IS NULL THEN
        RAISE EXCEPTION 'Thiếu mã chủ thể hoặc phiên bản của nó' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v FROM cad.party WHERE id = p_party_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có chủ thể mã %', p_party_id USING ERRCODE = '22023';
    END IF;
    PERFORM sys.cs_require_party_area(p_party_id);
    v_text := sys.cs_party_conflict_text(p_party_id, p_base_version);
    IF v_text IS NOT NULL THEN
        RAISE EXCEPTION '%', v_text USING ERRCODE = '40001';
    END IF;
    IF p_changes IS NULL OR jsonb_typeof(p_changes) <> 'object' THEN
        RAISE EXCEPTION 'Thông tin cần sửa phải là một đối tượng JSON' USING ERRCODE = '22023';
    END IF;
    c := jsonb_strip_nulls(p_changes);
    FOR v_key IN SELECT k FROM jsonb_object_keys(c) k LOOP
        IF sys.cs_party_field_order(v_key) IS NULL THEN
            RAISE EXCEPTION 'Thông tin «%» không được biết', left(v_key, 40)
                USING ERRCODE = '22023',
                      HINT = 'Fields: full_name, gender, birth_year, id_kind, id_number, address.';
        END IF;
    END LOOP;
    IF c = '{}' THEN
        RAISE EXCEPTION 'Không có gì để sửa' USING ERRCODE = '22023';
    END IF;
    IF c ? 'full_name' THEN
        v_new := v_new || jsonb_build_object('full_name',
                     sys.api_clean_name(c ->> 'full_name', 'Họ tên', v.kind = 'ca_nhan'));
    END IF;
    IF v.kind <> 'ca_nhan' AND (c ? 'gender' OR c ? 'birth_year') THEN
        RAISE EXCEPTION 'Giới tính và năm sinh chỉ ghi cho cá nhân' USING ERRCODE = '22023';
    END IF;
    IF c ? 'gender' THEN
        IF c ->> 'gender' NOT IN ('nam', 'nu') THEN
            RAISE EXCEPTION 'Giới tính phải là nam hoặc nu' USING ERRCODE = '22023';
        END IF;
        v_new := v_new || jsonb_build_object('gender', c ->> 'gender');
    END IF;
    IF c ? 'birth_year' THEN
        IF jsonb_typeof(c -> 'birth_year') <> 'number'
           OR (c -> 'birth_year')::numeric <> trunc((c -> 'birth_year')::numeric)
           OR NOT (c -> 'birth_year')::numeric BETWEEN 1880 AND extract(year FROM current_date) THEN
            RAISE EXCEPTION 'Năm sinh % không hợp lệ', left(c ->> 'birth_year', 20)
                USING ERRCODE = '22023';
        END IF;
        v_year := (c -> 'birth_year')::numeric::integer;
        v_new := v_new || jsonb_build_object('birth_year', v_year);
    END IF;
    IF c ? 'id_kind' OR c ? 'id_number' THEN
        v_id := sys.api_check_identity(v.kind, c ->> 'id_kind', c ->> 'id_number');
        PERFORM sys.api_identity_unused(c ->> 'id_kind', v_id, p_party_id);
        v_new := v_new || jsonb_build_object('id_kind', c ->> 'id_kind', 'id_number', v_id);
    END IF;
    IF c ? 'address' THEN
        v_address := sys.api_clean_address(c ->> 'address');
        IF v_address IS NULL THEN
            RAISE EXCEPTION 'Địa chỉ không được để trống' USING ERRCODE = '22023';
        END IF;
        v_new := v_new || jsonb_build_object('address', v_address);
    END IF;
    -- Keep what differs from the record.
    SELECT coalesce(jsonb_object_agg(n.key, n.value), '{}') INTO v_new
    FROM jsonb_each(v_new) n
    WHERE n.value IS DISTINCT FROM to_jsonb(v) -> n.key;
    IF v_new = '{}' THEN
        RAISE EXCEPTION 'Không có gì để sửa: thông tin mới giống hồ sơ hiện tại của %',
            sys.cs_party_label(p_party_id) USING ERRCODE = '22023';
    END IF;
    -- A document changes as a pair (CMND 9 digits → CCCD 12 digits).
    IF v_new ? 'id_kind' OR v_new ? 'id_number' THEN
        v_new := v_new || jsonb_build_object('id_kind', c ->> 'id_kind', 'id_number', v_id);
    END IF;
    IF EXISTS (SELECT 1 FROM cad.change_item i
               WHERE i.mutation_id = p_mutation_id AND i.op = 'party'
                 AND (i.attributes ->> 'party_id')::bigint = p_party_id) THEN
        RAISE EXCEPTION '% đã có một thay đổi thông tin trong biến động này; hãy xóa thay đổi đó trước',
            sys.cs_party_label(p_party_id) USING ERRCODE = '22023';
    END IF;
    v_result := sys.cs_record_item(p_mutation_id, 'party', '{}', '{}', jsonb_build_object(
        'party_id', p_party_id, 'base_version', p_base_version, 'party_kind', v.kind,
        'full_name', v.full_name, 'changes', v_new,
        'before', (SELECT jsonb_object_agg(k, to_jsonb(v) -> k) FROM jsonb_object_keys(v_new) k)));
    IF v_result ->> 'item_id' IS NOT NULL THEN
        -- The parties' parcels join the change set: the area rule shows it to their
        -- communes' approvers.
        INSERT INTO cad.mutation_parcel (mutation_id, parcel_id)
        SELECT p_mutation_id, pp.parcel_id FROM sys.cs_party_parcels(p_party_id) pp
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN v_result;
END
$fn$;

------------------------------------------------------------------------------------------
-- 3. Validation: 0024's record problems plus the party items
------------------------------------------------------------------------------------------
ALTER FUNCTION sys.cs_record_problems(bigint, bigint) RENAME TO cs_record_problems_0024;

CREATE FUNCTION sys.cs_record_problems(p_mutation_id bigint, p_item bigint DEFAULT NULL)
RETURNS TABLE (code text, message text, parcel_id bigint, item_id bigint, location public.geometry)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY SELECT * FROM sys.cs_record_problems_0024(p_mutation_id, p_item);
    RETURN QUERY
    WITH it AS (
        SELECT i.id, (i.attributes ->> 'party_id')::bigint AS party_id,
               (i.attributes ->> 'base_version')::integer AS base, i.attributes -> 'changes' AS c
        FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op = 'party'
    )
    SELECT 'VERSION_CONFLICT', t.text, NULL::bigint, it.id, NULL::public.geometry
    FROM it CROSS JOIN LATERAL (SELECT sys.cs_party_conflict_text(it.party_id, it.base) AS text) t
    WHERE t.text IS NOT NULL
    UNION ALL
    SELECT 'PARTY_IDENTITY',
           format('%s: số giấy tờ %s đã thuộc %s', sys.cs_party_label(it.party_id),
                  it.c ->> 'id_number', sys.cs_party_label(pa.id)),
           NULL::bigint, it.id, NULL::public.geometry
    FROM it JOIN cad.party pa ON pa.id_kind = it.c ->> 'id_kind'
     AND pa.id_number = it.c ->> 'id_number' AND pa.id <> it.party_id;
END
$fn$;

-- sys.cs_check_versions of 0011 (submit and approval: 40001 on the first stale item), now
-- also for the parties of party items.
CREATE OR REPLACE FUNCTION sys.cs_check_versions(p_mutation_id bigint) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_text text;
BEGIN
    SELECT t INTO v_text FROM (
        SELECT sys.cs_conflict_text(x.pid, x.base) AS t
        FROM cad.change_item i
        CROSS JOIN LATERAL unnest(i.parcel_ids, i.base_versions) AS x(pid, base)
        WHERE i.mutation_id = p_mutation_id
        ORDER BY i.id, x.pid) c
    WHERE t IS NOT NULL LIMIT 1;
    IF v_text IS NULL THEN
        SELECT sys.cs_party_conflict_text((i.attributes ->> 'party_id')::bigint,
                                          (i.attributes ->> 'base_version')::integer) INTO v_text
        FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND i.op = 'party'
          AND sys.cs_party_conflict_text((i.attributes ->> 'party_id')::bigint,
                                         (i.attributes ->> 'base_version')::integer) IS NOT NULL
        ORDER BY i.id LIMIT 1;
    END IF;
    IF v_text IS NOT NULL THEN
        RAISE EXCEPTION '%', v_text
            USING ERRCODE = '40001',
                  HINT = 'A record changed after this change set was drafted; reload and redraft.';
    END IF;
END
$fn$;

------------------------------------------------------------------------------------------
-- 4. Approval applies the party items; removing one cleans its area rows
------------------------------------------------------------------------------------------
-- Fired by api.approve_change_set's own status update, in its transaction: the approver is
-- session_user and landrec.change_set is set, so audit.log names both. Any refusal here
-- (stale party 40001, party outside the approver's area 42501, document taken 23505)
-- rolls the whole approval back.
CREATE FUNCTION sys.cs_apply_party_items() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    it cad.change_item;
    v cad.party;
    c jsonb;
    v_text text;
BEGIN
    FOR it IN SELECT * FROM cad.change_item
              WHERE mutation_id = NEW.id AND op = 'party'
              ORDER BY (attributes ->> 'party_id')::bigint LOOP
        SELECT * INTO v FROM cad.party WHERE id = (it.attributes ->> 'party_id')::bigint FOR UPDATE;
        v_text := sys.cs_party_conflict_text(v.id, (it.attributes ->> 'base_version')::integer);
        IF v_text IS NOT NULL THEN
            RAISE EXCEPTION '%', v_text USING ERRCODE = '40001';
        END IF;
        PERFORM sys.cs_require_party_area(v.id);
        c := it.attributes -> 'changes';
        IF c ? 'id_number' THEN
            PERFORM sys.api_identity_unused(c ->> 'id_kind', c ->> 'id_number', v.id);
        END IF;
        UPDATE cad.party
        SET full_name = coalesce(c ->> 'full_name', full_name),
            gender = coalesce(c ->> 'gender', gender),
            birth_year = coalesce((c ->> 'birth_year')::integer, birth_year),
            id_kind = coalesce(c ->> 'id_kind', id_kind),
            id_number = coalesce(c ->> 'id_number', id_number),
            address = coalesce(c ->> 'address', address),
            version = version + 1
        WHERE id = v.id;
    END LOOP;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER cs_apply_party_items AFTER UPDATE OF status ON cad.mutation
    FOR EACH ROW WHEN (NEW.status = 'da_duyet' AND OLD.status IS DISTINCT FROM 'da_duyet')
    EXECUTE FUNCTION sys.cs_apply_party_items();

-- A removed party item takes its parties' parcels out of the change set unless another
-- item still names them.
CREATE FUNCTION sys.cs_party_item_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    DELETE FROM cad.mutation_parcel mp
    WHERE mp.mutation_id = OLD.mutation_id
      AND mp.parcel_id IN (SELECT pp.parcel_id
                           FROM sys.cs_party_parcels((OLD.attributes ->> 'party_id')::bigint) pp)
      AND NOT EXISTS (SELECT 1 FROM cad.change_item i
                      WHERE i.mutation_id = OLD.mutation_id AND i.parcel_ids @> ARRAY[mp.parcel_id])
      AND NOT EXISTS (SELECT 1 FROM cad.change_item i
                      CROSS JOIN LATERAL sys.cs_party_parcels((i.attributes ->> 'party_id')::bigint) pp
                      WHERE i.mutation_id = OLD.mutation_id AND i.op = 'party'
                        AND pp.parcel_id = mp.parcel_id);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER cs_party_item_removed AFTER DELETE ON cad.change_item
    FOR EACH ROW WHEN (OLD.op = 'party') EXECUTE FUNCTION sys.cs_party_item_removed();

------------------------------------------------------------------------------------------
-- 5. Reading: the review of party items, ID numbers masked for viewers
------------------------------------------------------------------------------------------
-- {"<item id>": {party_id, party_kind, full_name, version, base_version,
--                fields: [{field, label, old, new}]}}; old = the record when drafted.
CREATE FUNCTION api.cs_party_review(p_mutation_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_read boolean;
BEGIN
    PERFORM sys.cs_require_visible(p_mutation_id);
    v_read := sys.may_read_personal_id();
    RETURN (
        SELECT coalesce(jsonb_object_agg(i.id::text, jsonb_build_object(
            'party_id', (i.attributes ->> 'party_id')::bigint,
            'party_kind', i.attributes ->> 'party_kind',
            'full_name', i.attributes ->> 'full_name',
            'version', pa.version,
            'base_version', (i.attributes ->> 'base_version')::integer,
            'fields', (
                SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'field', f.key, 'label', sys.cs_party_field_label(f.key),
                    'old', CASE WHEN f.key = 'id_number' AND NOT v_read
                                THEN to_jsonb(sys.mask_id_number(i.attributes -> 'before' ->> f.key))
                                ELSE i.attributes -> 'before' -> f.key END,
                    'new', CASE WHEN f.key = 'id_number' AND NOT v_read
                                THEN to_jsonb(sys.mask_id_number(f.value #>> '{}'))
                                ELSE f.value END)
                    ORDER BY sys.cs_party_field_order(f.key)), '[]')
                FROM jsonb_each(i.attributes -> 'changes') f))), '{}')
        FROM cad.change_item i
        LEFT JOIN cad.party pa ON pa.id = (i.attributes ->> 'party_id')::bigint
        WHERE i.mutation_id = p_mutation_id AND i.op = 'party');
END
$fn$;

-- sys.cs_item_attrs_for_reader of 0024, plus the party items' document numbers.
CREATE OR REPLACE FUNCTION sys.cs_item_attrs_for_reader(p_op text, p_attrs jsonb) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN p_op NOT IN ('rights', 'party') OR sys.may_read_personal_id() THEN p_attrs
    WHEN p_op = 'party' THEN p_attrs
        || CASE WHEN p_attrs -> 'changes' ? 'id_number' THEN jsonb_build_object('changes',
               jsonb_set(p_attrs -> 'changes', '{id_number}',
                         to_jsonb(sys.mask_id_number(p_attrs -> 'changes' ->> 'id_number'))))
                ELSE '{}' END
        || CASE WHEN p_attrs -> 'before' ? 'id_number'
                     AND p_attrs -> 'before' -> 'id_number' <> 'null' THEN jsonb_build_object('before',
               jsonb_set(p_attrs -> 'before', '{id_number}',
                         to_jsonb(sys.mask_id_number(p_attrs -> 'before' ->> 'id_number'))))
                ELSE '{}' END
    WHEN NOT p_attrs ? 'holders' THEN p_attrs
    ELSE jsonb_set(p_attrs, '{holders}', (
        SELECT coalesce(jsonb_agg(CASE WHEN h -> 'party' ? 'id_number'
                                       THEN jsonb_set(h, '{party,id_number}',
                                                      to_jsonb(sys.mask_id_number(h -> 'party' ->> 'id_number')))
                                       ELSE h END ORDER BY o), '[]')
        FROM jsonb_array_elements(p_attrs -> 'holders') WITH ORDINALITY AS x(h, o)))
    END;

------------------------------------------------------------------------------------------
-- 6. Who may call what
------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION
    sys.cs_party_parcels(bigint), sys.cs_party_field_label(text), sys.cs_party_field_order(text),
    sys.cs_party_label(bigint), sys.cs_party_conflict_text(bigint, integer),
    sys.cs_require_party_area(bigint), sys.cs_record_problems(bigint, bigint),
    sys.cs_apply_party_items(), sys.cs_party_item_removed()
FROM PUBLIC;
REVOKE ALL ON FUNCTION api.cs_draft_party(bigint, bigint, integer, jsonb),
    api.cs_party_review(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.cs_draft_party(bigint, bigint, integer, jsonb),
    api.cs_party_review(bigint) TO lr_person;
