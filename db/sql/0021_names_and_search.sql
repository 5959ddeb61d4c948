-- Revision 0021: names and search (issues 5 and 7, known weaknesses).
--
-- 1. admin.account_page's text filter folded user name, full name, ID number and unit of
--    every account on every call (a scan: ~165 ms for 5 000 accounts). A trigram GIN
--    index on exactly that folded text now answers the substring match.
-- 2. A change set named its author and decider by role name only ("p_3f2a…"): sys.cs_json
--    (behind api.change_set, api.review_change_set, api.change_sets and the draft replies)
--    now carries their full name and unit from sys.account, in the same round trip.

------------------------------------------------------------------------------------------
-- 1. Account text search
------------------------------------------------------------------------------------------
-- The same expression as the function's WHERE (role_name cast to text so the
-- concatenation is the immutable text || text).
CREATE INDEX IF NOT EXISTS account_search_trgm_idx ON sys.account USING gin (
    ref.fold_vi(role_name::text || ' ' || full_name || ' ' || person_id_number || ' ' || unit)
    public.gin_trgm_ops);

-- The accounts whose folded text contains p_folded (already folded), LIKE's wildcards taken
-- literally. The planner prices ref.fold_vi as cheap and would rather fold all 5 000
-- accounts (~170 ms) than read the index (~1 ms); seq scans are off for this one query.
-- A SET clause keeps the function from being inlined, so the setting stays in here.
CREATE OR REPLACE FUNCTION sys.account_matches(p_folded text) RETURNS name[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET enable_seqscan = off
RETURN (SELECT coalesce(array_agg(a.role_name), '{}') FROM sys.account a
        WHERE ref.fold_vi(a.role_name::text || ' ' || a.full_name || ' '
                          || a.person_id_number || ' ' || a.unit)
              LIKE '%' || replace(replace(replace(p_folded, '\', '\\'), '%', '\%'), '_', '\_')
                   || '%');
REVOKE ALL ON FUNCTION sys.account_matches(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION admin.account_page(
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
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    v_today date := (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    v_text text := nullif(btrim(ref.fold_vi(p_text)), '');
    v_hits name[];
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
    -- The text first, on its own, from the trigram index (sys.account_matches).
    IF v_text IS NOT NULL THEN
        v_hits := sys.account_matches(v_text);
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
          AND (v_hits IS NULL OR a.role_name = ANY (v_hits))
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

------------------------------------------------------------------------------------------
-- 2. Change sets name people, not roles
------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION sys.cs_json(m cad.mutation, p_items boolean) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN jsonb_build_object(
    'id', m.id, 'kind', m.kind, 'status', m.status, 'reason', m.reason,
    'dossier_number', m.dossier_number, 'created_by', m.created_by, 'created_at', m.created_at,
    'created_by_name', (SELECT a.full_name FROM sys.account a WHERE a.role_name = m.created_by),
    'created_by_unit', (SELECT a.unit FROM sys.account a WHERE a.role_name = m.created_by),
    'submitted_at', m.submitted_at, 'decided_by', m.decided_by, 'decided_at', m.decided_at,
    'decided_by_name', (SELECT a.full_name FROM sys.account a WHERE a.role_name = m.decided_by),
    'decided_by_unit', (SELECT a.unit FROM sys.account a WHERE a.role_name = m.decided_by),
    'decision_comment', m.decision_comment,
    'items', CASE WHEN p_items THEN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'id', i.id, 'op', i.op, 'parcel_ids', to_jsonb(i.parcel_ids),
            'base_versions', to_jsonb(i.base_versions), 'attributes', i.attributes,
            'geoms', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'ord', g.ord, 'parcel_id', g.parcel_id, 'attributes', g.attributes,
                          'area', ST_Area(g.geom),
                          'wkb', encode(ST_AsBinary(g.geom), 'hex')) ORDER BY g.ord), '[]')
                      FROM cad.change_item_geom g WHERE g.item_id = i.id)) ORDER BY i.id), '[]')
        FROM cad.change_item i WHERE i.mutation_id = m.id) ELSE '[]'::jsonb END);
