-- Revision 0029: finding persons in the database, and household / couple members as a
-- change-set item.
--
-- 1. api.search_parties(text, limit): persons and organisations by name without diacritics
--    (cad.party.name_folded: prefix on the btree of 0009, then words in order anywhere in
--    the name on the trigram index of 0001) or by document number (exact, audited like
--    api.search). One call = one round trip: each hit carries kind, name, document (masked
--    unless sys.may_read_personal_id()), birth year, gender, address, version, the
--    parcels it holds and, for a household / couple / community, its members. Visibility is the rule of the cad.party policy (sys.area_party):
--    a party who holds or has held a right on a parcel of the caller's communes, itself or
--    through a household / couple / group it belongs to; whole-province accounts see all.
--    A party with no right at all is in nobody's area, and that is sound: since 0027 a
--    party is only created by an approved transfer (it then holds the right) or as a member
--    of a household that holds one (section 2), so every party has held a right somewhere.
-- 2. Members of a 'ho_gia_dinh' / 'vo_chong' / 'cong_dong' party (cad.party_member) as a
--    change-set item, op 'party_members', drafted by api.cs_draft_party_members: the whole
--    member list after the change (existing parties or new persons cleaned by 0024's
--    sys.cs_clean_party), checked (a couple has exactly two members, at most one chủ hộ,
--    no group in itself, no one twice, members are persons), applied at approval. A
--    separate op rather than a key of the 'party' item: the member list is a set of rows
--    of another table, reviewed as before → after lists, and 0027's api.cs_draft_party
--    stays untouched. Both items share the group's version as their token: the members
--    trigger runs before 0027's party trigger (trigger names sort 'cs_apply_members' <
--    'cs_apply_party_items') and bumps the version only when the set has no party item
--    for the same group, so a set correcting the name and the members of a household
--    makes one new version. cad.party_member is audited since 0005 (audit.attach_all over
--    schema cad): every added, removed or re-roled member is in audit.log with the
--    approver and the change set.

------------------------------------------------------------------------------------------
-- 1. Party search
------------------------------------------------------------------------------------------
CREATE INDEX IF NOT EXISTS party_name_trgm_idx ON cad.party USING gin (name_folded public.gin_trgm_ops);
CREATE INDEX IF NOT EXISTS party_id_number_idx ON cad.party (id_number) WHERE id_number IS NOT NULL;

-- The parcels a party holds a right in force on, in the caller's area.
CREATE FUNCTION sys.party_search_parcels(p_party_id bigint, p_whole boolean, p_units bigint[])
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    WITH hp AS (
        SELECT DISTINCT p.id, p.commune_id, p.sheet_id, p.parcel_number
        FROM (SELECT r.parcel_id FROM cad.land_right r
              WHERE r.party_id = p_party_id AND r.valid_to IS NULL
              UNION ALL
              SELECT r.parcel_id FROM cad.party_member m
              JOIN cad.land_right r ON r.party_id = m.group_id
              WHERE m.member_id = p_party_id AND r.valid_to IS NULL) rr
        JOIN cad.parcel p ON p.id = rr.parcel_id
        WHERE p.retired_at IS NULL AND (p_whole OR p.commune_id = ANY (p_units)))
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM hp),
        'list', coalesce((SELECT jsonb_agg(j ORDER BY code, sheet, num) FROM (
            SELECT jsonb_build_object('parcel_id', hp.id, 'commune', u.name,
                                      'commune_code', u.code, 'sheet', s.sheet_number,
                                      'parcel', hp.parcel_number) AS j,
                   u.code, s.sheet_number AS sheet, hp.parcel_number AS num
            FROM hp JOIN cad.map_sheet s ON s.id = hp.sheet_id
            JOIN ref.admin_unit u ON u.id = hp.commune_id
            ORDER BY u.code, s.sheet_number, hp.parcel_number LIMIT 20) x), '[]'));
$fn$;

-- Whether a party holds or has held a right on a parcel of the communes (itself or through
-- a household, couple or group): sys.area_party for one party. PL/pgSQL on purpose: never
-- inlined, so a walk of the name index probes per person (a few index lookups) and stops
-- at the limit, where the planner would otherwise hash the whole area of a big commune
-- (measured: 0.75 s for a 136 000-parcel commune).
CREATE FUNCTION sys.party_in_units(p_party_id bigint, p_units bigint[]) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN EXISTS (SELECT 1 FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
                   WHERE r.party_id = p_party_id AND p.commune_id = ANY (p_units))
        OR EXISTS (SELECT 1 FROM cad.party_member m
                   JOIN cad.land_right r ON r.party_id = m.group_id
                   JOIN cad.parcel p ON p.id = r.parcel_id
                   WHERE m.member_id = p_party_id AND p.commune_id = ANY (p_units));
END
$fn$;

CREATE FUNCTION api.search_parties(p_text text, p_limit integer DEFAULT 20)
RETURNS TABLE (party_id bigint, kind text, full_name text, id_kind text, id_number text,
               birth_year integer, gender text, address text, version integer,
               parcels jsonb, parcel_count integer, members jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
ROWS 20 AS $fn$
#variable_conflict use_column
DECLARE
    v_text text := btrim(regexp_replace(coalesce(p_text, ''), '\s+', ' ', 'g'));
    v_limit integer := least(greatest(coalesce(p_limit, 20), 1), 100);
    v_compact text;
    v_folded text;
    v_prefix text;
    v_words text;
    v_whole boolean;
    v_small boolean;
    v_units bigint[];
    v_read boolean;
    v_ids bigint[] := '{}';
    v_more bigint[];
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    IF length(v_text) < 2 THEN
        RETURN;
    END IF;
    IF length(v_text) > 200 THEN
        RAISE EXCEPTION 'Chuỗi tìm kiếm quá dài (tối đa 200 ký tự)' USING ERRCODE = '22023';
    END IF;
    v_whole := sys.sees_whole_province();
    v_units := CASE WHEN v_whole THEN '{}'::bigint[] ELSE sys.my_units() END;
    v_read := sys.may_read_personal_id();
    v_compact := upper(replace(v_text, ' ', ''));

    IF v_compact ~ '^[0-9A-Z-]{6,16}$' AND v_compact ~ '[0-9]' THEN
        -- A document number (CMND 9, CCCD 12, tax code 10 or 10-3, passport; names hold no digit):
        -- exact. Who holds a document is personal data: audited as in api.search.
        SELECT coalesce(array_agg(pa.id ORDER BY pa.id), '{}') INTO v_ids
        FROM cad.party pa
        WHERE pa.id_number = v_compact
          AND (v_whole OR sys.party_in_units(pa.id, v_units));
        PERFORM audit.log_event('READ_PERSONAL_ID', 'search_parties',
            jsonb_build_object('id_number', sys.mask_id_number(v_compact),
                               'party_ids', to_jsonb(v_ids)));
    ELSE
        -- A name: letters, digits and spaces of the folded text (LIKE's % and _ dropped).
        v_folded := btrim(regexp_replace(regexp_replace(ref.fold_vi(v_text), '[^a-z0-9 ]', '', 'g'),
                                         ' +', ' ', 'g'));
        IF length(v_folded) < 2 THEN
            RETURN;
        END IF;
        v_prefix := v_folded || '%';
        v_words := '%' || replace(v_folded, ' ', '%') || '%';
        -- A small area (under 20 000 parcels, api.search's rule) is read whole: its
        -- persons filtered by name cost less than walking the province's namesakes.
        v_small := NOT v_whole AND (SELECT count(*) FROM (
            SELECT 1 FROM cad.parcel p WHERE p.commune_id = ANY (v_units) LIMIT 20000) s) < 20000;
        IF v_small THEN
            -- The area's persons as an array, then each read by key and its name tested
            -- (a join the planner would answer from the trigram index, reading the
            -- province's namesakes: 47 ms for "nguyen thi hong" in 672 parcels).
            SELECT coalesce(array_agg(DISTINCT x.party_id), '{}') INTO v_more FROM (
                SELECT r.party_id FROM cad.land_right r JOIN cad.parcel p ON p.id = r.parcel_id
                WHERE p.commune_id = ANY (v_units)
                UNION ALL
                SELECT m.member_id FROM cad.party_member m
                JOIN cad.land_right r ON r.party_id = m.group_id JOIN cad.parcel p ON p.id = r.parcel_id
                WHERE p.commune_id = ANY (v_units)) x;
            SELECT coalesce(array_agg(x.id ORDER BY x.starts DESC, x.name_folded, x.id), '{}') INTO v_ids
            FROM (SELECT pa.id, pa.name_folded, pa.name_folded LIKE v_prefix AS starts
                  FROM unnest(v_more) AS a(id) JOIN cad.party pa ON pa.id = a.id
                  WHERE (pa.name_folded || '') LIKE v_words
                    AND (pa.name_folded LIKE v_prefix OR length(v_folded) >= 3)
                  ORDER BY 3 DESC, 2, 1 LIMIT v_limit) x;
        ELSE
            -- First names starting with the text, in name order: the text_pattern_ops
            -- btree of 0009 walked in its order (~<~, bounds spelled out so that a generic
            -- plan uses it too) and stopped at the limit; then names holding the words in
            -- order anywhere ("thi hong" finds Nguyễn Thị Hồng), from the trigram index.
            SELECT coalesce(array_agg(x.id), '{}') INTO v_ids FROM (
                SELECT pa.id FROM cad.party pa
                WHERE pa.name_folded ~>=~ v_folded AND pa.name_folded ~<~ (v_folded || '{')
                  AND (pa.name_folded || '') LIKE v_prefix  -- not the trigram index: in order
                  AND (v_whole OR sys.party_in_units(pa.id, v_units))
                ORDER BY pa.name_folded USING ~<~
                LIMIT v_limit) x;
            IF cardinality(v_ids) < v_limit AND length(v_folded) >= 3 THEN
                SELECT coalesce(array_agg(x.id), '{}') INTO v_more FROM (
                    SELECT pa.id FROM cad.party pa
                    WHERE pa.name_folded LIKE v_words AND pa.name_folded NOT LIKE v_prefix
                      AND (v_whole OR sys.party_in_units(pa.id, v_units))
                    LIMIT v_limit - cardinality(v_ids)) x;
                v_ids := v_ids || v_more;
            END IF;
        END IF;
    END IF;

    RETURN QUERY
    SELECT pa.id, pa.kind, pa.full_name, pa.id_kind,
           CASE WHEN v_read THEN pa.id_number ELSE sys.mask_id_number(pa.id_number) END,
           pa.birth_year, pa.gender, pa.address, pa.version,
           hp.j -> 'list', (hp.j ->> 'count')::integer,
           -- A household's, couple's or community's members (the form edits them).
           CASE WHEN pa.kind IN ('ho_gia_dinh', 'vo_chong', 'cong_dong') THEN (
               SELECT coalesce(jsonb_agg(sys.cs_member_json(m.member_id, v_read)
                                         || jsonb_build_object('role', m.role)
                                         ORDER BY m.member_id), '[]')
               FROM cad.party_member m WHERE m.group_id = pa.id) END
    FROM unnest(v_ids) WITH ORDINALITY AS u(id, o)
    JOIN cad.party pa ON pa.id = u.id
    CROSS JOIN LATERAL sys.party_search_parcels(pa.id, v_whole, v_units) AS hp(j)
    ORDER BY u.o;
END
$fn$;

------------------------------------------------------------------------------------------
-- 2. The members item
------------------------------------------------------------------------------------------
DO $do$
DECLARE
    v_def text;
BEGIN
    SELECT pg_get_constraintdef(c.oid) INTO v_def FROM pg_constraint c
    WHERE c.conrelid = 'cad.change_item'::regclass AND c.conname = 'change_item_op_check';
    IF v_def IS NULL OR v_def !~ 'ARRAY\[' THEN
        RAISE EXCEPTION 'cad.change_item: unexpected op check %', v_def;
    END IF;
    IF v_def !~ '''party_members''' THEN
        EXECUTE 'ALTER TABLE cad.change_item DROP CONSTRAINT change_item_op_check';
        EXECUTE 'ALTER TABLE cad.change_item ADD CONSTRAINT change_item_op_check '
                || regexp_replace(v_def, 'ARRAY\[', 'ARRAY[''party_members''::text, ');
    END IF;
END
$do$;
CREATE INDEX change_item_members_idx ON cad.change_item (((attributes ->> 'party_id')::bigint))
    WHERE op = 'party_members';

-- The roles a member may have (as the records write them).
CREATE FUNCTION sys.cs_member_roles() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN ARRAY['chủ hộ', 'vợ', 'chồng', 'con', 'thành viên'];

-- A member as the review and messages show it.
CREATE FUNCTION sys.cs_member_json(p_party_id bigint, p_read boolean) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (SELECT jsonb_build_object('party_id', pa.id, 'full_name', pa.full_name,
                                  'birth_year', pa.birth_year, 'id_kind', pa.id_kind,
                                  'id_number', CASE WHEN p_read THEN pa.id_number
                                                    ELSE sys.mask_id_number(pa.id_number) END)
        FROM cad.party pa WHERE pa.id = p_party_id);

-- Set the members of a household, couple or community: p_members is the whole list after
-- the change, [{party_id | party: {NewParty}, role}]. Form errors raise 22023.
CREATE FUNCTION api.cs_draft_party_members(p_mutation_id bigint, p_party_id bigint,
                                           p_base_version integer, p_members jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.party;
    m jsonb;
    v_o integer := 0;
    v_what text;
    v_role text;
    v_member bigint;
    v_kind text;
    v_clean jsonb;
    v_out jsonb := '[]';
    v_keys text[] := '{}';
    v_key text;
    v_heads integer := 0;
    v_text text;
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
    IF v.kind NOT IN ('ho_gia_dinh', 'vo_chong', 'cong_dong') THEN
        RAISE EXCEPTION '% không phải hộ gia đình, vợ chồng hay cộng đồng dân cư: không có thành viên',
            sys.cs_party_label(p_party_id) USING ERRCODE = '22023';
    END IF;
    PERFORM sys.cs_require_party_area(p_party_id);
    v_text := sys.cs_party_conflict_text(p_party_id, p_base_version);
    IF v_text IS NOT NULL THEN
        RAISE EXCEPTION '%', v_text USING ERRCODE = '40001';
    END IF;
    IF p_members IS NULL OR jsonb_typeof(p_members) <> 'array'
       OR jsonb_array_length(p_members) NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'Danh sách thành viên cần từ 1 đến 50 người' USING ERRCODE = '22023';
    END IF;
    IF v.kind = 'vo_chong' AND jsonb_array_length(p_members) <> 2 THEN
        RAISE EXCEPTION 'Vợ chồng phải có đúng hai thành viên (danh sách có % người)',
            jsonb_array_length(p_members) USING ERRCODE = '22023';
    END IF;
    FOR m IN SELECT x FROM jsonb_array_elements(p_members) x LOOP
        v_o := v_o + 1;
        v_what := format('Thành viên thứ %s', v_o);
        IF jsonb_typeof(m) <> 'object' OR (m ? 'party_id') = (m ? 'party') THEN
            RAISE EXCEPTION '%: cần mã chủ thể đã có (party_id) hoặc thông tin người mới (party), một trong hai',
                v_what USING ERRCODE = '22023';
        END IF;
        v_role := normalize(btrim(coalesce(m ->> 'role', '')), NFC);
        IF NOT v_role = ANY (sys.cs_member_roles()) THEN
            RAISE EXCEPTION '%: vai trò «%» không hợp lệ (chủ hộ, vợ, chồng, con, thành viên)',
                v_what, left(v_role, 40) USING ERRCODE = '22023';
        END IF;
        IF v_role = 'chủ hộ' THEN
            v_heads := v_heads + 1;
        END IF;
        IF m ? 'party_id' THEN
            IF jsonb_typeof(m -> 'party_id') <> 'number'
               OR (m -> 'party_id')::numeric <> trunc((m -> 'party_id')::numeric)
               OR (m -> 'party_id')::numeric NOT BETWEEN 1 AND 9e18 THEN
                RAISE EXCEPTION '%: mã chủ thể phải là một số nguyên dương', v_what
                    USING ERRCODE = '22023';
            END IF;
            v_clean := jsonb_build_object('party_id', (m -> 'party_id')::numeric::bigint);
        ELSE
            IF m -> 'party' ->> 'kind' IS DISTINCT FROM 'ca_nhan' THEN
                RAISE EXCEPTION '%: thành viên mới phải là cá nhân', v_what USING ERRCODE = '22023';
            END IF;
            v_clean := sys.cs_clean_party(m -> 'party', v_what);
        END IF;
        IF v_clean ? 'party_id' THEN
            v_member := (v_clean ->> 'party_id')::bigint;
            IF v_member = p_party_id THEN
                RAISE EXCEPTION '%: % không thể là thành viên của chính nó', v_what,
                    sys.cs_party_label(p_party_id) USING ERRCODE = '22023';
            END IF;
            SELECT pa.kind INTO v_kind FROM cad.party pa WHERE pa.id = v_member;
            IF NOT FOUND THEN
                RAISE EXCEPTION '%: không có chủ thể mã %', v_what, v_member USING ERRCODE = '22023';
            END IF;
            IF v_kind <> 'ca_nhan' THEN
                RAISE EXCEPTION '%: % không phải cá nhân; thành viên phải là người', v_what,
                    sys.cs_party_label(v_member) USING ERRCODE = '22023';
            END IF;
            -- The same visibility as the search: a person of the caller's area (a document
            -- already known reuses its person unseen, as 0024's transfers do).
            IF m ? 'party_id' AND NOT sys.sees_whole_province()
               AND NOT EXISTS (SELECT 1 FROM sys.area_party a WHERE a.party_id = v_member) THEN
                RAISE EXCEPTION '%: chủ thể mã % không thuộc địa bàn của bạn', v_what, v_member
                    USING ERRCODE = '42501';
            END IF;
            v_key := v_member::text;
        ELSE
            v_key := sys.cs_holder_key(v_clean);
        END IF;
        IF v_key = ANY (v_keys) THEN
            RAISE EXCEPTION '%: người này đã có trong danh sách thành viên', v_what
                USING ERRCODE = '22023';
        END IF;
        v_keys := v_keys || v_key;
        v_out := v_out || (v_clean || jsonb_build_object('role', v_role));
    END LOOP;
    IF v_heads > 1 THEN
        RAISE EXCEPTION 'Chỉ được có một chủ hộ (danh sách có %)', v_heads USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM cad.change_item i
               WHERE i.mutation_id = p_mutation_id AND i.op = 'party_members'
                 AND (i.attributes ->> 'party_id')::bigint = p_party_id) THEN
        RAISE EXCEPTION '% đã có một thay đổi thành viên trong biến động này; hãy xóa thay đổi đó trước',
            sys.cs_party_label(p_party_id) USING ERRCODE = '22023';
    END IF;
    IF (SELECT coalesce(jsonb_agg(jsonb_build_object('party_id', x ->> 'party_id', 'role', x ->> 'role')
                                  ORDER BY x ->> 'party_id'), '[]')
        FROM jsonb_array_elements(v_out) x)
       = (SELECT coalesce(jsonb_agg(jsonb_build_object('party_id', pm.member_id::text, 'role', pm.role)
                                    ORDER BY pm.member_id::text), '[]')
          FROM cad.party_member pm WHERE pm.group_id = p_party_id) THEN
        RAISE EXCEPTION 'Không có gì để sửa: danh sách thành viên giống hồ sơ hiện tại của %',
            sys.cs_party_label(p_party_id) USING ERRCODE = '22023';
    END IF;
    v_result := sys.cs_record_item(p_mutation_id, 'party_members', '{}', '{}', jsonb_build_object(
        'party_id', p_party_id, 'base_version', p_base_version, 'party_kind', v.kind,
        'full_name', v.full_name, 'members', v_out,
        'before', (SELECT coalesce(jsonb_agg(jsonb_build_object('party_id', pm.member_id,
                                                                'role', pm.role)
                                             ORDER BY pm.member_id), '[]')
                   FROM cad.party_member pm WHERE pm.group_id = p_party_id)));
    IF v_result ->> 'item_id' IS NOT NULL THEN
        INSERT INTO cad.mutation_parcel (mutation_id, parcel_id)
        SELECT p_mutation_id, pp.parcel_id FROM sys.cs_party_parcels(p_party_id) pp
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN v_result;
END
$fn$;

-- Validation: 0027's problems plus the members items (stale group, a member gone, a new
-- member's document given to someone else meanwhile).
ALTER FUNCTION sys.cs_record_problems(bigint, bigint) RENAME TO cs_record_problems_0027;

CREATE FUNCTION sys.cs_record_problems(p_mutation_id bigint, p_item bigint DEFAULT NULL)
RETURNS TABLE (code text, message text, parcel_id bigint, item_id bigint, location public.geometry)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY SELECT * FROM sys.cs_record_problems_0027(p_mutation_id, p_item);
    RETURN QUERY
    WITH it AS (
        SELECT i.id, (i.attributes ->> 'party_id')::bigint AS party_id,
               (i.attributes ->> 'base_version')::integer AS base, i.attributes -> 'members' AS ms
        FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op = 'party_members'
    )
    SELECT 'VERSION_CONFLICT', t.text, NULL::bigint, it.id, NULL::public.geometry
    FROM it CROSS JOIN LATERAL (SELECT sys.cs_party_conflict_text(it.party_id, it.base) AS text) t
    WHERE t.text IS NOT NULL
      -- a party item of the same group reports the same conflict already
      AND NOT EXISTS (SELECT 1 FROM cad.change_item i2
                      WHERE i2.mutation_id = p_mutation_id AND i2.op = 'party'
                        AND (i2.attributes ->> 'party_id')::bigint = it.party_id)
    UNION ALL
    SELECT 'MEMBER_PARTY', format('%s: thành viên mã %s không còn trong hồ sơ',
                                  sys.cs_party_label(it.party_id), m ->> 'party_id'),
           NULL::bigint, it.id, NULL::public.geometry
    FROM it CROSS JOIN LATERAL jsonb_array_elements(it.ms) m
    WHERE m ? 'party_id'
      AND NOT EXISTS (SELECT 1 FROM cad.party pa WHERE pa.id = (m ->> 'party_id')::bigint);
END
$fn$;

-- Submit and approval check the groups' versions too (0027's function, both ops).
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
        WHERE i.mutation_id = p_mutation_id AND i.op IN ('party', 'party_members')
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

-- Approval: runs before cs_apply_party_items (name order), in api.approve_change_set's
-- transaction. The member list is made equal to the item's: removed members deleted,
-- changed roles updated, new members inserted (new persons created, or the one already
-- holding the document). Each row change is in audit.log (zz_audit on cad.party_member).
CREATE FUNCTION sys.cs_apply_members() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    it cad.change_item;
    v cad.party;
    m jsonb;
    v_text text;
    v_member bigint;
    v_keep bigint[];
BEGIN
    FOR it IN SELECT * FROM cad.change_item
              WHERE mutation_id = NEW.id AND op = 'party_members'
              ORDER BY (attributes ->> 'party_id')::bigint LOOP
        SELECT * INTO v FROM cad.party WHERE id = (it.attributes ->> 'party_id')::bigint FOR UPDATE;
        v_text := sys.cs_party_conflict_text(v.id, (it.attributes ->> 'base_version')::integer);
        IF v_text IS NOT NULL THEN
            RAISE EXCEPTION '%', v_text USING ERRCODE = '40001';
        END IF;
        PERFORM sys.cs_require_party_area(v.id);
        v_keep := '{}';
        FOR m IN SELECT x FROM jsonb_array_elements(it.attributes -> 'members') x LOOP
            v_member := sys.cs_holder_party(m);
            IF v_member = v.id THEN
                RAISE EXCEPTION '% không thể là thành viên của chính nó', sys.cs_party_label(v.id)
                    USING ERRCODE = '22023';
            END IF;
            IF v_member = ANY (v_keep) THEN
                RAISE EXCEPTION '%: một người có hai lần trong danh sách thành viên',
                    sys.cs_party_label(v.id) USING ERRCODE = '22023';
            END IF;
            v_keep := v_keep || v_member;
            INSERT INTO cad.party_member (group_id, member_id, role)
            VALUES (v.id, v_member, m ->> 'role')
            ON CONFLICT (group_id, member_id) DO UPDATE SET role = EXCLUDED.role
            WHERE cad.party_member.role IS DISTINCT FROM EXCLUDED.role;
        END LOOP;
        DELETE FROM cad.party_member pm WHERE pm.group_id = v.id AND pm.member_id <> ALL (v_keep);
        IF NOT EXISTS (SELECT 1 FROM cad.change_item i
                       WHERE i.mutation_id = NEW.id AND i.op = 'party'
                         AND (i.attributes ->> 'party_id')::bigint = v.id) THEN
            UPDATE cad.party SET version = version + 1 WHERE id = v.id;
        END IF;
    END LOOP;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER cs_apply_members AFTER UPDATE OF status ON cad.mutation
    FOR EACH ROW WHEN (NEW.status = 'da_duyet' AND OLD.status IS DISTINCT FROM 'da_duyet')
    EXECUTE FUNCTION sys.cs_apply_members();

-- Removing a party or members item: 0027's cleanup, counting both ops as still naming
-- the party's parcels.
CREATE OR REPLACE FUNCTION sys.cs_party_item_removed() RETURNS trigger
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
                      WHERE i.mutation_id = OLD.mutation_id AND i.op IN ('party', 'party_members')
                        AND pp.parcel_id = mp.parcel_id);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER cs_members_item_removed AFTER DELETE ON cad.change_item
    FOR EACH ROW WHEN (OLD.op = 'party_members') EXECUTE FUNCTION sys.cs_party_item_removed();

-- Review: {"<item id>": {party_id, party_kind, full_name, version, base_version,
-- before: [member], after: [member + new]}}; member = {party_id, full_name, birth_year,
-- id_kind, id_number (masked for viewers), role}; new persons have party_id null, new true.
CREATE FUNCTION api.cs_members_review(p_mutation_id bigint) RETURNS jsonb
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
            'before', (SELECT coalesce(jsonb_agg(
                           coalesce(sys.cs_member_json((b ->> 'party_id')::bigint, v_read), '{}')
                           || jsonb_build_object('party_id', (b ->> 'party_id')::bigint,
                                                 'role', b ->> 'role') ORDER BY o), '[]')
                       FROM jsonb_array_elements(i.attributes -> 'before') WITH ORDINALITY x(b, o)),
            'after', (SELECT coalesce(jsonb_agg(
                          CASE WHEN m ? 'party_id'
                               THEN coalesce(sys.cs_member_json((m ->> 'party_id')::bigint, v_read), '{}')
                                    || jsonb_build_object('party_id', (m ->> 'party_id')::bigint,
                                                          'new', false)
                               ELSE jsonb_build_object(
                                    'party_id', NULL, 'new', true,
                                    'full_name', m -> 'party' ->> 'full_name',
                                    'birth_year', (m -> 'party' ->> 'birth_year')::integer,
                                    'id_kind', m -> 'party' ->> 'id_kind',
                                    'id_number', CASE WHEN v_read THEN m -> 'party' ->> 'id_number'
                                                      ELSE sys.mask_id_number(m -> 'party' ->> 'id_number') END)
                          END || jsonb_build_object('role', m ->> 'role') ORDER BY o), '[]')
                      FROM jsonb_array_elements(i.attributes -> 'members') WITH ORDINALITY x(m, o)))), '{}')
        FROM cad.change_item i
        LEFT JOIN cad.party pa ON pa.id = (i.attributes ->> 'party_id')::bigint
        WHERE i.mutation_id = p_mutation_id AND i.op = 'party_members');
END
$fn$;

-- The item's attributes for readers: 0027's function (transfers' holders and party
-- corrections masked for viewers) plus the new members' document numbers. Replaced in
-- place, not renamed and wrapped: sys.cs_json is a SQL-standard body, bound to this
-- function's OID, so a renamed old one would keep being called.
CREATE OR REPLACE FUNCTION sys.cs_item_attrs_for_reader(p_op text, p_attrs jsonb) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN p_op NOT IN ('rights', 'party', 'party_members') OR sys.may_read_personal_id() THEN p_attrs
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
    WHEN p_op = 'party_members' THEN CASE WHEN NOT p_attrs ? 'members' THEN p_attrs
        ELSE jsonb_set(p_attrs, '{members}', (
            SELECT coalesce(jsonb_agg(CASE WHEN m -> 'party' ? 'id_number'
                                           THEN jsonb_set(m, '{party,id_number}',
                                                          to_jsonb(sys.mask_id_number(m -> 'party' ->> 'id_number')))
                                           ELSE m END ORDER BY o), '[]')
            FROM jsonb_array_elements(p_attrs -> 'members') WITH ORDINALITY AS x(m, o))) END
    WHEN NOT p_attrs ? 'holders' THEN p_attrs
    ELSE jsonb_set(p_attrs, '{holders}', (
        SELECT coalesce(jsonb_agg(CASE WHEN h -> 'party' ? 'id_number'
                                       THEN jsonb_set(h, '{party,id_number}',
                                                      to_jsonb(sys.mask_id_number(h -> 'party' ->> 'id_number')))
                                       ELSE h END ORDER BY o), '[]')
        FROM jsonb_array_elements(p_attrs -> 'holders') WITH ORDINALITY AS x(h, o)))
    END;

------------------------------------------------------------------------------------------
-- 3. Who may call what
------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION sys.party_search_parcels(bigint, boolean, bigint[]),
    sys.party_in_units(bigint, bigint[]),
    sys.cs_member_roles(), sys.cs_member_json(bigint, boolean),
    sys.cs_record_problems(bigint, bigint), sys.cs_apply_members(),
    sys.cs_item_attrs_for_reader(text, jsonb)
FROM PUBLIC;
REVOKE ALL ON FUNCTION api.search_parties(text, integer),
    api.cs_draft_party_members(bigint, bigint, integer, jsonb),
    api.cs_members_review(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.search_parties(text, integer),
    api.cs_draft_party_members(bigint, bigint, integer, jsonb),
    api.cs_members_review(bigint) TO lr_person;
