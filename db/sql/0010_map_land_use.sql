-- The map's land-use code on the parcel row (issue 4, map speed).
--
-- The cadastral map shows one land-use code per parcel (loại đất trên bản đồ): the
-- largest current purpose. api.parcels_in_bbox used to look it up per parcel, which was
-- 40 % of the server time of a 200 000-parcel overview (0.30 of 0.75 s on the
-- 1 M-parcel store). The code now lives on cad.parcel, derived from cad.land_use by one
-- function that every writer goes through: the land-use trigger, the demo loader and the
-- back-fill below.

ALTER TABLE cad.parcel ADD COLUMN main_land_use text;
ALTER TABLE hist.parcel ADD COLUMN main_land_use text;
SELECT hist.install('parcel');  -- the versioning trigger copies the new column too

COMMENT ON COLUMN cad.parcel.main_land_use IS
    'Loại đất thể hiện trên bản đồ: the current purpose with the largest area (lowest '
    'id on a tie). Derived from cad.land_use by cad.refresh_main_land_use; never edit it.';

-- Set main_land_use of the given parcels (all parcels when NULL) from their current
-- purposes; rows already right are not touched (no audit entry, no new version).
CREATE FUNCTION cad.refresh_main_land_use(p_parcel_ids bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_changed bigint;
BEGIN
    WITH main AS (
        SELECT p.id,
               (SELECT lu.code FROM cad.land_use lu
                WHERE lu.parcel_id = p.id AND lu.retired_at IS NULL
                ORDER BY lu.area DESC, lu.id LIMIT 1) AS code
        FROM cad.parcel p
        WHERE p_parcel_ids IS NULL OR p.id = ANY (p_parcel_ids)
    )
    UPDATE cad.parcel p SET main_land_use = main.code
    FROM main
    WHERE p.id = main.id AND p.main_land_use IS DISTINCT FROM main.code;
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    RETURN v_changed;
END
$fn$;
REVOKE ALL ON FUNCTION cad.refresh_main_land_use(bigint[]) FROM PUBLIC;

-- Every change of a purpose (through api.set_land_uses, a change set's approval, or an
-- import) refreshes its parcel in the same transaction, so the map never shows a stale
-- code. The parcel's version trigger merges this with the writer's own parcel update.
CREATE FUNCTION cad.land_use_refresh_parcel() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM cad.refresh_main_land_use(ARRAY[OLD.parcel_id]);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.parcel_id <> OLD.parcel_id) THEN
        PERFORM cad.refresh_main_land_use(ARRAY[NEW.parcel_id]);
    END IF;
    RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION cad.land_use_refresh_parcel() FROM PUBLIC;

CREATE TRIGGER refresh_parcel_main_land_use
    AFTER INSERT OR UPDATE OF parcel_id, code, area, retired_at OR DELETE ON cad.land_use
    FOR EACH ROW EXECUTE FUNCTION cad.land_use_refresh_parcel();

-- Back-fill: a derived column, not a change of any record, so the row audit and the
-- versioning triggers stay off for it (replica mode, this transaction only; migrations
-- run as a superuser) and one summary event is logged instead.
DO $do$
DECLARE
    v_parcels bigint;
BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    v_parcels := cad.refresh_main_land_use(NULL);
    PERFORM set_config('session_replication_role', 'origin', true);
    IF v_parcels > 0 THEN  -- an empty store has nothing to report
        PERFORM audit.log_event('BULK_LOAD', 'cad.parcel.main_land_use',
                                jsonb_build_object('migration', '0010', 'parcels', v_parcels));
    END IF;
END
$do$;

-- The map read: the stored code; the look-up remains only for a parcel whose purposes
-- were written while triggers were off and not refreshed (never in normal operation).
CREATE OR REPLACE FUNCTION api.parcels_in_bbox(p_minx float8, p_miny float8, p_maxx float8,
                                               p_maxy float8, p_simplify float8 DEFAULT 0)
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
           coalesce(p.main_land_use,
                    (SELECT lu.code FROM cad.land_use lu
                     WHERE lu.parcel_id = p.id AND lu.retired_at IS NULL
                     ORDER BY lu.area DESC, lu.id LIMIT 1)),
           coalesce(p.area_legal::float8, round(p.area_computed::numeric, 1)::float8),
           public.ST_AsTWKB(CASE WHEN p_simplify > 0
                                 THEN public.ST_Simplify(p.geom, p_simplify, true)
                                 ELSE p.geom END, v_decimals)
    FROM cad.parcel p
    JOIN cad.map_sheet s ON s.id = p.sheet_id
    WHERE p.geom OPERATOR(public.&&) public.ST_MakeEnvelope(p_minx, p_miny, p_maxx, p_maxy, @SRID@)
      AND p.retired_at IS NULL
      -- See 0006: the sub-select keeps the area rule a filter on the rows the box found.
      AND ((SELECT v_whole) OR p.commune_id = ANY (v_units));
END
$fn$;
