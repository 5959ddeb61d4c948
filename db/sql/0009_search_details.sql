-- 0009: search and the parcel panel (issue 4).
--
-- Everything here is read through SECURITY DEFINER functions that apply the area rule
-- themselves: under RLS a LIKE / trigram predicate is not leakproof, so PostgreSQL would
-- run the policy over every person of the province first (5 s for a commune officer,
-- docs/security-rls.md). Each function checks the right, then runs one indexed query.
-- See docs/search.md for the choices and the measured times.

CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;  -- levenshtein() for typo correction

------------------------------------------------------------------------------------------
-- 1. Indexes
------------------------------------------------------------------------------------------
-- Names by prefix in folded order (the database collation is C, text_pattern_ops makes it
-- independent of that): "nguyen van an" is a short range scan, where the trigram GIN
-- index has to intersect posting lists of 700 000 rows for "ngu", "guy", "uye" (140 ms).
CREATE INDEX IF NOT EXISTS party_name_folded_prefix_idx
    ON cad.party (name_folded text_pattern_ops);
-- ID number typed alone (the unique index leads with id_kind).
CREATE INDEX IF NOT EXISTS party_id_number_idx ON cad.party (id_number)
    WHERE id_number IS NOT NULL;
-- Certificate serial typed without the space or in lower case: "cs123456".
CREATE INDEX IF NOT EXISTS certificate_serial_compact_idx
    ON cad.certificate (replace(serial, ' ', ''));
-- Address fragments: folded, trigram.
CREATE INDEX IF NOT EXISTS parcel_address_folded_trgm_idx
    ON cad.parcel USING gin (ref.fold_vi(address) gin_trgm_ops) WHERE retired_at IS NULL;
-- National parcel ID of any parcel (the unique index covers current parcels only).
CREATE INDEX IF NOT EXISTS parcel_national_id_idx ON cad.parcel (national_id);
-- Parcel key of any parcel, retired ones too (the unique key index is partial).
CREATE INDEX IF NOT EXISTS parcel_sheet_number_idx ON cad.parcel (sheet_id, parcel_number);
CREATE INDEX IF NOT EXISTS map_sheet_number_idx ON cad.map_sheet (sheet_number);
CREATE INDEX IF NOT EXISTS plan_zone_plan_idx ON plan.zone (plan_id);

------------------------------------------------------------------------------------------
-- 2. Syllables of names, for typo correction
------------------------------------------------------------------------------------------
-- Vietnamese names are made of a small set of syllables (204 folded words for 1.68
-- million persons on the 1 000 000-parcel store). A typed word that is not one of them is
-- replaced by the nearest (Levenshtein, then frequency) before the prefix search; a
-- trigram KNN over the persons themselves took 350–400 ms and % with a threshold 870 ms.
-- Kept in sys (not a data schema: no person reads it; only definer functions do).
CREATE TABLE IF NOT EXISTS sys.name_word (
    word  text PRIMARY KEY,
    freq  bigint NOT NULL DEFAULT 0
);
REVOKE ALL ON sys.name_word FROM PUBLIC;

INSERT INTO sys.name_word (word, freq)
SELECT w, count(*) FROM cad.party, regexp_split_to_table(name_folded, ' ') AS w
WHERE w <> '' GROUP BY w
ON CONFLICT (word) DO UPDATE SET freq = EXCLUDED.freq;

-- Rebuild from the persons (a bulk load with triggers off, e.g. the demo loader under
-- session_replication_role = replica, leaves the list empty or short): 1.7 s for 1.68 M.
CREATE OR REPLACE FUNCTION sys.refresh_name_words() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO sys.name_word (word, freq)
    SELECT w, count(*) FROM cad.party, regexp_split_to_table(party.name_folded, ' ') AS w
    WHERE w <> '' GROUP BY w
    ON CONFLICT (word) DO UPDATE SET freq = EXCLUDED.freq;
END;
REVOKE ALL ON FUNCTION sys.refresh_name_words() FROM PUBLIC;

-- New words arrive with new names: one statement-level insert per COPY/INSERT batch.
CREATE OR REPLACE FUNCTION sys.name_word_collect() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    INSERT INTO sys.name_word (word, freq)
    SELECT w, count(*) FROM new_rows, regexp_split_to_table(new_rows.name_folded, ' ') AS w
    WHERE w <> '' GROUP BY w
    ON CONFLICT (word) DO UPDATE SET freq = sys.name_word.freq + EXCLUDED.freq;
    RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION sys.name_word_collect() FROM PUBLIC;
DROP TRIGGER IF EXISTS name_word_ins ON cad.party;
CREATE TRIGGER name_word_ins AFTER INSERT ON cad.party
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sys.name_word_collect();
DROP TRIGGER IF EXISTS name_word_upd ON cad.party;
CREATE TRIGGER name_word_upd AFTER UPDATE ON cad.party
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sys.name_word_collect();

-- Each word of p_folded replaced by the nearest known syllable (itself when known).
CREATE OR REPLACE FUNCTION sys.search_correct_name(p_folded text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN (
    SELECT string_agg(coalesce(
               (SELECT nw.word FROM sys.name_word nw
                WHERE nw.word = t.w),
               (SELECT c.word FROM (
                    SELECT nw.word, nw.freq,
                           -- a swap of two letters (vna → van) costs 2 in Levenshtein:
                           -- count it as one typo
                           CASE WHEN length(nw.word) = length(t.w)
                                 AND (SELECT string_agg(x, '' ORDER BY x)
                                      FROM regexp_split_to_table(nw.word, '') x)
                                   = (SELECT string_agg(x, '' ORDER BY x)
                                      FROM regexp_split_to_table(t.w, '') x)
                                THEN 1 ELSE levenshtein(nw.word, t.w) END AS cost
                    FROM sys.name_word nw) c
                WHERE c.cost <= greatest(1, length(t.w) / 3)
                ORDER BY c.cost, abs(length(c.word) - length(t.w)), c.freq DESC LIMIT 1),
               t.w), ' ' ORDER BY t.n)
    FROM regexp_split_to_table(p_folded, ' ') WITH ORDINALITY AS t(w, n)
    WHERE t.w <> ''
);

------------------------------------------------------------------------------------------
-- 3. Helpers
------------------------------------------------------------------------------------------
-- "0700******12": a personal ID number as shown to those who may not read it.
CREATE OR REPLACE FUNCTION sys.mask_id_number(p_number text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN p_number IS NULL THEN NULL
            WHEN length(p_number) <= 6 THEN repeat('*', length(p_number))
            ELSE left(p_number, 4) || repeat('*', length(p_number) - 6) || right(p_number, 2)
       END;

-- Who may read personal ID numbers in clear: cadastral editors and approvers (they check
-- identities when they process dossiers). Viewers, e.g. commune officers, see the mask.
CREATE OR REPLACE FUNCTION sys.may_read_personal_id() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN sys.has_right('cadastral', 'editor') OR sys.has_right('cadastral', 'approver');

-- How a parcel appears in a result list, and its box (float8[4], province CRS).
CREATE OR REPLACE FUNCTION sys.search_parcel_text(p_parcel_id bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (
    SELECT format('Thửa %s, tờ %s, %s', p.parcel_number, s.sheet_number, u.name)
           || CASE WHEN p.retired_at IS NOT NULL THEN ' (đã ngừng)' ELSE '' END
    FROM cad.parcel p JOIN cad.map_sheet s ON s.id = p.sheet_id
    JOIN ref.admin_unit u ON u.id = p.commune_id
    WHERE p.id = p_parcel_id
);

CREATE OR REPLACE FUNCTION sys.search_parcel_bbox(p_parcel_id bigint) RETURNS float8[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN (
    SELECT ARRAY[ST_XMin(p.geom), ST_YMin(p.geom), ST_XMax(p.geom), ST_YMax(p.geom)]
    FROM cad.parcel p WHERE p.id = p_parcel_id
);

------------------------------------------------------------------------------------------
-- 4. api.search
------------------------------------------------------------------------------------------
-- One box, six kinds of input (the first that fits the shape of the text wins, names and
-- addresses share the rest):
--   9 or 12 digits            id_number     (exact; audited as READ_PERSONAL_ID)
--   two letters + 6–8 digits  certificate   ("CS 123456", "cs123456")
--   12 GeoHash characters     national_id
--   "25003 12 45", "tờ 12 thửa 45", "thửa 45 tờ 12"   parcel_key (within the caller's communes)
--   text                      owner (prefix of the folded name, then with typos
--                             corrected word by word) and address (folded, trigram)
-- Rows: kind, parcel_id, label, detail, bbox (minx, miny, maxx, maxy). Only parcels of
-- the caller's area; current parcels first.
CREATE OR REPLACE FUNCTION api.search(p_text text, p_limit integer DEFAULT 50)
RETURNS TABLE (kind text, parcel_id bigint, label text, detail text, bbox float8[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
ROWS 50 AS $fn$
#variable_conflict use_column
DECLARE
    v_text text := btrim(regexp_replace(coalesce(p_text, ''), '\s+', ' ', 'g'));
    v_folded text;
    v_compact text;
    v_limit integer := least(greatest(coalesce(p_limit, 50), 1), 200);
    v_whole boolean;
    v_units bigint[];
    v_small boolean;
    v_m text[];
    v_n integer := 0;
    v_corrected text;
    v_parties bigint[];
    v_rank integer;
    v_pattern text;
    v_party bigint;
    v_found bigint[] := '{}';
    v_seen bigint[] := '{}';
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
    v_folded := ref.fold_vi(v_text);
    v_compact := upper(replace(v_text, ' ', ''));

    -- ID number: exact. Reading who holds an ID number is a read of personal data.
    IF v_text ~ '^([0-9]{9}|[0-9]{12})$' THEN
        SELECT array_agg(pa.id) INTO v_parties FROM cad.party pa WHERE pa.id_number = v_text;
        PERFORM audit.log_event('READ_PERSONAL_ID', 'search',
            jsonb_build_object('id_number', sys.mask_id_number(v_text),
                               'party_ids', coalesce(to_jsonb(v_parties), '[]'::jsonb)));
        RETURN QUERY
        SELECT 'id_number', p.id, pa.full_name,
               sys.mask_id_number(pa.id_number) || ' — ' || sys.search_parcel_text(p.id),
               sys.search_parcel_bbox(p.id)
        FROM cad.party pa
        JOIN LATERAL (
            SELECT r.parcel_id FROM cad.land_right r
            WHERE r.party_id = pa.id AND r.valid_to IS NULL
            UNION
            SELECT r.parcel_id FROM cad.party_member m
            JOIN cad.land_right r ON r.party_id = m.group_id
            WHERE m.member_id = pa.id AND r.valid_to IS NULL
        ) rp ON true
        JOIN cad.parcel p ON p.id = rp.parcel_id
        WHERE pa.id = ANY (coalesce(v_parties, '{}'))
          AND (v_whole OR p.commune_id = ANY (v_units))
        ORDER BY p.retired_at NULLS FIRST, p.id
        LIMIT v_limit;
        RETURN;
    END IF;

    -- Certificate serial.
    IF v_compact ~ '^[A-Z]{2}[0-9]{6,8}$' THEN
        RETURN QUERY
        SELECT 'certificate', p.id, c.serial,
               sys.search_parcel_text(p.id) || CASE c.status WHEN 'hieu_luc' THEN ''
                   ELSE ' — GCN không còn hiệu lực' END,
               sys.search_parcel_bbox(p.id)
        FROM cad.certificate c
        JOIN cad.certificate_parcel cp ON cp.certificate_id = c.id
        JOIN cad.parcel p ON p.id = cp.parcel_id
        WHERE replace(c.serial, ' ', '') = v_compact
          AND (v_whole OR p.commune_id = ANY (v_units))
        ORDER BY p.retired_at NULLS FIRST, p.id
        LIMIT v_limit;
        RETURN;
    END IF;

    -- National parcel ID (GeoHash alphabet: no a, i, l, o; at least one letter).
    IF lower(v_text) ~ '^[0-9b-hjkmnp-z]{12}$' AND v_text ~ '[a-zA-Z]' THEN
        RETURN QUERY
        SELECT 'national_id', p.id, p.national_id, sys.search_parcel_text(p.id),
               sys.search_parcel_bbox(p.id)
        FROM cad.parcel p
        WHERE p.national_id = lower(v_text)
          AND (v_whole OR p.commune_id = ANY (v_units))
        ORDER BY p.retired_at NULLS FIRST, p.id
        LIMIT v_limit;
        RETURN;
    END IF;

    -- Parcel key: "25003 12 45" (commune code, sheet, parcel) or "tờ 12 thửa 45".
    v_m := regexp_match(v_folded, '^([0-9]{5})[ ,/.-]+([0-9]{1,4})[ ,/.-]+([0-9]{1,6})$');
    IF v_m IS NULL THEN
        v_m := regexp_match(v_folded,
            '^(?:([0-9]{5})[ ,]*)?(?:to|to ban do|tbd|t)[ .:]*([0-9]{1,4})[ ,;]*(?:thua|thua dat|th)[ .:]*([0-9]{1,6})$');
    END IF;
    IF v_m IS NULL THEN
        v_m := regexp_match(v_folded,
            '^(?:([0-9]{5})[ ,]*)?(?:thua|thua dat|th)[ .:]*([0-9]{1,6})[ ,;]*(?:to|to ban do|tbd|t)[ .:]*([0-9]{1,4})$');
        IF v_m IS NOT NULL THEN
            v_m := ARRAY[v_m[1], v_m[3], v_m[2]];
        END IF;
    END IF;
    IF v_m IS NOT NULL THEN
        RETURN QUERY
        SELECT 'parcel_key', p.id,
               format('Thửa %s, tờ %s', p.parcel_number, s.sheet_number)
               || CASE WHEN p.duplicate_seq > 0 THEN format(' (trùng số, thứ %s)', p.duplicate_seq + 1)
                       ELSE '' END,
               format('%s (mã %s)', su.name, su.code)
               || CASE WHEN p.commune_id <> s.commune_id THEN ', nay thuộc ' || pu.name ELSE '' END
               || coalesce(' — ' || p.address, '')
               || CASE WHEN p.retired_at IS NOT NULL THEN ' (đã ngừng)' ELSE '' END,
               sys.search_parcel_bbox(p.id)
        FROM cad.map_sheet s
        JOIN ref.admin_unit su ON su.id = s.commune_id
        JOIN cad.parcel p ON p.sheet_id = s.id AND p.parcel_number = v_m[3]::integer
        JOIN ref.admin_unit pu ON pu.id = p.commune_id
        WHERE s.sheet_number = v_m[2]::integer
          AND (v_m[1] IS NULL OR su.code = v_m[1])
          AND (v_whole OR p.commune_id = ANY (v_units) OR s.commune_id = ANY (v_units))
        ORDER BY p.retired_at NULLS FIRST, su.code, p.duplicate_seq, p.id
        LIMIT v_limit;
        RETURN;
    END IF;

    -- Owner names. A commune officer of a small area reads the persons of the area and
    -- filters them (a few thousand rows); everyone else walks the name index in order and
    -- checks the area per person (stops after p_limit hits).
    v_small := NOT v_whole AND (SELECT count(*) FROM (
        SELECT 1 FROM cad.parcel p WHERE p.commune_id = ANY (v_units) LIMIT 20000) s) < 20000;
    IF NOT EXISTS (SELECT 1 FROM sys.name_word) THEN
        PERFORM sys.refresh_name_words();
    END IF;
    v_corrected := sys.search_correct_name(v_folded);
    IF v_folded !~ '[0-9,]' THEN
        FOR v_rank IN 1..2 LOOP
            EXIT WHEN v_n >= v_limit OR (v_rank = 2 AND v_corrected IS NOT DISTINCT FROM v_folded);
            v_pattern := CASE v_rank WHEN 1 THEN v_folded ELSE v_corrected END || '%';
            FOR kind, parcel_id, label, detail, bbox, v_party IN
                SELECT 'owner', h.parcel_id, h.full_name, sys.search_parcel_text(h.parcel_id),
                       sys.search_parcel_bbox(h.parcel_id), h.party_id
                FROM (
                    -- Walk the name index in order, stop after the limit (large areas).
                    SELECT pa.id AS party_id, pa.full_name, rp.parcel_id, pa.name_folded
                    FROM cad.party pa
                    CROSS JOIN LATERAL (
                        SELECT p.id AS parcel_id
                        FROM (SELECT r.parcel_id FROM cad.land_right r
                              WHERE r.party_id = pa.id AND r.valid_to IS NULL
                              UNION
                              SELECT r.parcel_id FROM cad.party_member m
                              JOIN cad.land_right r ON r.party_id = m.group_id
                              WHERE m.member_id = pa.id AND r.valid_to IS NULL) rr
                        JOIN cad.parcel p ON p.id = rr.parcel_id
                        WHERE p.retired_at IS NULL AND (v_whole OR p.commune_id = ANY (v_units))
                    ) rp
                    WHERE NOT v_small AND pa.name_folded LIKE v_pattern
                      AND pa.id <> ALL (v_seen)
                    UNION ALL
                    -- Read the persons of a small area and filter them.
                    SELECT DISTINCT pa.id, pa.full_name, p.id, pa.name_folded
                    FROM cad.parcel p
                    JOIN cad.land_right r ON r.parcel_id = p.id AND r.valid_to IS NULL
                    JOIN LATERAL (
                        SELECT r.party_id AS id
                        UNION ALL
                        SELECT m.member_id FROM cad.party_member m WHERE m.group_id = r.party_id
                    ) x ON true
                    JOIN cad.party pa ON pa.id = x.id
                    WHERE v_small AND p.commune_id = ANY (v_units) AND p.retired_at IS NULL
                      AND pa.name_folded LIKE v_pattern AND pa.id <> ALL (v_seen)
                ) h
                LIMIT v_limit - v_n
            LOOP
                v_n := v_n + 1;
                v_found := v_found || v_party;
                RETURN NEXT;
            END LOOP;
            v_seen := v_seen || v_found;
        END LOOP;
    END IF;

    -- Addresses: folded substring through the trigram index; only when names left room
    -- and the text looks like an address or named nobody.
    IF v_n < v_limit AND (v_n = 0 OR v_folded ~ '[0-9,]'
                          OR v_folded ~ '^(so|duong|hem|ngo|kiet|ap|thon|to|khu pho|kp|xom|ban|xa|phuong|thi tran) ')
       AND length(v_folded) >= 3 THEN
        RETURN QUERY
        SELECT 'address', p.id, p.address, sys.search_parcel_text(p.id),
               sys.search_parcel_bbox(p.id)
        FROM cad.parcel p
        WHERE ref.fold_vi(p.address) LIKE '%' || v_folded || '%'
          AND p.retired_at IS NULL
          AND ((SELECT v_whole) OR p.commune_id = ANY (v_units))
        ORDER BY p.id
        LIMIT v_limit - v_n;
    END IF;
END
$fn$;

------------------------------------------------------------------------------------------
-- 5. Personal ID numbers in clear
------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION api.reveal_personal_id(p_party_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_party cad.party;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    IF NOT sys.may_read_personal_id() THEN
        RAISE EXCEPTION 'Tài khoản % không có quyền xem số định danh cá nhân', session_user
            USING ERRCODE = '42501',
                  HINT = 'Only cadastral editors and approvers may read personal ID numbers.';
    END IF;
    SELECT * INTO v_party FROM cad.party WHERE id = p_party_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có người sử dụng đất mã %', p_party_id USING ERRCODE = '22023';
    END IF;
    IF NOT sys.sees_whole_province()
       AND NOT EXISTS (SELECT 1 FROM sys.area_party a WHERE a.party_id = p_party_id) THEN
        RAISE EXCEPTION '% (mã %) không có quyền trên thửa đất nào thuộc địa bàn được phân quyền cho tài khoản %',
            v_party.full_name, p_party_id, session_user
            USING ERRCODE = '42501';
    END IF;
    PERFORM audit.log_event('READ_PERSONAL_ID', 'cad.party:' || p_party_id,
        jsonb_build_object('party_id', p_party_id, 'id_kind', v_party.id_kind));
    RETURN v_party.id_number;
END
$fn$;

------------------------------------------------------------------------------------------
-- 6. api.parcel_details: the whole panel in one round trip
------------------------------------------------------------------------------------------
-- Sections of subsystems the caller holds no right in come back as null and are named in
-- "denied" (price: land_price, planning: planning, documents: dossier).
CREATE OR REPLACE FUNCTION api.parcel_details(p_parcel_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    v_p cad.parcel;
    v_denied text[] := '{}';
    v_out jsonb;
    v_area numeric;
    v_main text;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    IF p_parcel_id IS NULL THEN
        RAISE EXCEPTION 'Cần mã thửa' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_p FROM cad.parcel WHERE id = p_parcel_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có thửa đất mã %', p_parcel_id USING ERRCODE = '22023';
    END IF;
    PERFORM sys.api_require_commune(v_p.commune_id, sys.api_parcel_label(p_parcel_id));
    v_area := coalesce(v_p.area_legal, round(v_p.area_computed::numeric, 1));
    SELECT lu.code INTO v_main FROM cad.land_use lu
    WHERE lu.parcel_id = p_parcel_id AND lu.retired_at IS NULL
    ORDER BY lu.area DESC, lu.id LIMIT 1;

    v_out := jsonb_build_object(
        'parcel', (
            SELECT jsonb_build_object(
                'id', v_p.id, 'sheet_number', s.sheet_number, 'sheet_scale', s.scale,
                'parcel_number', v_p.parcel_number, 'duplicate_seq', v_p.duplicate_seq,
                'commune_id', v_p.commune_id, 'commune_code', u.code, 'commune_name', u.name,
                'survey_commune_code', su.code, 'survey_commune_name', su.name,
                'national_id', v_p.national_id, 'address', v_p.address,
                'area_legal', v_p.area_legal, 'area_computed', round(v_p.area_computed::numeric, 1),
                'main_land_use', v_main,
                'version', v_p.version, 'created_at', v_p.created_at, 'retired_at', v_p.retired_at,
                'bbox', jsonb_build_array(ST_XMin(v_p.geom), ST_YMin(v_p.geom),
                                          ST_XMax(v_p.geom), ST_YMax(v_p.geom)))
            FROM cad.map_sheet s JOIN ref.admin_unit su ON su.id = s.commune_id,
                 ref.admin_unit u
            WHERE s.id = v_p.sheet_id AND u.id = v_p.commune_id),
        'land_uses', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'code', lu.code, 'name', c.name_vi, 'legacy', c.status = 'legacy',
                'area', lu.area, 'term_until', lu.term_until, 'use_from', lu.use_from,
                'origin', lu.origin) ORDER BY lu.area DESC, lu.id)
            FROM cad.land_use lu JOIN ref.land_use_code c ON c.code = lu.code
            WHERE lu.parcel_id = p_parcel_id AND lu.retired_at IS NULL), '[]'),
        'holders', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'right_id', r.id, 'party_id', pa.id, 'kind', r.kind, 'share', r.share,
                'valid_from', r.valid_from, 'valid_to', r.valid_to,
                'certificate_id', r.certificate_id,
                'party_kind', pa.kind, 'full_name', pa.full_name, 'gender', pa.gender,
                'birth_year', pa.birth_year, 'id_kind', pa.id_kind,
                'id_number_masked', sys.mask_id_number(pa.id_number), 'address', pa.address,
                'members', (SELECT jsonb_agg(jsonb_build_object(
                                'party_id', mp.id, 'full_name', mp.full_name, 'role', m.role,
                                'birth_year', mp.birth_year, 'id_kind', mp.id_kind,
                                'id_number_masked', sys.mask_id_number(mp.id_number))
                                ORDER BY mp.id)
                            FROM cad.party_member m JOIN cad.party mp ON mp.id = m.member_id
                            WHERE m.group_id = pa.id))
                ORDER BY r.valid_to NULLS FIRST, r.kind, r.share DESC, r.id)
            FROM cad.land_right r JOIN cad.party pa ON pa.id = r.party_id
            WHERE r.parcel_id = p_parcel_id), '[]'),
        'may_reveal_id', sys.may_read_personal_id(),
        'certificates', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', c.id, 'serial', c.serial, 'register_number', c.register_number,
                'issued_on', c.issued_on, 'issuer', c.issuer, 'status', c.status,
                'replaced_by', c.replaced_by) ORDER BY c.issued_on DESC, c.id DESC)
            FROM cad.certificate c JOIN cad.certificate_parcel cp ON cp.certificate_id = c.id
            WHERE cp.parcel_id = p_parcel_id), '[]'),
        'mutations', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', m.id, 'kind', m.kind, 'status', m.status, 'reason', m.reason,
                'dossier_number', m.dossier_number, 'created_at', m.created_at,
                'decided_at', m.decided_at, 'role', x.role)
                ORDER BY coalesce(m.decided_at, m.created_at), m.id)
            FROM (SELECT mm.mutation_id, min(mm.role) AS role FROM (
                      SELECT mp.mutation_id, 'touched' AS role FROM cad.mutation_parcel mp
                      WHERE mp.parcel_id = p_parcel_id
                      UNION ALL SELECT l.mutation_id, 'created' FROM cad.parcel_lineage l
                      WHERE l.child_id = p_parcel_id
                      UNION ALL SELECT l.mutation_id, 'retired' FROM cad.parcel_lineage l
                      WHERE l.parent_id = p_parcel_id) mm
                  GROUP BY mm.mutation_id) x
            JOIN cad.mutation m ON m.id = x.mutation_id), '[]'),
        'restrictions', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'kind', r.kind, 'description', r.description, 'valid_from', r.valid_from,
                'valid_to', r.valid_to) ORDER BY r.valid_from, r.id)
            FROM cad.restriction r WHERE r.parcel_id = p_parcel_id), '[]'),
        'assets', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'kind', a.kind, 'description', a.description, 'floor_area', a.floor_area,
                'floors', a.floors) ORDER BY a.id)
            FROM cad.asset a WHERE a.parcel_id = p_parcel_id), '[]'));

    -- Land price: the newest table that positions the parcel. Street land by depth band
    -- measured from the parcel's nearest point to the segment; zone land flat.
    IF sys.has_right('land_price', 'viewer') THEN
        v_out := v_out || jsonb_build_object('price', (
            SELECT jsonb_build_object(
                'year', t.year, 'decision', t.decision, 'table_id', t.id,
                'road', rd.name, 'segment', CASE WHEN seg.id IS NOT NULL
                    THEN seg.from_desc || ' – ' || seg.to_desc END,
                'position', pp.position, 'zone', z.name,
                'land_use_code', coalesce(sp.land_use_code, zp.land_use_code),
                'unit_price', coalesce(sp.price_vnd_m2, zp.price_vnd_m2),
                'coefficient', pp.coefficient,
                'depth_rule', CASE WHEN seg.id IS NOT NULL THEN bands.rule END,
                'bands', CASE WHEN seg.id IS NOT NULL THEN bands.list END,
                'area', v_area,
                'value', round(CASE
                    WHEN coalesce(sp.price_vnd_m2, zp.price_vnd_m2) IS NULL THEN NULL
                    WHEN seg.id IS NOT NULL THEN bands.weighted * v_area * sp.price_vnd_m2 * pp.coefficient
                    ELSE v_area * zp.price_vnd_m2 * pp.coefficient END, 0))
            FROM price.parcel_position pp
            JOIN price.price_table t ON t.id = pp.table_id
            LEFT JOIN price.road_segment seg ON seg.id = pp.segment_id
            LEFT JOIN price.road rd ON rd.id = seg.road_id
            LEFT JOIN price.zone z ON z.id = pp.zone_id
            LEFT JOIN price.segment_price sp ON sp.table_id = pp.table_id
                 AND sp.segment_id = pp.segment_id AND sp.position = pp.position
                 AND sp.land_use_code = (SELECT lu.code FROM cad.land_use lu
                     JOIN price.segment_price x ON x.land_use_code = lu.code
                          AND x.table_id = pp.table_id AND x.segment_id = pp.segment_id
                          AND x.position = pp.position
                     WHERE lu.parcel_id = p_parcel_id AND lu.retired_at IS NULL
                     ORDER BY lu.area DESC, lu.id LIMIT 1)
            LEFT JOIN price.zone_price zp ON zp.table_id = pp.table_id AND zp.zone_id = pp.zone_id
                 AND zp.land_use_code = (SELECT lu.code FROM cad.land_use lu
                     JOIN price.zone_price x ON x.land_use_code = lu.code
                          AND x.table_id = pp.table_id AND x.zone_id = pp.zone_id
                     WHERE lu.parcel_id = p_parcel_id AND lu.retired_at IS NULL
                     ORDER BY lu.area DESC, lu.id LIMIT 1)
            LEFT JOIN LATERAL (
                -- share of the parcel in each depth band × the band's factor
                SELECT sum(b.share * b.factor) AS weighted,
                       string_agg(format('%s–%s m: %s%%', b.from_m, coalesce(b.to_m::text, '…'),
                                         round(b.factor * 100)), '; ' ORDER BY b.from_m) AS rule,
                       jsonb_agg(jsonb_build_object('from_m', b.from_m, 'to_m', b.to_m,
                                 'factor', b.factor, 'share', round(b.share, 4))
                                 ORDER BY b.from_m) AS list
                FROM (
                    SELECT db.from_m, db.to_m, db.factor,
                           (ST_Area(ST_Intersection(v_p.geom,
                                CASE WHEN db.to_m IS NULL THEN v_p.geom
                                     ELSE ST_Buffer(seg.geom, d.d0 + db.to_m::float8) END))
                            - CASE WHEN db.from_m = 0 THEN 0 ELSE ST_Area(ST_Intersection(v_p.geom,
                                ST_Buffer(seg.geom, d.d0 + db.from_m::float8))) END)::numeric
                           / nullif(ST_Area(v_p.geom), 0)::numeric AS share
                    FROM price.depth_band db,
                         LATERAL (SELECT ST_Distance(v_p.geom, seg.geom) AS d0) d
                    WHERE db.table_id = pp.table_id AND seg.id IS NOT NULL
                ) b
            ) bands ON true
            WHERE pp.parcel_id = p_parcel_id
            ORDER BY t.year DESC LIMIT 1));
    ELSE
        v_denied := array_append(v_denied, 'land_price');
    END IF;

    IF sys.has_right('planning', 'viewer') THEN
        v_out := v_out || jsonb_build_object('planning', coalesce((
            SELECT jsonb_agg(x ORDER BY (x ->> 'area')::numeric DESC) FROM (
                SELECT jsonb_build_object(
                    'zone_id', z.id, 'zone_name', z.name, 'planned_code', z.planned_code,
                    'planned_name', c.name_vi, 'plan_name', pl.name, 'plan_kind', pl.kind,
                    'period', pl.period_from || '–' || pl.period_to, 'decision', pl.decision,
                    'area', round(ST_Area(ST_Intersection(z.geom, v_p.geom))::numeric, 1),
                    'share', round((ST_Area(ST_Intersection(z.geom, v_p.geom))
                                    / ST_Area(v_p.geom))::numeric, 4)) AS x
                FROM plan.zone z
                JOIN plan.land_use_plan pl ON pl.id = z.plan_id
                JOIN ref.land_use_code c ON c.code = z.planned_code
                WHERE z.geom && v_p.geom AND ST_Intersects(z.geom, v_p.geom)
                  AND ST_Area(ST_Intersection(z.geom, v_p.geom)) >= 0.05) s), '[]'));
    ELSE
        v_denied := array_append(v_denied, 'planning');
    END IF;

    IF sys.has_right('dossier', 'viewer') THEN
        v_out := v_out || jsonb_build_object('documents', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', d.id, 'doc_type', d.doc_type, 'number', d.number,
                'issued_on', d.issued_on, 'issuer', d.issuer, 'page_count', d.page_count,
                'classification', d.classification, 'original_name', d.original_name,
                'via', l.via) ORDER BY d.issued_on DESC NULLS LAST, d.id)
            FROM (SELECT dl.document_id, min(CASE WHEN dl.parcel_id IS NOT NULL THEN 'parcel'
                                                  ELSE 'certificate' END) AS via
                  FROM doc.document_link dl
                  WHERE dl.parcel_id = p_parcel_id
                     OR dl.certificate_id IN (SELECT cp.certificate_id FROM cad.certificate_parcel cp
                                              WHERE cp.parcel_id = p_parcel_id)
                  GROUP BY dl.document_id) l
            JOIN doc.document d ON d.id = l.document_id), '[]'));
    ELSE
        v_denied := array_append(v_denied, 'dossier');
    END IF;
    RETURN v_out || jsonb_build_object('denied', to_jsonb(v_denied));
END
$fn$;

------------------------------------------------------------------------------------------
-- 7. api.parcel_history: the parcel as of a date, and its lineage
------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION api.parcel_history(p_parcel_id bigint, p_at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    v_commune bigint;
    v_whole boolean;
    v_units bigint[];
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    SELECT p.commune_id INTO v_commune FROM cad.parcel p WHERE p.id = p_parcel_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có thửa đất mã %', p_parcel_id USING ERRCODE = '22023';
    END IF;
    PERFORM sys.api_require_commune(v_commune, sys.api_parcel_label(p_parcel_id));
    v_whole := sys.sees_whole_province();
    v_units := CASE WHEN v_whole THEN '{}'::bigint[] ELSE sys.my_units() END;
    RETURN jsonb_build_object(
        'as_of', (
            SELECT jsonb_build_object(
                'version', h.version, 'parcel_number', h.parcel_number,
                'sheet_number', s.sheet_number, 'commune_name', u.name,
                'area_legal', h.area_legal, 'area_computed', round(h.area_computed::numeric, 1),
                'address', h.address, 'national_id', h.national_id,
                'valid_from', lower(h.version_period), 'valid_to', upper(h.version_period),
                'is_current', h.is_current, 'retired_at', h.retired_at)
            FROM hist.parcel_as_of(p_parcel_id, p_at) h
            JOIN cad.map_sheet s ON s.id = h.sheet_id
            JOIN ref.admin_unit u ON u.id = h.commune_id
            ORDER BY h.is_current LIMIT 1),
        -- Lineage: parcels outside the area are listed by id only.
        'lineage', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'depth', t.depth, 'parcel_id', t.parcel_id, 'mutation_id', t.mutation_id,
                'mutation_kind', t.mutation_kind, 'decided_at', t.decided_at,
                'parcel_number', CASE WHEN v_whole OR t.commune_id = ANY (v_units)
                                      THEN t.parcel_number END,
                'sheet_number', CASE WHEN v_whole OR t.commune_id = ANY (v_units)
                                     THEN s.sheet_number END,
                'retired_at', t.retired_at) ORDER BY t.depth, t.parcel_id)
            FROM cad.parcel_lineage_tree(p_parcel_id) t
            LEFT JOIN cad.map_sheet s ON s.id = t.sheet_id
            WHERE t.depth <> 0), '[]'));
END
$fn$;

------------------------------------------------------------------------------------------
-- 8. Who may call what
------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION sys.search_correct_name(text), sys.mask_id_number(text),
    sys.may_read_personal_id(), sys.search_parcel_text(bigint), sys.search_parcel_bbox(bigint)
FROM PUBLIC;
REVOKE ALL ON FUNCTION api.search(text, integer), api.reveal_personal_id(bigint),
    api.parcel_details(bigint), api.parcel_history(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.search(text, integer), api.reveal_personal_id(bigint),
    api.parcel_details(bigint), api.parcel_history(bigint, timestamptz) TO lr_person;
