-- Name search: a typo that makes another real syllable ("tan" for "tran", "minh" for
-- "ninh") is not caught by the word-by-word correction, which keeps known syllables.
-- When neither the typed nor the corrected name finds anyone, api.search tries the typed
-- words with one word swapped for a near syllable (issue 4). And the choice between
-- reading a small area's people and walking the name index is made per name, by how
-- many namesakes the province has: a rare name in a 16 000-parcel commune read the whole
-- commune (240 ms on the 1 M store). Everything else in the function is as in 0014.

-- Up to two near syllables (edit distance 1, or two letters swapped) for each of the
-- three longest words: the typed text with that one word replaced, as LIKE prefixes,
-- the most frequent syllables in names first (the likelier intended word).
CREATE FUNCTION sys.search_name_variants(p_folded text) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN (
    WITH words AS (
        SELECT t.w, t.n FROM regexp_split_to_table(p_folded, ' ') WITH ORDINALITY AS t(w, n)
        WHERE t.w <> ''),
    targets AS (
        SELECT w, n FROM words WHERE length(w) >= 2 ORDER BY length(w) DESC, n LIMIT 3),
    near AS (
        SELECT t.n, c.word, c.freq,
               row_number() OVER (PARTITION BY t.n ORDER BY c.freq DESC) AS k
        FROM targets t
        JOIN sys.name_word c ON c.word <> t.w AND abs(length(c.word) - length(t.w)) <= 1
         AND (levenshtein(c.word, t.w) = 1
              OR (length(c.word) = length(t.w)
                  AND (SELECT string_agg(x, '' ORDER BY x) FROM regexp_split_to_table(c.word, '') x)
                    = (SELECT string_agg(x, '' ORDER BY x) FROM regexp_split_to_table(t.w, '') x)
                  AND levenshtein(c.word, t.w) = 2)))
    SELECT coalesce(array_agg(v.phrase || '%' ORDER BY v.freq DESC, v.n), '{}')
    FROM (
        SELECT near.n, near.freq,
               (SELECT string_agg(CASE WHEN w.n = near.n THEN near.word ELSE w.w END, ' '
                                  ORDER BY w.n) FROM words w) AS phrase
        FROM near WHERE near.k <= 2) v
);
REVOKE ALL ON FUNCTION sys.search_name_variants(text) FROM PUBLIC;

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
    v_pairs text[] := '{}';
    v_patterns text[];
    v_i integer;
    v_scan boolean;
    v_variants boolean := false;
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
    -- filters them, stopping at the limit; everyone else walks the name index in order and
    -- checks the area per person (also stopping at the limit). Two statements, not one
    -- UNION ALL guarded by flags: each gets its own plan, and neither pays for the other.
    v_small := NOT v_whole AND (SELECT count(*) FROM (
        SELECT 1 FROM cad.parcel p WHERE p.commune_id = ANY (v_units) LIMIT 20000) s) < 20000;
    IF NOT EXISTS (SELECT 1 FROM sys.name_word) THEN
        PERFORM sys.refresh_name_words();
    END IF;
    v_corrected := sys.search_correct_name(v_folded);
    -- Patterns in order: as typed, then corrected; and when neither finds anyone, the
    -- typed words with one word swapped for a near syllable (a typo that made another
    -- real syllable: "tan" for "tran" is not corrected above).
    v_patterns := ARRAY[v_folded || '%'];
    IF v_corrected IS DISTINCT FROM v_folded THEN
        v_patterns := v_patterns || (v_corrected || '%');
    END IF;
    IF v_folded !~ '[0-9,]' THEN
        v_i := 0;
        WHILE v_i < cardinality(v_patterns) AND v_n < v_limit LOOP
            v_i := v_i + 1;
            v_pattern := v_patterns[v_i];
            -- Two ways to find the people of a name in an area. Walking the name index
            -- costs the number of namesakes in the whole province until the limit is
            -- met in the area; reading the area's people costs the area, unless the
            -- name is common there too and the limit comes early. So: read the area
            -- only for a small area and a name with thousands of namesakes (the index
            -- answers the question of how many, stopping at 3 000).
            v_scan := v_small AND (SELECT count(*) FROM (
                SELECT 1 FROM cad.party pa WHERE pa.name_folded LIKE v_pattern LIMIT 3000) s)
                >= 3000;
            IF v_scan THEN
                -- No DISTINCT (it would read the whole area before the first row): a
                -- person holding a parcel twice (own right and through a household) is
                -- skipped here instead.
                FOR kind, parcel_id, label, detail, bbox, v_party IN
                    SELECT 'owner', p.id, pa.full_name, NULL, NULL, pa.id
                    FROM cad.parcel p
                    JOIN cad.land_right r ON r.parcel_id = p.id AND r.valid_to IS NULL
                    JOIN LATERAL (
                        SELECT r.party_id AS id
                        UNION ALL
                        SELECT m.member_id FROM cad.party_member m WHERE m.group_id = r.party_id
                    ) x ON true
                    JOIN cad.party pa ON pa.id = x.id
                    WHERE p.commune_id = ANY (v_units) AND p.retired_at IS NULL
                      AND pa.name_folded LIKE v_pattern AND pa.id <> ALL (v_seen)
                LOOP
                    CONTINUE WHEN (v_party::text || ':' || parcel_id::text) = ANY (v_pairs);
                    v_pairs := v_pairs || (v_party::text || ':' || parcel_id::text);
                    detail := sys.search_parcel_text(parcel_id);
                    bbox := sys.search_parcel_bbox(parcel_id);
                    v_n := v_n + 1;
                    v_found := v_found || v_party;
                    RETURN NEXT;
                    EXIT WHEN v_n >= v_limit;
                END LOOP;
            ELSE
                FOR kind, parcel_id, label, detail, bbox, v_party IN
                    SELECT 'owner', rp.parcel_id, pa.full_name,
                           sys.search_parcel_text(rp.parcel_id),
                           sys.search_parcel_bbox(rp.parcel_id), pa.id
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
                    WHERE pa.name_folded LIKE v_pattern AND pa.id <> ALL (v_seen)
                    LIMIT v_limit - v_n
                LOOP
                    v_n := v_n + 1;
                    v_found := v_found || v_party;
                    RETURN NEXT;
                END LOOP;
            END IF;
            v_seen := v_seen || v_found;
            -- The first variant that finds someone is the answer.
            EXIT WHEN v_variants AND v_n > 0;
            IF v_i = cardinality(v_patterns) AND v_n = 0 AND NOT v_variants THEN
                v_variants := true;
                v_patterns := v_patterns || sys.search_name_variants(v_folded);
            END IF;
        END LOOP;
    END IF;

    -- Addresses: folded substring through the trigram index; only when names left room
    -- and the text looks like an address or named nobody.
    IF v_n < v_limit AND (v_n = 0 OR v_folded ~ '[0-9,]'
                          OR v_folded ~ '^(so|duong|hem|ngo|kiet|ap|thon|to|khu pho|kp|xom|ban|xa|phuong|thi tran) ')
       AND length(v_folded) >= 3 THEN
        -- Again one statement per case: with the area rule as a plain condition an
        -- officer's search ANDs the commune index with the trigram index instead of
        -- walking the table in id order looking for 50 hits of their commune. "+ 0"
        -- keeps the planner off that walk for everyone: the trigram candidates (≈ 45 ms
        -- for a hamlet name in 1 M parcels) sorted beat a walk that, for a rare address,
        -- reads the whole table.
        IF v_whole THEN
            RETURN QUERY
            SELECT 'address', p.id, p.address, sys.search_parcel_text(p.id),
                   sys.search_parcel_bbox(p.id)
            FROM cad.parcel p
            WHERE p.address_folded LIKE '%' || v_folded || '%' AND p.retired_at IS NULL
            ORDER BY p.id + 0
            LIMIT v_limit - v_n;
        ELSE
            RETURN QUERY
            SELECT 'address', p.id, p.address, sys.search_parcel_text(p.id),
                   sys.search_parcel_bbox(p.id)
            FROM cad.parcel p
            WHERE p.address_folded LIKE '%' || v_folded || '%' AND p.retired_at IS NULL
              AND p.commune_id = ANY (v_units)
            ORDER BY p.id + 0
            LIMIT v_limit - v_n;
        END IF;
    END IF;
END
$fn$;
