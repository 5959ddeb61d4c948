-- Revision 0023: the accounts list's text search without a planner override.
--
-- 0021 indexed the folded expression ref.fold_vi(role || name || ID || unit), but
-- ref.fold_vi is an inlined SQL function, so the planner priced normalize()+translate() at
-- a few operator costs and preferred folding all 5 000 accounts (~170 ms) to the index;
-- sys.account_matches had to switch seq scans off. The folded text is now a stored
-- generated column, as cad.parcel.address_folded is (0014): kept by PostgreSQL on every
-- write, read by either plan without folding anything, so the planner may choose freely.

ALTER TABLE sys.account
    ADD COLUMN IF NOT EXISTS search_folded text GENERATED ALWAYS AS (
        ref.fold_vi(role_name::text || ' ' || full_name || ' ' || person_id_number || ' '
                    || unit)) STORED;
COMMENT ON COLUMN sys.account.search_folded IS
    'User name, full name, ID number and unit without diacritics, lower case: the text the '
    'accounts list searches (admin.account_page through sys.account_matches).';

DROP INDEX IF EXISTS sys.account_search_trgm_idx;
CREATE INDEX account_search_trgm_idx ON sys.account
    USING gin (search_folded public.gin_trgm_ops);
ANALYZE sys.account;

-- The accounts whose folded text contains p_folded (already folded), LIKE's wildcards taken
-- literally.
CREATE OR REPLACE FUNCTION sys.account_matches(p_folded text) RETURNS name[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN (SELECT coalesce(array_agg(a.role_name), '{}') FROM sys.account a
        WHERE a.search_folded
              LIKE '%' || replace(replace(replace(p_folded, '\', '\\'), '%', '\%'), '_', '\_')
                   || '%');
ALTER FUNCTION sys.account_matches(text) RESET ALL;
REVOKE ALL ON FUNCTION sys.account_matches(text) FROM PUBLIC;
