-- 0011: change sets (biến động) — drafts, validation, submit, approve/reject (issue 5).
--
-- A change set IS a cad.mutation. Its edits are drafted as cad.change_item rows (one per
-- split / merge / reshape / new parcel / attribute change) with their proposed geometries
-- in cad.change_item_geom. Drafts are NOT official: cad.parcel and its records are touched
-- only by api.approve_change_set, which applies the whole change set in one transaction.
--
-- Validation has ONE implementation: sys.cs_problems(change set[, item]). It runs
--   * in every draft function, on the new item in the context of the set: an item with a
--     problem is NOT stored (the function rolls its insert back and returns the problems);
--   * in api.validate_change_set (what the client shows), api.submit_change_set and again
--     inside api.approve_change_set, which refuse (23514) while any problem remains.
-- Concurrency: each item records the version of every parcel it touches; a draft, the
-- submit and the approval compare them with the current versions and fail with 40001 and
-- a message naming the parcel, the versions, who changed it, when and in which change set.
--
-- Every function is SECURITY DEFINER with a pinned search_path, checks the right and the
-- area itself (RLS would hide the GiST index, pitfall P2), and raises Vietnamese messages.
-- @SRID@ is the deployment's CRS, substituted by the migration.

------------------------------------------------------------------------------------------
-- 1. Tables
------------------------------------------------------------------------------------------
ALTER TABLE cad.mutation
    ADD COLUMN IF NOT EXISTS submitted_at timestamptz,
    ADD COLUMN IF NOT EXISTS decision_comment text;
CREATE INDEX IF NOT EXISTS mutation_status_idx ON cad.mutation (status, id);

-- One edit of a change set. parcel_ids/base_versions: the existing parcels it touches and
-- the version of each the clerk started from (optimistic concurrency).
CREATE TABLE cad.change_item (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mutation_id    bigint NOT NULL REFERENCES cad.mutation,
    op             text NOT NULL CHECK (op IN ('split', 'merge', 'reshape', 'new', 'attributes')),
    parcel_ids     bigint[] NOT NULL DEFAULT '{}',
    base_versions  integer[] NOT NULL DEFAULT '{}',
    attributes     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(parcel_ids) = cardinality(base_versions))
);
CREATE INDEX change_item_mutation_idx ON cad.change_item (mutation_id);
CREATE INDEX change_item_parcels_idx ON cad.change_item USING gin (parcel_ids);

-- Proposed geometries of an item: the parts of a split, the merged parcel, the new shape of
-- each reshaped parcel (parcel_id), a new parcel. No validity CHECK here on purpose: the
-- draft functions insert, validate and roll back an invalid item themselves, so a broken
-- shape never stays, and the problem comes back with its location instead of a bare 23514.
CREATE TABLE cad.change_item_geom (
    item_id     bigint NOT NULL REFERENCES cad.change_item ON DELETE CASCADE,
    ord         smallint NOT NULL CHECK (ord > 0),
    parcel_id   bigint REFERENCES cad.parcel,
    commune_id  bigint REFERENCES ref.admin_unit,   -- where it lies (area rule, listing)
    geom        geometry(MultiPolygon, @SRID@) NOT NULL,
    attributes  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    PRIMARY KEY (item_id, ord)
);
CREATE INDEX change_item_geom_geom_idx ON cad.change_item_geom USING gist (geom);
CREATE INDEX change_item_geom_commune_idx ON cad.change_item_geom (commune_id);

-- Reads: visible with their change set (whose policy applies inside this one).
ALTER TABLE cad.change_item ENABLE ROW LEVEL SECURITY;
ALTER TABLE cad.change_item_geom ENABLE ROW LEVEL SECURITY;
CREATE POLICY area ON cad.change_item FOR SELECT USING (
    EXISTS (SELECT 1 FROM cad.mutation m WHERE m.id = change_item.mutation_id));
CREATE POLICY area ON cad.change_item_geom FOR SELECT USING (
    EXISTS (SELECT 1 FROM cad.change_item i WHERE i.id = change_item_geom.item_id));
REVOKE ALL ON cad.change_item, cad.change_item_geom FROM PUBLIC;
GRANT SELECT ON cad.change_item, cad.change_item_geom TO lr_cadastral_viewer;

SELECT audit.attach('cad.change_item'::regclass);
SELECT audit.attach('cad.change_item_geom'::regclass);

------------------------------------------------------------------------------------------
-- 2. Small helpers (internal: only definer functions call them)
------------------------------------------------------------------------------------------
-- Largest overlap (and lost area) still accepted, m² (sys.setting overlap_tolerance_m2).
CREATE FUNCTION sys.cs_tolerance() RETURNS float8
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT (s.value #>> '{}')::float8 FROM sys.setting s
                 WHERE s.key = 'overlap_tolerance_m2'), 0.01);

-- "12,35 m²" for messages.
CREATE FUNCTION sys.cs_m2(p float8) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN replace(round(p::numeric, 2)::text, '.', ',') || ' m²';

-- A polygon from the client's WKB, in the province CRS, as MultiPolygon. Validity is the
-- validator's job (it reports the reason and the place).
CREATE FUNCTION sys.cs_geom(p_wkb bytea, p_what text) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    g public.geometry;
BEGIN
    IF p_wkb IS NULL THEN
        RAISE EXCEPTION '%: thiếu hình học', p_what USING ERRCODE = '22023';
    END IF;
    IF octet_length(p_wkb) > 4000000 THEN
        RAISE EXCEPTION '%: hình học quá lớn (quá 4 MB)', p_what USING ERRCODE = '22023';
    END IF;
    BEGIN
        g := public.ST_GeomFromWKB(p_wkb);
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION '%: không đọc được hình học (WKB hỏng)', p_what USING ERRCODE = '22023';
    END;
    IF public.GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
        RAISE EXCEPTION '%: cần một vùng (Polygon), nhận %', p_what, public.GeometryType(g)
            USING ERRCODE = '22023';
    END IF;
    IF public.ST_IsEmpty(g) THEN
        RAISE EXCEPTION '%: hình học rỗng', p_what USING ERRCODE = '22023';
    END IF;
    IF NOT (abs(public.ST_XMin(g)) < 1e8 AND abs(public.ST_XMax(g)) < 1e8
            AND abs(public.ST_YMin(g)) < 1e8 AND abs(public.ST_YMax(g)) < 1e8) THEN
        RAISE EXCEPTION '%: tọa độ không hợp lệ', p_what USING ERRCODE = '22023';
    END IF;
    RETURN public.ST_Multi(public.ST_SetSRID(public.ST_Force2D(g), @SRID@));
END
$fn$;

-- Attributes a clerk may give a parcel in a change set, checked for form (not for meaning:
-- unknown codes and areas out of tolerance are validation problems). Returns them cleaned.
--   land_use_code  text         one purpose covering the whole legal area
--   land_uses      [{code, area}]  several purposes (areas in m², to 0.1)
--   address        text
--   area_legal     number       m², to 0.1 (default: the computed area)
CREATE FUNCTION sys.cs_clean_attrs(p_attrs jsonb, p_what text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_key text;
    v_out jsonb := '{}';
    v_use jsonb;
    v_uses jsonb := '[]';
    v_area numeric;
BEGIN
    IF p_attrs IS NULL OR p_attrs = 'null' THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(p_attrs) <> 'object' THEN
        RAISE EXCEPTION '%: thuộc tính phải là một đối tượng JSON', p_what USING ERRCODE = '22023';
    END IF;
    FOR v_key IN SELECT k FROM jsonb_object_keys(p_attrs) k LOOP
        IF v_key NOT IN ('land_use_code', 'land_uses', 'address', 'area_legal') THEN
            RAISE EXCEPTION '%: thuộc tính «%» không được biết', p_what, left(v_key, 40)
                USING ERRCODE = '22023',
                      HINT = 'Attributes: land_use_code, land_uses, address, area_legal.';
        END IF;
    END LOOP;
    IF p_attrs ? 'land_use_code' AND p_attrs -> 'land_use_code' <> 'null' THEN
        IF jsonb_typeof(p_attrs -> 'land_use_code') <> 'string' THEN
            RAISE EXCEPTION '%: mã loại đất phải là chữ', p_what USING ERRCODE = '22023';
        END IF;
        v_out := v_out || jsonb_build_object('land_use_code',
                                             upper(btrim(left(p_attrs ->> 'land_use_code', 10))));
    END IF;
    IF p_attrs ? 'land_uses' AND p_attrs -> 'land_uses' <> 'null' THEN
        IF jsonb_typeof(p_attrs -> 'land_uses') <> 'array'
           OR jsonb_array_length(p_attrs -> 'land_uses') NOT BETWEEN 1 AND 20 THEN
            RAISE EXCEPTION '%: danh sách mục đích sử dụng phải có từ 1 đến 20 mục', p_what
                USING ERRCODE = '22023';
        END IF;
        FOR v_use IN SELECT x FROM jsonb_array_elements(p_attrs -> 'land_uses') x LOOP
            IF jsonb_typeof(v_use) <> 'object' OR jsonb_typeof(v_use -> 'code') <> 'string'
               OR jsonb_typeof(v_use -> 'area') <> 'number' THEN
                RAISE EXCEPTION '%: mỗi mục đích sử dụng cần mã (code) và diện tích (area)', p_what
                    USING ERRCODE = '22023';
            END IF;
            v_area := (v_use -> 'area')::numeric;
            IF NOT (v_area > 0 AND v_area < 1e9) OR round(v_area, 1) <> v_area THEN
                RAISE EXCEPTION '%: diện tích mục đích sử dụng phải dương, ghi tới 0,1 m²', p_what
                    USING ERRCODE = '22023';
            END IF;
            v_uses := v_uses || jsonb_build_object('code', upper(btrim(left(v_use ->> 'code', 10))),
                                                   'area', v_area);
        END LOOP;
        v_out := v_out || jsonb_build_object('land_uses', v_uses);
    END IF;
    IF p_attrs ? 'address' AND p_attrs -> 'address' <> 'null' THEN
        IF jsonb_typeof(p_attrs -> 'address') <> 'string' THEN
            RAISE EXCEPTION '%: địa chỉ phải là chữ', p_what USING ERRCODE = '22023';
        END IF;
        v_out := v_out || jsonb_build_object('address', sys.api_clean_address(p_attrs ->> 'address'));
    END IF;
    IF p_attrs ? 'area_legal' AND p_attrs -> 'area_legal' <> 'null' THEN
        IF jsonb_typeof(p_attrs -> 'area_legal') <> 'number' THEN
            RAISE EXCEPTION '%: diện tích pháp lý phải là một số', p_what USING ERRCODE = '22023';
        END IF;
        v_area := (p_attrs -> 'area_legal')::numeric;
        IF NOT (v_area > 0 AND v_area < 1e9) OR round(v_area, 1) <> v_area THEN
            RAISE EXCEPTION '%: diện tích pháp lý phải dương, ghi tới 0,1 m² (nhận %)', p_what,
                left(v_area::text, 30) USING ERRCODE = '22023';
        END IF;
        v_out := v_out || jsonb_build_object('area_legal', v_area);
    END IF;
    RETURN jsonb_strip_nulls(v_out);
END
$fn$;

-- The commune in force and the map sheet where a new parcel lies (its interior point).
CREATE FUNCTION sys.cs_locate(p_geom geometry, OUT commune_id bigint, OUT sheet_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_pt public.geometry;
    v_commune bigint;
    v_sheet bigint;
BEGIN
    IF NOT public.ST_IsValid(p_geom) THEN
        RETURN;
    END IF;
    v_pt := public.ST_PointOnSurface(p_geom);
    SELECT u.id INTO v_commune FROM ref.admin_unit u
    WHERE u.level = 'commune' AND u.valid_to IS NULL
      AND u.geom OPERATOR(public.&&) v_pt AND public.ST_Intersects(u.geom, v_pt)
    ORDER BY u.id LIMIT 1;
    -- Prefer a sheet surveyed in that commune (or one it took over).
    SELECT s.id INTO v_sheet FROM cad.map_sheet s
    WHERE s.frame OPERATOR(public.&&) v_pt AND public.ST_Intersects(s.frame, v_pt)
    ORDER BY (s.commune_id = v_commune
              OR s.commune_id IN (SELECT x.predecessor_id FROM ref.admin_unit_succession x
                                  WHERE x.successor_id = v_commune)) DESC NULLS LAST,
             s.scale, s.id
    LIMIT 1;
    IF v_commune IS NULL AND v_sheet IS NOT NULL THEN
        SELECT s.commune_id INTO v_commune FROM cad.map_sheet s WHERE s.id = v_sheet;
    END IF;
    commune_id := v_commune;
    sheet_id := v_sheet;
END
$fn$;

-- What changed a parcel since the version a clerk started from, as a Vietnamese sentence
-- (NULL when nothing did): versions, who, when, in which change set — from hist.parcel.
CREATE FUNCTION sys.cs_conflict_text(p_parcel_id bigint, p_base integer) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.parcel;
    h record;
    m cad.mutation;
    v_text text;
BEGIN
    SELECT * INTO v FROM cad.parcel WHERE id = p_parcel_id;
    IF NOT FOUND THEN
        RETURN format('Không có thửa đất mã %s', p_parcel_id);
    END IF;
    IF v.version = p_base AND v.retired_at IS NULL THEN
        RETURN NULL;
    END IF;
    -- The newest closed version: closed by the latest change (its author and time).
    SELECT hp.closed_by, upper(hp.version_period) AS at, hp.change_set INTO h
    FROM hist.parcel hp WHERE hp.id = p_parcel_id AND hp.version >= p_base
    ORDER BY upper(hp.version_period) DESC, hp.hist_id DESC LIMIT 1;
    v_text := format('%s đã thay đổi từ khi bạn bắt đầu soạn: phiên bản %s → %s',
                     sys.api_parcel_label(p_parcel_id), p_base, v.version);
    IF v.retired_at IS NOT NULL THEN
        v_text := v_text || format(', đã ngừng hiệu lực lúc %s', sys.vn_time(v.retired_at));
    END IF;
    IF h.at IS NOT NULL THEN
        v_text := v_text || format(', do %s thực hiện lúc %s', h.closed_by, sys.vn_time(h.at));
        IF h.change_set IS NOT NULL THEN
            SELECT * INTO m FROM cad.mutation WHERE id = h.change_set;
            IF FOUND THEN
                v_text := v_text || format(' (biến động số %s, %s, do %s lập: «%s»)', m.id,
                                           m.kind, m.created_by, left(m.reason, 80));
            END IF;
        END IF;
    END IF;
    RETURN v_text || '. Không có gì bị ghi đè: hãy tải lại thửa đất và soạn lại thay đổi.';
END
$fn$;

-- 40001 on the first parcel of the change set changed since its item was drafted.
CREATE FUNCTION sys.cs_check_versions(p_mutation_id bigint) RETURNS void
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
    IF v_text IS NOT NULL THEN
        RAISE EXCEPTION '%', v_text
            USING ERRCODE = '40001',
                  HINT = 'A parcel changed after this change set was drafted; reload and redraft.';
    END IF;
END
$fn$;

-- How an item's proposed geometry is named in messages.
CREATE FUNCTION sys.cs_geom_label(p_op text, p_parcel_ids bigint[], p_ord integer,
                                  p_parcel_id bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN CASE p_op
    WHEN 'split' THEN format('Phần %s tách từ %s', p_ord, sys.api_parcel_label(p_parcel_ids[1]))
    WHEN 'merge' THEN format('Thửa hợp từ %s', (SELECT string_agg(sys.api_parcel_label(x), ', ')
                                                FROM unnest(p_parcel_ids) x))
    WHEN 'reshape' THEN format('Ranh giới mới của %s', sys.api_parcel_label(p_parcel_id))
    WHEN 'new' THEN format('Thửa mới thứ %s', p_ord)
    ELSE sys.api_parcel_label(p_parcel_ids[1]) END;

-- Scale of the sheet a geometry of the item is drawn on (for the area tolerance).
CREATE FUNCTION sys.cs_scale(p_parcel_id bigint, p_geom geometry) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN coalesce(
    (SELECT s.scale FROM cad.parcel p JOIN cad.map_sheet s ON s.id = p.sheet_id
     WHERE p.id = p_parcel_id),
    (SELECT s.scale FROM cad.map_sheet s WHERE s.id = (sys.cs_locate(p_geom)).sheet_id),
    1000);

-- Problems of the attributes of one proposed parcel (or of an attribute change).
CREATE FUNCTION sys.cs_attr_problems(p_attrs jsonb, p_area float8, p_legal_default numeric,
                                     p_scale integer, p_required boolean, p_label text)
RETURNS TABLE (code text, message text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_code text;
    v_ref ref.land_use_code;
    v_legal numeric := coalesce((p_attrs ->> 'area_legal')::numeric, p_legal_default,
                                round(p_area::numeric, 1));
    v_sum numeric;
    v_tol numeric;
BEGIN
    IF p_required AND NOT (p_attrs ? 'land_use_code' OR p_attrs ? 'land_uses') THEN
        code := 'REQUIRED_ATTRIBUTE';
        message := format('%s: thiếu mục đích sử dụng đất (mã loại đất)', p_label);
        RETURN NEXT;
    END IF;
    FOR v_code IN
        SELECT p_attrs ->> 'land_use_code' WHERE p_attrs ? 'land_use_code'
        UNION ALL
        SELECT u ->> 'code' FROM jsonb_array_elements(coalesce(p_attrs -> 'land_uses', '[]')) u
    LOOP
        SELECT * INTO v_ref FROM ref.land_use_code r WHERE r.code = v_code;
        IF NOT FOUND THEN
            code := 'LAND_USE_CODE';
            message := format('%s: mã loại đất «%s» không có trong danh mục (TT 08/2024)',
                              p_label, v_code);
            RETURN NEXT;
        ELSIF v_ref.status <> 'current' THEN
            code := 'LAND_USE_CODE';
            message := format('%s: mã %s (%s) là mã cũ theo TT 27/2018, không dùng cho thửa mới%s',
                              p_label, v_code, v_ref.name_vi,
                              coalesce('; mã hiện hành tương ứng là ' || v_ref.maps_to, ''));
            RETURN NEXT;
        END IF;
    END LOOP;
    IF p_attrs ? 'area_legal' AND p_area IS NOT NULL THEN
        v_tol := cad.area_tolerance(v_legal, p_scale);
        IF abs(p_area::numeric - v_legal) > v_tol THEN
            code := 'AREA_TOLERANCE';
            message := format('%s: diện tích tính được %s khác diện tích pháp lý %s quá sai số '
                              'cho phép %s (tỷ lệ 1:%s)', p_label, sys.cs_m2(p_area),
                              sys.cs_m2(v_legal), sys.cs_m2(v_tol), p_scale);
            RETURN NEXT;
        END IF;
    END IF;
    IF p_attrs ? 'land_uses' THEN
        SELECT sum((u ->> 'area')::numeric) INTO v_sum
        FROM jsonb_array_elements(p_attrs -> 'land_uses') u;
        IF abs(v_sum - v_legal) > 0.1 THEN
            code := 'LAND_USE_SUM';
            message := format('%s: tổng diện tích các mục đích sử dụng (%s) khác diện tích pháp lý (%s)',
                              p_label, sys.cs_m2(v_sum), sys.cs_m2(v_legal));
            RETURN NEXT;
        END IF;
    END IF;
END
$fn$;

------------------------------------------------------------------------------------------
-- 3. Validation: the one implementation
------------------------------------------------------------------------------------------
-- Problems of change set p_mutation_id; with p_item only those of that item (a draft
-- being saved), checked against everything else in the set and in the store.
CREATE FUNCTION sys.cs_problems(p_mutation_id bigint, p_item bigint DEFAULT NULL)
RETURNS TABLE (code text, message text, parcel_id bigint, item_id bigint, location geometry)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    v_tol float8 := sys.cs_tolerance();
    v_replaced bigint[];
BEGIN
    -- Parcels whose geometry the set replaces: they are not neighbours of its new shapes.
    SELECT coalesce(array_agg(DISTINCT x), '{}') INTO v_replaced
    FROM cad.change_item i CROSS JOIN LATERAL unnest(i.parcel_ids) x
    WHERE i.mutation_id = p_mutation_id AND i.op IN ('split', 'merge', 'reshape');

    -- Stale base versions (reported here for the review; submit/approve raise 40001).
    RETURN QUERY
    SELECT 'VERSION_CONFLICT', sys.cs_conflict_text(x.pid, x.base), x.pid, i.id,
           ST_PointOnSurface(p.geom)
    FROM cad.change_item i
    CROSS JOIN LATERAL unnest(i.parcel_ids, i.base_versions) AS x(pid, base)
    JOIN cad.parcel p ON p.id = x.pid
    WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
      AND (p.version <> x.base OR p.retired_at IS NOT NULL);

    -- Valid geometry, with the reason and the place.
    RETURN QUERY
    SELECT 'INVALID_GEOMETRY',
           format('%s: hình học không hợp lệ — %s', sys.cs_geom_label(i.op, i.parcel_ids, g.ord, g.parcel_id),
                  CASE WHEN d.reason ILIKE 'Ring Self-intersection%' THEN 'vòng ranh giới tự cắt'
                       WHEN d.reason ILIKE 'Self-intersection%' THEN 'ranh giới tự cắt'
                       WHEN d.reason ILIKE 'Too few points%' THEN 'quá ít điểm'
                       WHEN d.reason ILIKE 'Hole lies outside shell%' THEN 'lỗ nằm ngoài vùng'
                       WHEN d.reason ILIKE 'Nested shells%' THEN 'các vùng lồng nhau'
                       WHEN d.reason ILIKE 'Interior is disconnected%' THEN 'phần trong bị tách rời'
                       ELSE 'lỗi hình học' END || ' (' || coalesce(d.reason, '?') || ')'),
           g.parcel_id, i.id,
           coalesce(d.location, ST_StartPoint(ST_ExteriorRing(ST_GeometryN(g.geom, 1))))
    FROM cad.change_item i JOIN cad.change_item_geom g ON g.item_id = i.id
    CROSS JOIN LATERAL (SELECT (ST_IsValidDetail(g.geom)).*) d
    WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
      AND NOT d.valid;

    -- Overlap with official neighbours beyond the tolerance (and beyond what the replaced
    -- parcels already overlapped: old data is not the clerk's fault).
    RETURN QUERY
    WITH g AS MATERIALIZED (
        SELECT i.id AS item_id, i.op, i.parcel_ids, g.ord, g.parcel_id, g.geom
        FROM cad.change_item i JOIN cad.change_item_geom g ON g.item_id = i.id
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND ST_IsValid(g.geom)
    ), o AS MATERIALIZED (
        SELECT g.*, n.id AS nid, n.geom AS ngeom, ST_Intersection(g.geom, n.geom) AS inter
        FROM g JOIN cad.parcel n
          ON n.geom && g.geom AND n.retired_at IS NULL AND n.id <> ALL (v_replaced)
         AND ST_Intersects(n.geom, g.geom)
    )
    SELECT 'OVERLAP',
           format('%s chồng lấn lên %s: %s (dung sai %s)',
                  sys.cs_geom_label(o.op, o.parcel_ids, o.ord, o.parcel_id),
                  sys.api_parcel_label(o.nid), sys.cs_m2(ST_Area(o.inter)), sys.cs_m2(v_tol)),
           o.nid, o.item_id, ST_PointOnSurface(o.inter)
    FROM o
    WHERE ST_Area(o.inter) > v_tol
      AND ST_Area(o.inter) > v_tol + CASE WHEN o.op = 'new' THEN 0 ELSE (
              SELECT coalesce(sum(ST_Area(ST_Intersection(prev.geom, o.ngeom))), 0)
              FROM cad.parcel prev
              WHERE prev.id = ANY (CASE WHEN o.op = 'reshape' THEN ARRAY[o.parcel_id]
                                        ELSE o.parcel_ids END)
                AND prev.geom && o.ngeom) END;

    -- Overlap between the set's own proposed shapes (split parts among themselves too).
    RETURN QUERY
    WITH g AS MATERIALIZED (
        SELECT i.id AS item_id, i.op, i.parcel_ids, g.ord, g.parcel_id, g.geom
        FROM cad.change_item i JOIN cad.change_item_geom g ON g.item_id = i.id
        WHERE i.mutation_id = p_mutation_id AND ST_IsValid(g.geom)
    ), pairs AS (
        SELECT a.item_id AS ia, a.op AS opa, a.parcel_ids AS pa, a.ord AS oa, a.parcel_id AS qa,
               b.item_id AS ib, b.op AS opb, b.parcel_ids AS pb, b.ord AS ob, b.parcel_id AS qb,
               ST_Intersection(a.geom, b.geom) AS inter
        FROM g a JOIN g b
          ON (a.item_id, a.ord) < (b.item_id, b.ord) AND a.geom && b.geom
         AND ST_Intersects(a.geom, b.geom)
        WHERE p_item IS NULL OR b.item_id = p_item OR a.item_id = p_item
    )
    SELECT CASE WHEN pairs.ia = pairs.ib AND pairs.opa = 'split' THEN 'SPLIT_PARTS_OVERLAP'
                ELSE 'OVERLAP_IN_SET' END,
           format('%s chồng lấn lên %s: %s (dung sai %s)',
                  sys.cs_geom_label(pairs.opb, pairs.pb, pairs.ob, pairs.qb),
                  lower(left(sys.cs_geom_label(pairs.opa, pairs.pa, pairs.oa, pairs.qa), 1))
                  || substr(sys.cs_geom_label(pairs.opa, pairs.pa, pairs.oa, pairs.qa), 2),
                  sys.cs_m2(ST_Area(pairs.inter)), sys.cs_m2(v_tol)),
           coalesce(pairs.qb, pairs.pb[1]), pairs.ib, ST_PointOnSurface(pairs.inter)
    FROM pairs WHERE ST_Area(pairs.inter) > v_tol;

    -- Split parts must cover the parcel exactly; a merge must be the union of its parcels.
    RETURN QUERY
    WITH it AS (
        SELECT i.id, i.op, i.parcel_ids,
               (SELECT ST_Union(g.geom) FROM cad.change_item_geom g WHERE g.item_id = i.id) AS newg,
               (SELECT bool_and(ST_IsValid(g.geom)) FROM cad.change_item_geom g
                WHERE g.item_id = i.id) AS ok,
               (SELECT ST_Union(p.geom) FROM cad.parcel p WHERE p.id = ANY (i.parcel_ids)) AS oldg
        FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op IN ('split', 'merge')
    ), d AS (
        SELECT it.*, ST_Difference(it.oldg, it.newg) AS missing,
               ST_Difference(it.newg, it.oldg) AS extra
        FROM it WHERE it.ok AND it.oldg IS NOT NULL
    )
    SELECT CASE d.op WHEN 'split' THEN 'SPLIT_COVER' ELSE 'MERGE_COVER' END,
           CASE d.op WHEN 'split'
                THEN format('Các phần tách chưa phủ hết %s: còn thiếu %s',
                            sys.api_parcel_label(d.parcel_ids[1]), sys.cs_m2(ST_Area(d.missing)))
                ELSE format('Thửa hợp chưa phủ hết các thửa gốc: còn thiếu %s', sys.cs_m2(ST_Area(d.missing)))
           END,
           d.parcel_ids[1], d.id, ST_PointOnSurface(d.missing)
    FROM d WHERE ST_Area(d.missing) > v_tol
    UNION ALL
    SELECT CASE d.op WHEN 'split' THEN 'SPLIT_COVER' ELSE 'MERGE_COVER' END,
           CASE d.op WHEN 'split'
                THEN format('Các phần tách vượt ra ngoài %s: thừa %s',
                            sys.api_parcel_label(d.parcel_ids[1]), sys.cs_m2(ST_Area(d.extra)))
                ELSE format('Thửa hợp vượt ra ngoài các thửa gốc: thừa %s', sys.cs_m2(ST_Area(d.extra)))
           END,
           d.parcel_ids[1], d.id, ST_PointOnSurface(d.extra)
    FROM d WHERE ST_Area(d.extra) > v_tol;

    -- A merge joins adjacent parcels (sharing a boundary, not a corner) of one commune.
    RETURN QUERY
    WITH m AS (
        SELECT i.id, i.parcel_ids,
               (SELECT ST_Union(p.geom) FROM cad.parcel p WHERE p.id = ANY (i.parcel_ids)) AS u,
               (SELECT count(DISTINCT p.commune_id) FROM cad.parcel p
                WHERE p.id = ANY (i.parcel_ids)) AS communes
        FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op = 'merge'
    )
    SELECT 'MERGE_NOT_ADJACENT',
           format('Các thửa %s không liền kề nhau (không chung cạnh), không hợp thửa được',
                  (SELECT string_agg(sys.api_parcel_label(x), ', ') FROM unnest(m.parcel_ids) x)),
           m.parcel_ids[2], m.id,
           (SELECT ST_PointOnSurface(d.geom) FROM ST_Dump(m.u) d
            ORDER BY ST_Area(d.geom) LIMIT 1)
    FROM m WHERE ST_NumGeometries(m.u) > 1
    UNION ALL
    SELECT 'MERGE_COMMUNE', 'Các thửa hợp phải cùng một xã, phường', m.parcel_ids[1], m.id,
           ST_PointOnSurface(m.u)
    FROM m WHERE m.communes > 1
    UNION ALL
    SELECT 'MERGE_HOLDERS',
           'Các thửa hợp phải cùng người sử dụng đất (hãy chuyển quyền trước khi hợp thửa)',
           m.parcel_ids[1], m.id, ST_PointOnSurface(m.u)
    FROM m
    WHERE (SELECT count(DISTINCT h) FROM (
               SELECT p.id, coalesce((SELECT array_agg(DISTINCT r.party_id ORDER BY r.party_id)
                                      FROM cad.land_right r
                                      WHERE r.parcel_id = p.id AND r.valid_to IS NULL
                                        AND r.kind = 'su_dung'), '{}') AS h
               FROM cad.parcel p WHERE p.id = ANY (m.parcel_ids)) hs) > 1;

    -- No new gap: land a reshape takes from the set and gives to nobody, where it lay
    -- between two parcels (a boundary pulled back along a road is released, not a gap).
    RETURN QUERY
    WITH r AS (
        SELECT i.id, i.parcel_ids FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op = 'reshape'
          AND NOT EXISTS (SELECT 1 FROM cad.change_item_geom g
                          WHERE g.item_id = i.id AND NOT ST_IsValid(g.geom))
    ), lost AS (
        SELECT r.id, d.geom
        FROM r CROSS JOIN LATERAL (
            SELECT ST_Difference(
                (SELECT ST_Union(p.geom) FROM cad.parcel p WHERE p.id = ANY (r.parcel_ids)),
                (SELECT ST_Union(g.geom) FROM cad.change_item_geom g WHERE g.item_id = r.id))
        ) AS l(geom)
        CROSS JOIN LATERAL ST_Dump(l.geom) d
        WHERE ST_Area(d.geom) > v_tol
    ), borders AS (
        SELECT lost.id, lost.geom, (
            SELECT count(*) FROM (
                SELECT n.id FROM cad.parcel n
                WHERE n.geom && lost.geom AND n.retired_at IS NULL AND n.id <> ALL (v_replaced)
                  AND ST_Length(ST_Intersection(ST_Boundary(lost.geom), n.geom)) > 0.01
                UNION ALL
                SELECT g.parcel_id FROM cad.change_item_geom g
                JOIN cad.change_item i ON i.id = g.item_id
                WHERE i.mutation_id = p_mutation_id AND g.geom && lost.geom
                  AND ST_IsValid(g.geom)
                  AND ST_Length(ST_Intersection(ST_Boundary(lost.geom), g.geom)) > 0.01) b
        ) AS n
        FROM lost
    )
    SELECT 'GAP',
           format('Thay đổi ranh giới tạo khe hở %s giữa các thửa đất trước đây liền nhau',
                  sys.cs_m2(ST_Area(borders.geom))),
           NULL::bigint, borders.id, ST_PointOnSurface(borders.geom)
    FROM borders WHERE borders.n >= 2;

    -- Attributes: required ones, land-use codes, legal vs computed area.
    RETURN QUERY
    SELECT a.code, a.message, coalesce(g.parcel_id, i.parcel_ids[1]), i.id,
           ST_PointOnSurface(g.geom)
    FROM cad.change_item i JOIN cad.change_item_geom g ON g.item_id = i.id
    CROSS JOIN LATERAL sys.cs_attr_problems(
        g.attributes, CASE WHEN ST_IsValid(g.geom) THEN ST_Area(g.geom) END, NULL,
        sys.cs_scale(coalesce(g.parcel_id, i.parcel_ids[1]), g.geom), i.op = 'new',
        sys.cs_geom_label(i.op, i.parcel_ids, g.ord, g.parcel_id)) a
    WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item);
    RETURN QUERY
    SELECT a.code, a.message, p.id, i.id, ST_PointOnSurface(p.geom)
    FROM cad.change_item i JOIN cad.parcel p ON p.id = i.parcel_ids[1]
    JOIN cad.map_sheet s ON s.id = p.sheet_id
    CROSS JOIN LATERAL sys.cs_attr_problems(i.attributes, p.area_computed, p.area_legal, s.scale,
                                            false, sys.api_parcel_label(p.id)) a
    WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
      AND i.op = 'attributes';

    -- A new parcel must lie on a map sheet of a commune.
    RETURN QUERY
    SELECT 'NO_SHEET', format('Thửa mới thứ %s không nằm trên tờ bản đồ nào', g.ord),
           NULL::bigint, i.id, ST_PointOnSurface(g.geom)
    FROM cad.change_item i JOIN cad.change_item_geom g ON g.item_id = i.id
    WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
      AND i.op = 'new' AND ST_IsValid(g.geom) AND (sys.cs_locate(g.geom)).sheet_id IS NULL;
END
$fn$;

------------------------------------------------------------------------------------------
-- 4. Drafting (editors, author only, status nhap)
------------------------------------------------------------------------------------------
-- The caller's draft change set, locked against concurrent edits of it; enters it for the
-- audit (landrec.change_set).
CREATE FUNCTION sys.cs_enter_draft(p_mutation_id bigint) RETURNS cad.mutation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    m cad.mutation;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'editor');
    IF p_mutation_id IS NULL THEN
        RAISE EXCEPTION 'Thiếu mã biến động' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO m FROM cad.mutation WHERE id = p_mutation_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có biến động mã %', p_mutation_id USING ERRCODE = '22023';
    END IF;
    IF m.created_by <> session_user THEN
        RAISE EXCEPTION 'Biến động số % do % lập; chỉ người lập được soạn thay đổi trong đó',
            p_mutation_id, m.created_by USING ERRCODE = '42501';
    END IF;
    IF m.status <> 'nhap' THEN
        RAISE EXCEPTION 'Biến động số % không còn là bản nháp (%), không sửa được',
            p_mutation_id, CASE m.status WHEN 'da_nop' THEN 'đã nộp' WHEN 'da_duyet' THEN 'đã duyệt'
                                         ELSE 'đã bị từ chối' END
            USING ERRCODE = '55000';
    END IF;
    PERFORM pg_catalog.set_config('landrec.change_set', p_mutation_id::text, true);
    RETURN m;
END
$fn$;

-- An existing parcel a draft touches: exists, current, in the caller's area, at the
-- version the clerk started from (40001 otherwise), not yet in another item of the set.
CREATE FUNCTION sys.cs_draft_parcel(p_mutation_id bigint, p_parcel_id bigint,
                                    p_base_version integer) RETURNS cad.parcel
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.parcel;
    v_text text;
BEGIN
    IF p_parcel_id IS NULL OR p_base_version IS NULL THEN
        RAISE EXCEPTION 'Thiếu mã thửa đất hoặc phiên bản của nó' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v FROM cad.parcel WHERE id = p_parcel_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có thửa đất mã %', p_parcel_id USING ERRCODE = '22023';
    END IF;
    PERFORM sys.api_require_commune(v.commune_id, sys.api_parcel_label(p_parcel_id));
    v_text := sys.cs_conflict_text(p_parcel_id, p_base_version);
    IF v_text IS NOT NULL THEN
        RAISE EXCEPTION '%', v_text USING ERRCODE = '40001';
    END IF;
    IF EXISTS (SELECT 1 FROM cad.change_item i
               WHERE i.mutation_id = p_mutation_id AND i.parcel_ids @> ARRAY[p_parcel_id]) THEN
        RAISE EXCEPTION '% đã có trong một thay đổi khác của biến động này; hãy xóa thay đổi đó trước',
            sys.api_parcel_label(p_parcel_id) USING ERRCODE = '22023';
    END IF;
    RETURN v;
END
$fn$;

-- Problems as JSON for the client: location as hex WKB.
CREATE FUNCTION sys.cs_problems_json(p_mutation_id bigint, p_item bigint) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'code', q.code, 'message', q.message, 'parcel_id', q.parcel_id,
            'item_id', q.item_id, 'location', encode(ST_AsBinary(q.location), 'hex'))), '[]')
        FROM sys.cs_problems(p_mutation_id, p_item) q);

-- Keep the item just inserted if it has no problem; otherwise undo it. Raising 'LRCS0'
-- rolls back the caller's block (a savepoint) so nothing of an invalid item stays.
CREATE FUNCTION sys.cs_keep_or_undo(p_mutation_id bigint, p_item bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_problems jsonb := sys.cs_problems_json(p_mutation_id, p_item);
BEGIN
    IF v_problems <> '[]' THEN
        RAISE EXCEPTION 'LRCS0' USING ERRCODE = 'LRCS0', DETAIL = v_problems::text;
    END IF;
    -- The parcels join the change set (the area rule shows it to their commune).
    INSERT INTO cad.mutation_parcel (mutation_id, parcel_id)
    SELECT p_mutation_id, x FROM cad.change_item i CROSS JOIN LATERAL unnest(i.parcel_ids) x
    WHERE i.id = p_item
    ON CONFLICT DO NOTHING;
    RETURN jsonb_build_object('item_id', p_item, 'problems', v_problems);
END
$fn$;

-- Split: the parcel into parts (WKB polygons); p_part_attributes optional, one object per
-- part. Returns {"item_id": id | null, "problems": [...]}: an item with problems is not kept.
CREATE FUNCTION api.cs_draft_split(p_mutation_id bigint, p_parcel_id bigint,
                                   p_base_version integer, p_parts bytea[],
                                   p_part_attributes jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.parcel;
    v_item bigint;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    IF p_parts IS NULL OR cardinality(p_parts) NOT BETWEEN 2 AND 100 THEN
        RAISE EXCEPTION 'Tách thửa cần từ 2 đến 100 phần (nhận %)', coalesce(cardinality(p_parts), 0)
            USING ERRCODE = '22023';
    END IF;
    IF p_part_attributes IS NOT NULL AND (jsonb_typeof(p_part_attributes) <> 'array'
           OR jsonb_array_length(p_part_attributes) <> cardinality(p_parts)) THEN
        RAISE EXCEPTION 'Thuộc tính các phần tách phải là một mảng, mỗi phần một đối tượng'
            USING ERRCODE = '22023';
    END IF;
    v := sys.cs_draft_parcel(p_mutation_id, p_parcel_id, p_base_version);
    BEGIN
        INSERT INTO cad.change_item (mutation_id, op, parcel_ids, base_versions)
        VALUES (p_mutation_id, 'split', ARRAY[p_parcel_id], ARRAY[p_base_version])
        RETURNING id INTO v_item;
        INSERT INTO cad.change_item_geom (item_id, ord, commune_id, geom, attributes)
        SELECT v_item, t.o, v.commune_id, sys.cs_geom(t.w, format('Phần tách thứ %s', t.o)),
               sys.cs_clean_attrs(p_part_attributes -> (t.o::integer - 1),
                                  format('Phần tách thứ %s', t.o))
        FROM unnest(p_parts) WITH ORDINALITY AS t(w, o);
        RETURN sys.cs_keep_or_undo(p_mutation_id, v_item);
    EXCEPTION WHEN SQLSTATE 'LRCS0' THEN
        DECLARE
            v_detail text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
            RETURN jsonb_build_object('item_id', NULL, 'problems', v_detail::jsonb);
        END;
    END;
END
$fn$;

-- Merge: adjacent parcels of one commune into p_merged.
CREATE FUNCTION api.cs_draft_merge(p_mutation_id bigint, p_parcel_ids bigint[],
                                   p_base_versions integer[], p_merged bytea,
                                   p_attributes jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.parcel;
    v_item bigint;
    v_i integer;
    v_detail text;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    IF p_parcel_ids IS NULL OR cardinality(p_parcel_ids) NOT BETWEEN 2 AND 100
       OR p_base_versions IS NULL OR cardinality(p_base_versions) <> cardinality(p_parcel_ids)
       OR array_position(p_parcel_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'Hợp thửa cần từ 2 đến 100 thửa đất, mỗi thửa kèm phiên bản'
            USING ERRCODE = '22023';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(p_parcel_ids) x) <> cardinality(p_parcel_ids) THEN
        RAISE EXCEPTION 'Danh sách thửa hợp có mã trùng' USING ERRCODE = '22023';
    END IF;
    FOR v_i IN 1 .. cardinality(p_parcel_ids) LOOP
        v := sys.cs_draft_parcel(p_mutation_id, p_parcel_ids[v_i], p_base_versions[v_i]);
    END LOOP;
    BEGIN
        INSERT INTO cad.change_item (mutation_id, op, parcel_ids, base_versions)
        VALUES (p_mutation_id, 'merge', p_parcel_ids, p_base_versions)
        RETURNING id INTO v_item;
        INSERT INTO cad.change_item_geom (item_id, ord, commune_id, geom, attributes)
        VALUES (v_item, 1, v.commune_id, sys.cs_geom(p_merged, 'Thửa hợp'),
                sys.cs_clean_attrs(p_attributes, 'Thửa hợp'));
        RETURN sys.cs_keep_or_undo(p_mutation_id, v_item);
    EXCEPTION WHEN SQLSTATE 'LRCS0' THEN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
        RETURN jsonb_build_object('item_id', NULL, 'problems', v_detail::jsonb);
    END;
END
$fn$;

-- Reshape: new shapes for several parcels at once (a shared vertex moved in each parcel
-- that has it, a corrected common boundary).
CREATE FUNCTION api.cs_draft_reshape(p_mutation_id bigint, p_parcel_ids bigint[],
                                     p_base_versions integer[], p_geoms bytea[]) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.parcel;
    v_item bigint;
    v_i integer;
    v_detail text;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    IF p_parcel_ids IS NULL OR cardinality(p_parcel_ids) NOT BETWEEN 1 AND 100
       OR p_base_versions IS NULL OR cardinality(p_base_versions) <> cardinality(p_parcel_ids)
       OR p_geoms IS NULL OR cardinality(p_geoms) <> cardinality(p_parcel_ids)
       OR array_position(p_parcel_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'Sửa ranh giới cần từ 1 đến 100 thửa đất, mỗi thửa kèm phiên bản và hình mới'
            USING ERRCODE = '22023';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(p_parcel_ids) x) <> cardinality(p_parcel_ids) THEN
        RAISE EXCEPTION 'Danh sách thửa sửa ranh giới có mã trùng' USING ERRCODE = '22023';
    END IF;
    FOR v_i IN 1 .. cardinality(p_parcel_ids) LOOP
        v := sys.cs_draft_parcel(p_mutation_id, p_parcel_ids[v_i], p_base_versions[v_i]);
    END LOOP;
    BEGIN
        INSERT INTO cad.change_item (mutation_id, op, parcel_ids, base_versions)
        VALUES (p_mutation_id, 'reshape', p_parcel_ids, p_base_versions)
        RETURNING id INTO v_item;
        INSERT INTO cad.change_item_geom (item_id, ord, parcel_id, commune_id, geom)
        SELECT v_item, t.o, p_parcel_ids[t.o],
               (SELECT p.commune_id FROM cad.parcel p WHERE p.id = p_parcel_ids[t.o]),
               sys.cs_geom(t.w, sys.api_parcel_label(p_parcel_ids[t.o]))
        FROM unnest(p_geoms) WITH ORDINALITY AS t(w, o);
        RETURN sys.cs_keep_or_undo(p_mutation_id, v_item);
    EXCEPTION WHEN SQLSTATE 'LRCS0' THEN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
        RETURN jsonb_build_object('item_id', NULL, 'problems', v_detail::jsonb);
    END;
END
$fn$;

-- A new parcel (on unregistered land) with its attributes (land_use_code required).
CREATE FUNCTION api.cs_draft_new(p_mutation_id bigint, p_geom bytea, p_attributes jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_geom public.geometry;
    v_commune bigint;
    v_item bigint;
    v_attrs jsonb;
    v_ord integer;
    v_detail text;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    v_geom := sys.cs_geom(p_geom, 'Thửa mới');
    v_attrs := sys.cs_clean_attrs(p_attributes, 'Thửa mới');
    v_commune := (sys.cs_locate(v_geom)).commune_id;
    IF v_commune IS NOT NULL THEN
        PERFORM sys.api_require_commune(v_commune, 'Thửa mới');
    END IF;
    SELECT count(*) + 1 INTO v_ord FROM cad.change_item i
    WHERE i.mutation_id = p_mutation_id AND i.op = 'new';
    BEGIN
        INSERT INTO cad.change_item (mutation_id, op) VALUES (p_mutation_id, 'new')
        RETURNING id INTO v_item;
        INSERT INTO cad.change_item_geom (item_id, ord, commune_id, geom, attributes)
        VALUES (v_item, v_ord, v_commune, v_geom, v_attrs);
        RETURN sys.cs_keep_or_undo(p_mutation_id, v_item);
    EXCEPTION WHEN SQLSTATE 'LRCS0' THEN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
        RETURN jsonb_build_object('item_id', NULL, 'problems', v_detail::jsonb);
    END;
END
$fn$;

-- Attributes of an existing parcel (land use, address, legal area).
CREATE FUNCTION api.cs_draft_attributes(p_mutation_id bigint, p_parcel_id bigint,
                                        p_base_version integer, p_attributes jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v cad.parcel;
    v_attrs jsonb;
    v_item bigint;
    v_detail text;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    v_attrs := sys.cs_clean_attrs(p_attributes, 'Thay đổi thuộc tính');
    IF v_attrs = '{}' THEN
        RAISE EXCEPTION 'Không có thuộc tính nào để thay đổi' USING ERRCODE = '22023';
    END IF;
    v := sys.cs_draft_parcel(p_mutation_id, p_parcel_id, p_base_version);
    BEGIN
        INSERT INTO cad.change_item (mutation_id, op, parcel_ids, base_versions, attributes)
        VALUES (p_mutation_id, 'attributes', ARRAY[p_parcel_id], ARRAY[p_base_version], v_attrs)
        RETURNING id INTO v_item;
        RETURN sys.cs_keep_or_undo(p_mutation_id, v_item);
    EXCEPTION WHEN SQLSTATE 'LRCS0' THEN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
        RETURN jsonb_build_object('item_id', NULL, 'problems', v_detail::jsonb);
    END;
END
$fn$;

-- Remove an item from the caller's draft.
CREATE FUNCTION api.cs_remove_item(p_mutation_id bigint, p_item_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_parcels bigint[];
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    DELETE FROM cad.change_item WHERE id = p_item_id AND mutation_id = p_mutation_id
    RETURNING parcel_ids INTO v_parcels;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Biến động số % không có thay đổi mã %', p_mutation_id, p_item_id
            USING ERRCODE = '22023';
    END IF;
    DELETE FROM cad.mutation_parcel mp
    WHERE mp.mutation_id = p_mutation_id AND mp.parcel_id = ANY (v_parcels);
END
$fn$;

-- Problems of a change set the caller may see.
CREATE FUNCTION sys.cs_require_visible(p_mutation_id bigint) RETURNS cad.mutation
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    m cad.mutation;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    SELECT * INTO m FROM cad.mutation WHERE id = p_mutation_id;
    IF NOT FOUND OR NOT (
           m.created_by = session_user OR sys.sees_whole_province()
           OR EXISTS (SELECT 1 FROM cad.mutation_parcel mp JOIN cad.parcel p ON p.id = mp.parcel_id
                      WHERE mp.mutation_id = m.id AND p.commune_id = ANY (sys.my_units()))
           OR EXISTS (SELECT 1 FROM cad.change_item i JOIN cad.change_item_geom g ON g.item_id = i.id
                      WHERE i.mutation_id = m.id AND g.commune_id = ANY (sys.my_units()))) THEN
        RAISE EXCEPTION 'Không có biến động số % trong địa bàn của tài khoản %',
            coalesce(p_mutation_id::text, '(trống)'), session_user USING ERRCODE = '42501';
    END IF;
    RETURN m;
END
$fn$;

CREATE FUNCTION api.validate_change_set(p_mutation_id bigint)
RETURNS TABLE (code text, message text, parcel_id bigint, item_id bigint, location geometry)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM sys.cs_require_visible(p_mutation_id);
    RETURN QUERY SELECT * FROM sys.cs_problems(p_mutation_id, NULL);
END
$fn$;

------------------------------------------------------------------------------------------
-- 5. Submit, approve, reject
------------------------------------------------------------------------------------------
-- 23514 listing the problems (at most 5 in the message, all in the detail as JSON).
CREATE FUNCTION sys.cs_refuse_if_problems(p_mutation_id bigint, p_action text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_n integer;
    v_text text;
    v_json jsonb;
BEGIN
    v_json := sys.cs_problems_json(p_mutation_id, NULL);
    v_n := jsonb_array_length(v_json);
    IF v_n > 0 THEN
        SELECT string_agg(x ->> 'message', '; ') INTO v_text
        FROM (SELECT x FROM jsonb_array_elements(v_json) x LIMIT 5) t;
        RAISE EXCEPTION 'Không % được biến động số %: còn % lỗi — %', p_action, p_mutation_id,
            v_n, v_text
            USING ERRCODE = '23514', DETAIL = v_json::text,
                  HINT = 'Fix the problems (api.validate_change_set lists them with places).';
    END IF;
END
$fn$;

CREATE FUNCTION api.submit_change_set(p_mutation_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    IF NOT EXISTS (SELECT 1 FROM cad.change_item WHERE mutation_id = p_mutation_id)
       AND NOT EXISTS (SELECT 1 FROM cad.mutation_parcel WHERE mutation_id = p_mutation_id) THEN
        RAISE EXCEPTION 'Biến động số % chưa có thay đổi nào, không nộp được', p_mutation_id
            USING ERRCODE = '22023';
    END IF;
    PERFORM sys.cs_check_versions(p_mutation_id);
    PERFORM sys.cs_refuse_if_problems(p_mutation_id, 'nộp');
    UPDATE cad.mutation SET status = 'da_nop', submitted_at = now() WHERE id = p_mutation_id;
END
$fn$;

-- A change set under decision: exists, submitted, not the caller's own, in their area.
CREATE FUNCTION sys.cs_enter_decision(p_mutation_id bigint, p_comment text, p_required boolean)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    m cad.mutation;
    v_comment text;
    r record;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'approver');
    v_comment := sys.api_clean_text(p_comment, 'Ý kiến phê duyệt', 2000, p_required);
    SELECT * INTO m FROM cad.mutation WHERE id = p_mutation_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có biến động mã %', p_mutation_id USING ERRCODE = '22023';
    END IF;
    IF m.created_by = session_user THEN
        RAISE EXCEPTION 'Người lập biến động số % không được tự phê duyệt hay từ chối nó',
            p_mutation_id USING ERRCODE = '42501',
                                HINT = 'Another approver must decide (four-eyes rule).';
    END IF;
    IF m.status <> 'da_nop' THEN
        RAISE EXCEPTION 'Biến động số % không ở trạng thái chờ duyệt (%)', p_mutation_id,
            CASE m.status WHEN 'nhap' THEN 'bản nháp' WHEN 'da_duyet' THEN 'đã duyệt'
                          ELSE 'đã bị từ chối' END
            USING ERRCODE = '55000';
    END IF;
    -- Every parcel touched and every new parcel must lie in the approver's area.
    FOR r IN SELECT DISTINCT p.commune_id, p.id FROM cad.change_item i
             CROSS JOIN LATERAL unnest(i.parcel_ids) x JOIN cad.parcel p ON p.id = x
             WHERE i.mutation_id = p_mutation_id ORDER BY p.id LOOP
        PERFORM sys.api_require_commune(r.commune_id, sys.api_parcel_label(r.id));
    END LOOP;
    FOR r IN SELECT DISTINCT g.commune_id FROM cad.change_item i
             JOIN cad.change_item_geom g ON g.item_id = i.id
             WHERE i.mutation_id = p_mutation_id AND i.op = 'new' LOOP
        IF r.commune_id IS NOT NULL THEN
            PERFORM sys.api_require_commune(r.commune_id, 'Thửa mới');
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('landrec.change_set', p_mutation_id::text, true);
    RETURN v_comment;
END
$fn$;

CREATE FUNCTION api.reject_change_set(p_mutation_id bigint, p_comment text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_comment text := sys.cs_enter_decision(p_mutation_id, p_comment, true);
BEGIN
    UPDATE cad.mutation
    SET status = 'tu_choi', decided_by = session_user, decided_at = now(),
        decision_comment = v_comment
    WHERE id = p_mutation_id;
END
$fn$;

-- Purposes for a parcel of p_area m² made from parcels p_from: their purposes per code,
-- scaled to the area, rounded to 0.1 m² with the remainder on the largest.
CREATE FUNCTION sys.cs_scaled_uses(p_from bigint[], p_area numeric) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (
    WITH u AS (SELECT lu.code, sum(lu.area) AS a FROM cad.land_use lu
               WHERE lu.parcel_id = ANY (p_from) AND lu.retired_at IS NULL GROUP BY lu.code),
    s AS (SELECT u.code, u.a, round(u.a * p_area / sum(u.a) OVER (), 1) AS r,
                 row_number() OVER (ORDER BY u.a DESC, u.code) AS k FROM u),
    f AS (SELECT s.code, s.r + CASE WHEN s.k = 1 THEN p_area - sum(s.r) OVER () ELSE 0 END AS area
          FROM s)
    SELECT coalesce(jsonb_agg(jsonb_build_object('code', f.code, 'area', f.area)
                              ORDER BY f.area DESC), '[]')
    FROM f WHERE f.area > 0);

-- Replace the current purposes of a parcel (retired, never deleted).
CREATE FUNCTION sys.cs_set_uses(p_parcel_id bigint, p_uses jsonb) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    UPDATE cad.land_use SET retired_at = now()
    WHERE parcel_id = p_parcel_id AND retired_at IS NULL;
    INSERT INTO cad.land_use (parcel_id, code, area, use_from)
    SELECT p_parcel_id, u ->> 'code', (u ->> 'area')::numeric, current_date
    FROM jsonb_array_elements(p_uses) u;
END;

-- Purposes from attributes, or scaled from the parcels it comes from.
CREATE FUNCTION sys.cs_uses_for(p_attrs jsonb, p_legal numeric, p_from bigint[]) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN p_attrs ? 'land_uses' THEN p_attrs -> 'land_uses'
    WHEN p_attrs ? 'land_use_code'
        THEN jsonb_build_array(jsonb_build_object('code', p_attrs ->> 'land_use_code', 'area', p_legal))
    ELSE sys.cs_scaled_uses(p_from, p_legal) END;

-- A child parcel: next free number on the sheet, national ID, purposes, holders, lineage.
CREATE FUNCTION sys.cs_create_parcel(p_mutation_id bigint, p_sheet_id bigint,
                                     p_commune_id bigint, p_geom geometry, p_attrs jsonb,
                                     p_parents bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_number integer;
    v_legal numeric := coalesce((p_attrs ->> 'area_legal')::numeric,
                                round(public.ST_Area(p_geom)::numeric, 1));
    v_address text := coalesce(p_attrs ->> 'address',
                               (SELECT p.address FROM cad.parcel p WHERE p.id = p_parents[1]));
    v_id bigint;
    v_parent bigint;
BEGIN
    -- Numbers are never reused (retired parcels keep theirs): the sheet's largest + 1.
    -- The lock serialises two approvals numbering on the same sheet.
    PERFORM pg_advisory_xact_lock(1129270099, p_sheet_id::integer);
    SELECT coalesce(max(p.parcel_number), 0) + 1 INTO v_number
    FROM cad.parcel p WHERE p.sheet_id = p_sheet_id;
    INSERT INTO cad.parcel (sheet_id, parcel_number, commune_id, national_id, geom, area_legal,
                            address)
    VALUES (p_sheet_id, v_number, p_commune_id, cad.national_parcel_id(p_geom), p_geom, v_legal,
            v_address)
    RETURNING id INTO v_id;
    PERFORM sys.cs_set_uses(v_id, sys.cs_uses_for(p_attrs, v_legal, p_parents));
    -- Holders carry over from the (first) parent; new certificates are issued later.
    INSERT INTO cad.land_right (parcel_id, party_id, kind, share, valid_from)
    SELECT v_id, r.party_id, r.kind, r.share, current_date
    FROM cad.land_right r WHERE r.parcel_id = p_parents[1] AND r.valid_to IS NULL;
    FOREACH v_parent IN ARRAY coalesce(p_parents, '{}') LOOP
        INSERT INTO cad.parcel_lineage (mutation_id, parent_id, child_id)
        VALUES (p_mutation_id, v_parent, v_id);
    END LOOP;
    INSERT INTO cad.mutation_parcel (mutation_id, parcel_id) VALUES (p_mutation_id, v_id);
    RETURN v_id;
END
$fn$;

-- A parent leaves force: retired (a new version closes the old one). Its purposes and
-- rights end after every child has copied them (end of api.approve_change_set).
CREATE FUNCTION sys.cs_retire_parcel(p_parcel_id bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    UPDATE cad.parcel SET retired_at = now(), version = version + 1 WHERE id = p_parcel_id;
END;

-- Approve: checks (right, not the author, area, versions, validation), then applies every
-- item in one transaction. Returns the ids of the parcels created.
CREATE FUNCTION api.approve_change_set(p_mutation_id bigint, p_comment text DEFAULT NULL)
RETURNS bigint[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_comment text := sys.cs_enter_decision(p_mutation_id, p_comment, false);
    v_created bigint[] := '{}';
    it cad.change_item;
    g cad.change_item_geom;
    p cad.parcel;
    v_pid bigint;
    v_loc record;
    v_legal numeric;
BEGIN
    -- Lock the official parcels in id order (no deadlock with another approval), then
    -- compare versions under the lock: nothing can change them until we commit.
    PERFORM 1 FROM cad.parcel
    WHERE id IN (SELECT unnest(i.parcel_ids) FROM cad.change_item i
                 WHERE i.mutation_id = p_mutation_id)
    ORDER BY id FOR UPDATE;
    PERFORM sys.cs_check_versions(p_mutation_id);
    PERFORM sys.cs_refuse_if_problems(p_mutation_id, 'phê duyệt');

    FOR it IN SELECT * FROM cad.change_item WHERE mutation_id = p_mutation_id ORDER BY id LOOP
        IF it.op = 'split' THEN
            SELECT * INTO p FROM cad.parcel WHERE id = it.parcel_ids[1];
            PERFORM sys.cs_retire_parcel(p.id);
            FOR g IN SELECT * FROM cad.change_item_geom WHERE item_id = it.id ORDER BY ord LOOP
                v_created := v_created || sys.cs_create_parcel(p_mutation_id, p.sheet_id,
                    p.commune_id, g.geom, g.attributes, it.parcel_ids);
            END LOOP;
        ELSIF it.op = 'merge' THEN
            -- The merged parcel is numbered on the sheet of the largest parent.
            SELECT * INTO p FROM cad.parcel WHERE id = ANY (it.parcel_ids)
            ORDER BY area_computed DESC, id LIMIT 1;
            SELECT * INTO g FROM cad.change_item_geom WHERE item_id = it.id ORDER BY ord LIMIT 1;
            FOREACH v_pid IN ARRAY it.parcel_ids LOOP
                PERFORM sys.cs_retire_parcel(v_pid);
            END LOOP;
            v_created := v_created || sys.cs_create_parcel(p_mutation_id, p.sheet_id,
                p.commune_id, g.geom, g.attributes, array_prepend(p.id, array_remove(it.parcel_ids, p.id)));
        ELSIF it.op = 'reshape' THEN
            FOR g IN SELECT * FROM cad.change_item_geom WHERE item_id = it.id ORDER BY ord LOOP
                v_legal := coalesce((g.attributes ->> 'area_legal')::numeric,
                                    round(public.ST_Area(g.geom)::numeric, 1));
                PERFORM sys.cs_set_uses(g.parcel_id,
                    sys.cs_uses_for(g.attributes, v_legal, ARRAY[g.parcel_id]));
                UPDATE cad.parcel SET geom = g.geom, area_legal = v_legal, version = version + 1
                WHERE id = g.parcel_id;
            END LOOP;
        ELSIF it.op = 'new' THEN
            SELECT * INTO g FROM cad.change_item_geom WHERE item_id = it.id ORDER BY ord LIMIT 1;
            v_loc := sys.cs_locate(g.geom);
            v_created := v_created || sys.cs_create_parcel(p_mutation_id, v_loc.sheet_id,
                v_loc.commune_id, g.geom, g.attributes, NULL);
        ELSIF it.op = 'attributes' THEN
            SELECT * INTO p FROM cad.parcel WHERE id = it.parcel_ids[1];
            v_legal := coalesce((it.attributes ->> 'area_legal')::numeric, p.area_legal);
            IF it.attributes ? 'land_uses' OR it.attributes ? 'land_use_code'
               OR v_legal IS DISTINCT FROM p.area_legal THEN
                PERFORM sys.cs_set_uses(p.id, sys.cs_uses_for(it.attributes, v_legal, ARRAY[p.id]));
            END IF;
            UPDATE cad.parcel
            SET address = coalesce(it.attributes ->> 'address', address),
                area_legal = v_legal, version = version + 1
            WHERE id = p.id;
        END IF;
    END LOOP;

    -- Purposes and rights of the parents end with them.
    UPDATE cad.land_use SET retired_at = now()
    WHERE retired_at IS NULL AND parcel_id IN (
        SELECT unnest(i.parcel_ids) FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND i.op IN ('split', 'merge'));
    UPDATE cad.land_right SET valid_to = greatest(current_date, valid_from)
    WHERE valid_to IS NULL AND parcel_id IN (
        SELECT unnest(i.parcel_ids) FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND i.op IN ('split', 'merge'));

    UPDATE cad.mutation
    SET status = 'da_duyet', decided_by = session_user, decided_at = now(),
        decision_comment = v_comment
    WHERE id = p_mutation_id;
    RETURN v_created;
END
$fn$;

------------------------------------------------------------------------------------------
-- 6. Reading change sets: one round trip each
------------------------------------------------------------------------------------------
CREATE FUNCTION sys.cs_json(m cad.mutation, p_items boolean) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
RETURN jsonb_build_object(
    'id', m.id, 'kind', m.kind, 'status', m.status, 'reason', m.reason,
    'dossier_number', m.dossier_number, 'created_by', m.created_by, 'created_at', m.created_at,
    'submitted_at', m.submitted_at, 'decided_by', m.decided_by, 'decided_at', m.decided_at,
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

CREATE FUNCTION api.change_set(p_mutation_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN sys.cs_json(sys.cs_require_visible(p_mutation_id), true);
END
$fn$;

-- The approver's review: per item the official parcels as they are now (geometry,
-- attributes, purposes), the proposed shapes and an attribute diff; and the problems.
CREATE FUNCTION api.review_change_set(p_mutation_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
DECLARE
    m cad.mutation := sys.cs_require_visible(p_mutation_id);
BEGIN
    RETURN sys.cs_json(m, true) || jsonb_build_object(
        'problems', sys.cs_problems_json(p_mutation_id, NULL),
        'review', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                'item_id', i.id, 'op', i.op,
                'old', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                            'parcel_id', p.id, 'parcel_number', p.parcel_number,
                            'sheet_number', s.sheet_number, 'version', p.version,
                            'base_version', x.base, 'retired', p.retired_at IS NOT NULL,
                            'area_legal', p.area_legal, 'area_computed', p.area_computed,
                            'address', p.address,
                            'land_uses', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                              'code', lu.code, 'area', lu.area) ORDER BY lu.area DESC), '[]')
                                          FROM cad.land_use lu
                                          WHERE lu.parcel_id = p.id AND lu.retired_at IS NULL),
                            'wkb', encode(ST_AsBinary(p.geom), 'hex')) ORDER BY x.o), '[]')
                        FROM unnest(i.parcel_ids, i.base_versions) WITH ORDINALITY AS x(pid, base, o)
                        JOIN cad.parcel p ON p.id = x.pid JOIN cad.map_sheet s ON s.id = p.sheet_id),
                'new', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                            'ord', g.ord, 'parcel_id', g.parcel_id, 'area', ST_Area(g.geom),
                            'attributes', g.attributes,
                            'wkb', encode(ST_AsBinary(g.geom), 'hex')) ORDER BY g.ord), '[]')
                        FROM cad.change_item_geom g WHERE g.item_id = i.id),
                'diff', CASE WHEN i.op = 'attributes' THEN (
                    SELECT coalesce(jsonb_agg(d ORDER BY d ->> 'field'), '[]') FROM (
                        SELECT jsonb_build_object('field', 'address', 'old', p.address,
                                                  'new', i.attributes -> 'address') AS d
                        FROM cad.parcel p WHERE p.id = i.parcel_ids[1] AND i.attributes ? 'address'
                        UNION ALL
                        SELECT jsonb_build_object('field', 'area_legal', 'old', p.area_legal,
                                                  'new', i.attributes -> 'area_legal')
                        FROM cad.parcel p WHERE p.id = i.parcel_ids[1] AND i.attributes ? 'area_legal'
                        UNION ALL
                        SELECT jsonb_build_object('field', 'land_uses',
                            'old', (SELECT coalesce(jsonb_agg(jsonb_build_object('code', lu.code, 'area', lu.area)
                                                              ORDER BY lu.area DESC), '[]')
                                    FROM cad.land_use lu
                                    WHERE lu.parcel_id = i.parcel_ids[1] AND lu.retired_at IS NULL),
                            'new', sys.cs_uses_for(i.attributes,
                                       coalesce((i.attributes ->> 'area_legal')::numeric,
                                                (SELECT p.area_legal FROM cad.parcel p
                                                 WHERE p.id = i.parcel_ids[1])),
                                       i.parcel_ids))
                        WHERE i.attributes ? 'land_uses' OR i.attributes ? 'land_use_code') dd)
                    ELSE '[]'::jsonb END) ORDER BY i.id), '[]')
            FROM cad.change_item i WHERE i.mutation_id = p_mutation_id));
END
$fn$;

-- Change sets the caller may see: their own, and for approvers the submitted and decided
-- ones in their area. Newest first, at most 500, without items.
CREATE FUNCTION api.change_sets(p_status text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_approver boolean;
    v_whole boolean;
    v_units bigint[];
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    IF p_status IS NOT NULL AND p_status NOT IN ('nhap', 'da_nop', 'da_duyet', 'tu_choi') THEN
        RAISE EXCEPTION 'Trạng thái «%» không hợp lệ (nhap, da_nop, da_duyet, tu_choi)',
            left(p_status, 20) USING ERRCODE = '22023';
    END IF;
    v_approver := sys.has_right('cadastral', 'approver');
    v_whole := sys.sees_whole_province();
    v_units := sys.my_units();
    RETURN (
        SELECT coalesce(jsonb_agg(sys.cs_json(m, false) ORDER BY m.id DESC), '[]')
        FROM cad.mutation m
        WHERE m.id IN (
            SELECT m.id FROM cad.mutation m
            WHERE (p_status IS NULL OR m.status = p_status)
              AND (m.created_by = session_user
                   OR (v_approver AND m.status <> 'nhap' AND (v_whole
                       OR EXISTS (SELECT 1 FROM cad.mutation_parcel mp
                                  JOIN cad.parcel p ON p.id = mp.parcel_id
                                  WHERE mp.mutation_id = m.id AND p.commune_id = ANY (v_units))
                       OR EXISTS (SELECT 1 FROM cad.change_item i
                                  JOIN cad.change_item_geom g ON g.item_id = i.id
                                  WHERE i.mutation_id = m.id AND g.commune_id = ANY (v_units)))))
            ORDER BY m.id DESC LIMIT 500));
END
$fn$;

------------------------------------------------------------------------------------------
-- 7. Who may call what
------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION
    sys.cs_tolerance(), sys.cs_m2(float8), sys.cs_geom(bytea, text),
    sys.cs_clean_attrs(jsonb, text), sys.cs_locate(geometry),
    sys.cs_conflict_text(bigint, integer), sys.cs_check_versions(bigint),
    sys.cs_geom_label(text, bigint[], integer, bigint), sys.cs_scale(bigint, geometry),
    sys.cs_attr_problems(jsonb, float8, numeric, integer, boolean, text),
    sys.cs_problems(bigint, bigint), sys.cs_enter_draft(bigint),
    sys.cs_draft_parcel(bigint, bigint, integer), sys.cs_problems_json(bigint, bigint),
    sys.cs_keep_or_undo(bigint, bigint), sys.cs_require_visible(bigint),
    sys.cs_refuse_if_problems(bigint, text), sys.cs_enter_decision(bigint, text, boolean),
    sys.cs_scaled_uses(bigint[], numeric), sys.cs_set_uses(bigint, jsonb),
    sys.cs_uses_for(jsonb, numeric, bigint[]),
    sys.cs_create_parcel(bigint, bigint, bigint, geometry, jsonb, bigint[]),
    sys.cs_retire_parcel(bigint), sys.cs_json(cad.mutation, boolean)
FROM PUBLIC;

-- The functions check the right themselves (a viewer gets a Vietnamese 42501).
REVOKE ALL ON FUNCTION
    api.cs_draft_split(bigint, bigint, integer, bytea[], jsonb),
    api.cs_draft_merge(bigint, bigint[], integer[], bytea, jsonb),
    api.cs_draft_reshape(bigint, bigint[], integer[], bytea[]),
    api.cs_draft_new(bigint, bytea, jsonb),
    api.cs_draft_attributes(bigint, bigint, integer, jsonb),
    api.cs_remove_item(bigint, bigint),
    api.validate_change_set(bigint),
    api.submit_change_set(bigint),
    api.approve_change_set(bigint, text),
    api.reject_change_set(bigint, text),
    api.change_set(bigint),
    api.review_change_set(bigint),
    api.change_sets(text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    api.cs_draft_split(bigint, bigint, integer, bytea[], jsonb),
    api.cs_draft_merge(bigint, bigint[], integer[], bytea, jsonb),
    api.cs_draft_reshape(bigint, bigint[], integer[], bytea[]),
    api.cs_draft_new(bigint, bytea, jsonb),
    api.cs_draft_attributes(bigint, bigint, integer, jsonb),
    api.cs_remove_item(bigint, bigint),
    api.validate_change_set(bigint),
    api.submit_change_set(bigint),
    api.approve_change_set(bigint, text),
    api.reject_change_set(bigint, text),
    api.change_set(bigint),
    api.review_change_set(bigint),
    api.change_sets(text)
TO lr_person;
