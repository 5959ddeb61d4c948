-- Scanned dossiers, polish (issue 6). See docs/dossiers.md.
--   * sys.dossier_info: also says which approved change set freezes the document's file
--     (the client then offers only "new version") and whether the caller may change it.
--   * api.dossier_find_parcels: the folder import's parcel lookup. Before, the client
--     queried cad.parcel under the person's RLS, which needs the cadastral read right: a
--     dossier editor without it matched nothing. Now the dossier editor right and the
--     person's area are checked here, and only parcels of their communes come back.
--   * api.dossier_record_output: a print or export of a stored document is written to the
--     audit log before the client writes the file or starts the printer; if the event
--     cannot be written the client refuses (it was best-effort, after the fact).

CREATE OR REPLACE FUNCTION sys.dossier_info(v doc.document) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (
    SELECT jsonb_build_object(
        'id', v.id, 'doc_type', v.doc_type, 'number', v.number, 'issued_on', v.issued_on,
        'issuer', v.issuer, 'page_count', v.page_count, 'classification', v.classification,
        'sha256', v.sha256, 'byte_size', v.byte_size, 'media_type', v.media_type,
        'original_name', v.original_name, 'version', v.version,
        'superseded_by', v.superseded_by, 'created_at', v.created_at,
        'chunk_size', b.chunk_size, 'chunk_count', b.chunk_count,
        'has_file', b.sha256 IS NOT NULL,
        'may_read_bytes', v.classification <> 'han_che' OR sys.has_right('dossier', 'approver')
                          OR sys.has_right('dossier', 'administrator'),
        'previews', (SELECT count(*) FROM doc_blob.preview p
                     WHERE p.sha256 = v.sha256 AND p.kind = 'thumb'),
        -- The approved change set that freezes the file (replace refused, supersede only).
        'approved_mutation', (SELECT min(m.id) FROM doc.document_link l
                              JOIN cad.mutation m ON m.id = l.mutation_id
                              WHERE l.document_id = v.id AND m.status = 'da_duyet'),
        -- A hint for the client's buttons; the change functions check right and area.
        'may_change', v.superseded_by IS NULL AND (sys.has_right('dossier', 'editor')
                      OR sys.has_right('dossier', 'administrator')))
    FROM (SELECT 1) one LEFT JOIN doc_blob.blob b ON b.sha256 = v.sha256 AND b.complete
);

-- Parcels for file names of the import convention. p_keys: [["25402", 12, 145], …]
-- (commune code, sheet number, parcel number), at most 5000. Returns one row per parcel
-- in force that matches a key AND lies in the caller's communes (or the whole province):
-- a key with no row is "not found or outside your area" (not told apart: the import of
-- another commune's folder learns nothing about that commune).
CREATE FUNCTION api.dossier_find_parcels(p_keys jsonb)
RETURNS TABLE (commune_code text, sheet_number integer, parcel_number integer,
               parcel_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_whole boolean := sys.sees_whole_province();
    v_units bigint[] := sys.my_units();
BEGIN
    PERFORM sys.dossier_require_writer();
    IF p_keys IS NULL OR jsonb_typeof(p_keys) <> 'array' THEN
        RAISE EXCEPTION 'Danh sách thửa cần tìm không hợp lệ' USING ERRCODE = '22023';
    END IF;
    IF jsonb_array_length(p_keys) > 5000 THEN
        RAISE EXCEPTION 'Tìm tối đa 5000 thửa mỗi lần' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
        SELECT k.c, k.s, k.n, p.id
        FROM (SELECT DISTINCT e ->> 0 AS c, (e ->> 1)::integer AS s, (e ->> 2)::integer AS n
              FROM jsonb_array_elements(p_keys) e
              WHERE jsonb_typeof(e) = 'array' AND jsonb_array_length(e) = 3
                AND (e ->> 1) ~ '^\d{1,9}$' AND (e ->> 2) ~ '^\d{1,9}$') k
        JOIN ref.admin_unit u ON u.code = k.c
        JOIN cad.map_sheet s ON s.commune_id = u.id AND s.sheet_number = k.s
        JOIN cad.parcel p ON p.sheet_id = s.id AND p.parcel_number = k.n
        WHERE p.retired_at IS NULL AND (v_whole OR p.commune_id = ANY (v_units))
        ORDER BY 1, 2, 3, 4;
END
$fn$;

-- Record a print or export of stored document p_document_id (p_action PRINT or EXPORT)
-- by the caller, who must be allowed to read its bytes. Returns the audit entry's id. The
-- client writes the file / starts the printer only after this succeeded.
CREATE FUNCTION api.dossier_record_output(p_document_id bigint, p_action text,
                                          p_detail jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v doc.document;
BEGIN
    IF p_action IS NULL OR p_action NOT IN ('PRINT', 'EXPORT') THEN
        RAISE EXCEPTION 'Thao tác «%» không hợp lệ (PRINT, EXPORT)', left(coalesce(p_action, ''), 20)
            USING ERRCODE = '22023';
    END IF;
    IF p_detail IS NULL OR jsonb_typeof(p_detail) <> 'object' THEN
        RAISE EXCEPTION 'Chi tiết thao tác phải là một đối tượng JSON' USING ERRCODE = '22023';
    END IF;
    v := sys.dossier_readable(p_document_id, true);  -- right, area, restricted bytes
    RETURN audit.write_event(p_action, 'doc.document:' || p_document_id,
        p_detail || jsonb_build_object('sha256', v.sha256, 'version', v.version,
                                       'classification', v.classification));
END
$fn$;

REVOKE ALL ON FUNCTION api.dossier_find_parcels(jsonb),
    api.dossier_record_output(bigint, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.dossier_find_parcels(jsonb)
    TO lr_dossier_editor, lr_dossier_administrator;
GRANT EXECUTE ON FUNCTION api.dossier_record_output(bigint, text, jsonb) TO lr_dossier_viewer;
