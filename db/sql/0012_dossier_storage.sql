-- Scanned dossiers (hồ sơ quét, issue 6): the bytes of doc.document, stored content-addressed
-- (SHA-256) in ~1 MiB chunks, uploaded in resumable sessions, read through the API only.
--
-- Where things live:
--   * doc_blob.blob / doc_blob.chunk: one row per distinct file (same bytes twice = one blob)
--     and its chunks. Schema doc_blob is granted to nobody: no person role can SELECT a
--     byte (42501 for psql, QGIS and our GUI alike); bytes come only through api.read_chunks,
--     which checks the right, the area and the classification of a document that links them.
--     Not in schema doc on purpose: audit.attach_all() attaches row triggers to every doc
--     table, and a row trigger would copy each 1 MiB chunk into the audit log.
--   * doc_blob.preview: small per-page renditions (thumbnail and screen size) the uploading
--     client makes, so the viewer shows page 1 and the thumbnail strip after one small read,
--     even for a PDF (which pdfium can render only once the whole file is in).
--   * doc_blob.upload: open upload sessions; an interrupted upload resumes from the last
--     stored chunk; finish verifies the whole file's SHA-256 on the server.
--
-- Rights (the dossier subsystem's group roles, checked inside every function):
--   read metadata and bytes   dossier viewer (any kind), document linked to a record of the
--                             caller's area (sys.area_document) or a whole-province account
--   read a restricted (han_che) document's bytes
--                             additionally dossier approver or administrator; every such
--                             read is written to the audit log (DOC_READ_RESTRICTED)
--   upload, create, supersede dossier editor or administrator, and every linked record in
--                             the caller's area
-- A document linked to an approved change set (cad.mutation status da_duyet) keeps its bytes
-- for ever: api.replace_document_file refuses it (55000); api.supersede_document makes a new
-- version that points back to it (doc.document.superseded_by, version).

CREATE SCHEMA IF NOT EXISTS doc_blob;
REVOKE ALL ON SCHEMA doc_blob FROM PUBLIC;

CREATE TABLE doc_blob.blob (
    sha256       text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    byte_size    bigint NOT NULL CHECK (byte_size > 0),
    media_type   text NOT NULL CHECK (media_type IN ('image/tiff', 'application/pdf',
                                                     'image/png', 'image/jpeg')),
    chunk_size   integer NOT NULL CHECK (chunk_size BETWEEN 65536 AND 8388608),
    chunk_count  integer NOT NULL CHECK (chunk_count > 0),
    page_count   integer CHECK (page_count > 0),
    complete     boolean NOT NULL DEFAULT false,   -- true only after the server verified it
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (chunk_count = (byte_size + chunk_size - 1) / chunk_size)
);

CREATE TABLE doc_blob.chunk (
    sha256  text NOT NULL REFERENCES doc_blob.blob ON DELETE CASCADE,
    seq     integer NOT NULL CHECK (seq >= 0),
    data    bytea NOT NULL,
    PRIMARY KEY (sha256, seq)
);
-- Scans are already compressed (G4, JPEG, Flate): pglz would only burn CPU. EXTERNAL keeps
-- them out of line, uncompressed, so a chunk is read with no decompression.
ALTER TABLE doc_blob.chunk ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE doc_blob.preview (
    sha256  text NOT NULL REFERENCES doc_blob.blob ON DELETE CASCADE,
    page    integer NOT NULL CHECK (page >= 1),
    kind    text NOT NULL CHECK (kind IN ('thumb', 'screen')),
    width   integer NOT NULL CHECK (width > 0),
    height  integer NOT NULL CHECK (height > 0),
    data    bytea NOT NULL CHECK (octet_length(data) <= 4194304),
    PRIMARY KEY (sha256, kind, page)
);
ALTER TABLE doc_blob.preview ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE doc_blob.upload (
    sha256         text PRIMARY KEY REFERENCES doc_blob.blob ON DELETE CASCADE,
    owner_role     name NOT NULL,
    original_name  text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    touched_at     timestamptz NOT NULL DEFAULT now()
);

-- Versions: a superseded document points to its successor.
ALTER TABLE doc.document ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1
    CHECK (version >= 1);
ALTER TABLE doc.document ADD COLUMN IF NOT EXISTS superseded_by bigint REFERENCES doc.document;
ALTER TABLE doc.document ADD CONSTRAINT document_blob_fk
    FOREIGN KEY (sha256) REFERENCES doc_blob.blob (sha256);
CREATE INDEX IF NOT EXISTS document_sha256_idx ON doc.document (sha256) WHERE sha256 IS NOT NULL;

INSERT INTO audit.event_action (action, client_may_report, description) VALUES
    ('DOC_READ_RESTRICTED', false, 'Bytes of a restricted (han_che) scanned document read'),
    ('DOC_UPLOAD',          false, 'Scanned file stored (verified SHA-256)')
ON CONFLICT (action) DO NOTHING;

------------------------------------------------------------------------------------------
-- Internal helpers (no grants)
------------------------------------------------------------------------------------------
-- Largest file accepted: sys.setting 'dossier_max_bytes' (bytes), 512 MiB by default. The
-- server verifies a file's SHA-256 in one pass over its chunks in memory, so keep it well
-- below PostgreSQL's 1 GB value limit.
CREATE FUNCTION sys.dossier_max_bytes() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN least(coalesce((SELECT (s.value #>> '{}')::bigint FROM sys.setting s
                       WHERE s.key = 'dossier_max_bytes'), 536870912), 900000000);

CREATE FUNCTION sys.dossier_require_writer() RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT sys.has_right('dossier', 'administrator') THEN
        PERFORM sys.api_require_right('dossier', 'editor');
    END IF;
END
$fn$;

-- The document, when the caller may read it (right, area, classification); raises otherwise.
-- p_bytes: the caller wants the file's bytes (restricted documents need more).
CREATE FUNCTION sys.dossier_readable(p_document_id bigint, p_bytes boolean)
RETURNS doc.document
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v doc.document;
BEGIN
    PERFORM sys.api_require_right('dossier', 'viewer');
    SELECT * INTO v FROM doc.document d WHERE d.id = p_document_id;
    IF NOT FOUND OR NOT (sys.sees_whole_province() OR EXISTS (
            SELECT 1 FROM sys.area_document a WHERE a.document_id = p_document_id)) THEN
        -- Same message for "does not exist" and "outside your area": ids are not probed.
        RAISE EXCEPTION 'Không có hồ sơ quét mã % trong địa bàn của tài khoản %',
            p_document_id, session_user USING ERRCODE = '42501';
    END IF;
    IF p_bytes AND v.classification = 'han_che'
       AND NOT (sys.has_right('dossier', 'approver') OR sys.has_right('dossier', 'administrator'))
    THEN
        RAISE EXCEPTION 'Hồ sơ quét % thuộc loại hạn chế: tài khoản % không có quyền xem nội dung',
            p_document_id, session_user
            USING ERRCODE = '42501',
                  HINT = 'Restricted documents need the approver or administrator right of '
                         'the dossier subsystem.';
    END IF;
    RETURN v;
END
$fn$;

-- Raise unless every record named in p_links exists and lies in the caller's area.
-- p_links: [{"parcel_id": 1}, {"certificate_id": 2}, {"party_id": 3}, {"mutation_id": 4}]
CREATE FUNCTION sys.dossier_check_links(p_links jsonb) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_link jsonb;
    v_key text;
    v_id bigint;
    v_commune bigint;
BEGIN
    IF p_links IS NULL OR jsonb_typeof(p_links) <> 'array' OR jsonb_array_length(p_links) = 0 THEN
        RAISE EXCEPTION 'Hồ sơ quét phải gắn với ít nhất một thửa đất, giấy chứng nhận, người hoặc biến động'
            USING ERRCODE = '22023';
    END IF;
    IF jsonb_array_length(p_links) > 100 THEN
        RAISE EXCEPTION 'Một hồ sơ quét gắn với tối đa 100 bản ghi' USING ERRCODE = '22023';
    END IF;
    FOR v_link IN SELECT * FROM jsonb_array_elements(p_links) LOOP
        IF jsonb_typeof(v_link) <> 'object' OR (SELECT count(*) FROM jsonb_object_keys(v_link)) <> 1 THEN
            RAISE EXCEPTION 'Liên kết hồ sơ không hợp lệ: %', left(v_link::text, 80)
                USING ERRCODE = '22023';
        END IF;
        SELECT k INTO v_key FROM jsonb_object_keys(v_link) k;
        BEGIN
            v_id := (v_link ->> v_key)::bigint;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'Liên kết hồ sơ không hợp lệ: %', left(v_link::text, 80)
                USING ERRCODE = '22023';
        END;
        IF v_key = 'parcel_id' THEN
            SELECT p.commune_id INTO v_commune FROM cad.parcel p WHERE p.id = v_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'Không có thửa đất mã %', v_id USING ERRCODE = '22023';
            END IF;
            PERFORM sys.api_require_commune(v_commune, sys.api_parcel_label(v_id));
        ELSIF v_key = 'certificate_id' THEN
            IF NOT EXISTS (SELECT 1 FROM cad.certificate c WHERE c.id = v_id) THEN
                RAISE EXCEPTION 'Không có giấy chứng nhận mã %', v_id USING ERRCODE = '22023';
            END IF;
            IF NOT (sys.sees_whole_province() OR EXISTS (
                    SELECT 1 FROM sys.area_certificate a WHERE a.certificate_id = v_id)) THEN
                RAISE EXCEPTION 'Giấy chứng nhận mã % ngoài địa bàn của tài khoản %', v_id,
                    session_user USING ERRCODE = '42501';
            END IF;
        ELSIF v_key = 'party_id' THEN
            IF NOT EXISTS (SELECT 1 FROM cad.party c WHERE c.id = v_id) THEN
                RAISE EXCEPTION 'Không có người sử dụng đất mã %', v_id USING ERRCODE = '22023';
            END IF;
            IF NOT (sys.sees_whole_province() OR EXISTS (
                    SELECT 1 FROM sys.area_party a WHERE a.party_id = v_id)) THEN
                RAISE EXCEPTION 'Người sử dụng đất mã % ngoài địa bàn của tài khoản %', v_id,
                    session_user USING ERRCODE = '42501';
            END IF;
        ELSIF v_key = 'mutation_id' THEN
            IF NOT EXISTS (SELECT 1 FROM cad.mutation c WHERE c.id = v_id) THEN
                RAISE EXCEPTION 'Không có biến động mã %', v_id USING ERRCODE = '22023';
            END IF;
            IF NOT (sys.sees_whole_province() OR EXISTS (
                    SELECT 1 FROM sys.area_mutation a WHERE a.mutation_id = v_id)) THEN
                RAISE EXCEPTION 'Biến động mã % ngoài địa bàn của tài khoản %', v_id,
                    session_user USING ERRCODE = '42501';
            END IF;
        ELSE
            RAISE EXCEPTION 'Liên kết hồ sơ không hợp lệ: «%» (parcel_id, certificate_id, party_id, mutation_id)',
                left(v_key, 40) USING ERRCODE = '22023';
        END IF;
    END LOOP;
END
$fn$;

-- Drop incomplete uploads nobody touched for p_age, and verified files no document uses
-- (an upload finished but never attached). Returns how many blobs went.
CREATE FUNCTION sys.dossier_cleanup(p_age interval DEFAULT interval '2 days') RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_n integer;
BEGIN
    WITH gone AS (
        DELETE FROM doc_blob.blob b
        WHERE (NOT b.complete AND NOT EXISTS (
                   SELECT 1 FROM doc_blob.upload u
                   WHERE u.sha256 = b.sha256 AND u.touched_at > now() - p_age))
           OR (b.complete AND b.created_at < now() - p_age AND NOT EXISTS (
                   SELECT 1 FROM doc.document d WHERE d.sha256 = b.sha256))
        RETURNING 1)
    SELECT count(*) INTO v_n FROM gone;
    RETURN v_n;
END
$fn$;

------------------------------------------------------------------------------------------
-- Upload: begin, put chunks (and previews), finish (verify) or abort
------------------------------------------------------------------------------------------
-- Limits the client checks before it reads a byte of the file.
CREATE FUNCTION api.dossier_limits() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN jsonb_build_object('max_bytes', sys.dossier_max_bytes(), 'chunk_size', 1048576);

-- Start (or resume) storing the file with this SHA-256. Returns
--   {"status": "stored"}                       the same bytes are already stored: nothing to send
--   {"status": "upload", "next_seq": n, ...}   send chunks n, n+1, … then finish_upload
CREATE FUNCTION api.begin_upload(p_sha256 text, p_byte_size bigint, p_media_type text,
                                 p_chunk_size integer, p_original_name text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_blob doc_blob.blob;
    v_upload doc_blob.upload;
    v_max bigint := sys.dossier_max_bytes();
    v_name text;
    v_next integer;
BEGIN
    PERFORM sys.dossier_require_writer();
    IF p_sha256 IS NULL OR p_sha256 !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'Mã băm SHA-256 không hợp lệ' USING ERRCODE = '22023';
    END IF;
    IF p_byte_size IS NULL OR p_byte_size <= 0 THEN
        RAISE EXCEPTION 'Tệp rỗng (0 byte): không có gì để lưu' USING ERRCODE = '22023';
    END IF;
    IF p_byte_size > v_max THEN
        RAISE EXCEPTION 'Tệp quá lớn: % MB, tối đa % MB', round(p_byte_size / 1048576.0, 1),
            round(v_max / 1048576.0, 1)
            USING ERRCODE = '54000', HINT = 'The limit is sys.setting dossier_max_bytes.';
    END IF;
    IF p_media_type IS NULL OR p_media_type NOT IN ('image/tiff', 'application/pdf',
                                                    'image/png', 'image/jpeg') THEN
        RAISE EXCEPTION 'Định dạng «%» không được nhận (chỉ TIFF, PDF, PNG, JPEG)',
            left(coalesce(p_media_type, ''), 60) USING ERRCODE = '22023';
    END IF;
    IF p_chunk_size IS NULL OR p_chunk_size NOT BETWEEN 65536 AND 8388608 THEN
        RAISE EXCEPTION 'Kích thước khối % không hợp lệ (64 KiB – 8 MiB)', p_chunk_size
            USING ERRCODE = '22023';
    END IF;
    v_name := sys.api_clean_text(p_original_name, 'Tên tệp', 255, false);

    SELECT * INTO v_blob FROM doc_blob.blob WHERE sha256 = p_sha256 FOR UPDATE;
    IF FOUND AND v_blob.complete THEN
        RETURN jsonb_build_object('status', 'stored', 'sha256', p_sha256);
    END IF;
    IF FOUND THEN
        SELECT * INTO v_upload FROM doc_blob.upload WHERE sha256 = p_sha256;
        IF v_upload.owner_role IS DISTINCT FROM session_user
           AND v_upload.touched_at > now() - interval '1 hour' THEN
            RAISE EXCEPTION 'Tệp này đang được % tải lên; thử lại sau', v_upload.owner_role
                USING ERRCODE = '55006';
        END IF;
        IF (v_blob.byte_size, v_blob.media_type, v_blob.chunk_size)
           IS DISTINCT FROM (p_byte_size, p_media_type, p_chunk_size) THEN
            -- Same hash, other size or chunking: start over.
            DELETE FROM doc_blob.blob WHERE sha256 = p_sha256;
            v_blob := NULL;
        END IF;
    END IF;
    IF v_blob.sha256 IS NULL THEN
        INSERT INTO doc_blob.blob (sha256, byte_size, media_type, chunk_size, chunk_count)
        VALUES (p_sha256, p_byte_size, p_media_type, p_chunk_size,
                ((p_byte_size + p_chunk_size - 1) / p_chunk_size)::integer)
        RETURNING * INTO v_blob;
    END IF;
    INSERT INTO doc_blob.upload (sha256, owner_role, original_name)
    VALUES (p_sha256, session_user, v_name)
    ON CONFLICT (sha256) DO UPDATE
        SET owner_role = excluded.owner_role, touched_at = now(),
            original_name = coalesce(excluded.original_name, doc_blob.upload.original_name);
    -- Resume from the first missing chunk (chunks come in order).
    SELECT coalesce(min(s.seq), v_blob.chunk_count) INTO v_next
    FROM generate_series(0, v_blob.chunk_count - 1) s(seq)
    WHERE NOT EXISTS (SELECT 1 FROM doc_blob.chunk c WHERE c.sha256 = p_sha256 AND c.seq = s.seq);
    RETURN jsonb_build_object('status', 'upload', 'sha256', p_sha256, 'next_seq', v_next,
                              'chunk_count', v_blob.chunk_count, 'chunk_size', v_blob.chunk_size);
END
$fn$;

-- The open upload of p_sha256, when it is the caller's; locked.
CREATE FUNCTION sys.dossier_my_upload(p_sha256 text) RETURNS doc_blob.blob
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_blob doc_blob.blob;
BEGIN
    PERFORM sys.dossier_require_writer();
    SELECT b.* INTO v_blob FROM doc_blob.blob b JOIN doc_blob.upload u USING (sha256)
    WHERE b.sha256 = p_sha256 AND u.owner_role = session_user AND NOT b.complete
    FOR UPDATE OF u;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có phiên tải lên đang mở cho tệp % của tài khoản %',
            left(coalesce(p_sha256, ''), 12), session_user
            USING ERRCODE = '55000', HINT = 'Call api.begin_upload first.';
    END IF;
    UPDATE doc_blob.upload SET touched_at = now() WHERE sha256 = p_sha256;
    RETURN v_blob;
END
$fn$;

-- Does a file start like its media type (magic bytes)?
CREATE FUNCTION sys.dossier_magic_ok(p_media_type text, p_head bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN CASE p_media_type
    WHEN 'image/tiff' THEN substr(p_head, 1, 4) IN ('\x49492a00'::bytea, '\x4d4d002a'::bytea)
    WHEN 'application/pdf' THEN substr(p_head, 1, 5) = '\x255044462d'::bytea
    WHEN 'image/png' THEN substr(p_head, 1, 8) = '\x89504e470d0a1a0a'::bytea
    WHEN 'image/jpeg' THEN substr(p_head, 1, 3) = '\xffd8ff'::bytea
    ELSE false END;

-- Store chunk p_seq (0-based). The first chunk must start like its media type (magic bytes),
-- whatever the client claims. Sending a chunk again replaces it. Returns the next seq.
CREATE FUNCTION api.put_chunk(p_sha256 text, p_seq integer, p_data bytea) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_blob doc_blob.blob := sys.dossier_my_upload(p_sha256);
    v_expected integer;
BEGIN
    IF p_seq IS NULL OR p_seq < 0 OR p_seq >= v_blob.chunk_count THEN
        RAISE EXCEPTION 'Khối số % ngoài phạm vi (tệp có % khối)', p_seq, v_blob.chunk_count
            USING ERRCODE = '22023';
    END IF;
    v_expected := CASE WHEN p_seq = v_blob.chunk_count - 1
                       THEN (v_blob.byte_size - p_seq::bigint * v_blob.chunk_size)::integer
                       ELSE v_blob.chunk_size END;
    IF p_data IS NULL OR octet_length(p_data) <> v_expected THEN
        RAISE EXCEPTION 'Khối số % dài % byte, phải là % byte', p_seq,
            coalesce(octet_length(p_data), 0), v_expected USING ERRCODE = '22023';
    END IF;
    IF p_seq = 0 AND NOT sys.dossier_magic_ok(v_blob.media_type, p_data) THEN
        RAISE EXCEPTION 'Nội dung tệp không phải định dạng % như đã khai', v_blob.media_type
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO doc_blob.chunk (sha256, seq, data) VALUES (p_sha256, p_seq, p_data)
    ON CONFLICT (sha256, seq) DO UPDATE SET data = excluded.data;
    RETURN p_seq + 1;
END
$fn$;

-- A page rendition made by the uploading client (PNG or JPEG), while the upload is open.
CREATE FUNCTION api.put_preview(p_sha256 text, p_page integer, p_kind text, p_width integer,
                                p_height integer, p_data bytea) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_blob doc_blob.blob := sys.dossier_my_upload(p_sha256);
BEGIN
    IF p_kind NOT IN ('thumb', 'screen') OR p_page IS NULL OR p_page < 1 OR p_page > 10000
       OR p_width NOT BETWEEN 1 AND 4096 OR p_height NOT BETWEEN 1 AND 4096
       OR p_data IS NULL OR octet_length(p_data) > 4194304
       OR NOT (substr(p_data, 1, 8) = '\x89504e470d0a1a0a'::bytea
               OR substr(p_data, 1, 3) = '\xffd8ff'::bytea) THEN
        RAISE EXCEPTION 'Ảnh xem trước trang % không hợp lệ', p_page USING ERRCODE = '22023';
    END IF;
    INSERT INTO doc_blob.preview (sha256, page, kind, width, height, data)
    VALUES (v_blob.sha256, p_page, p_kind, p_width, p_height, p_data)
    ON CONFLICT (sha256, kind, page) DO UPDATE
        SET width = excluded.width, height = excluded.height, data = excluded.data;
END
$fn$;

-- Verify and close the upload. The server hashes the chunks itself: only a complete file
-- whose SHA-256 is the one announced becomes usable. On a mismatch or a missing chunk the
-- upload's rows are removed (nothing half-stored stays) and the answer says why:
--   {"ok": true, "sha256": …}  or  {"ok": false, "error": "…"}
-- (an answer, not an exception: an exception would roll the removal back).
CREATE FUNCTION api.finish_upload(p_sha256 text, p_page_count integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_blob doc_blob.blob := sys.dossier_my_upload(p_sha256);
    v_have integer;
    v_bytes bigint;
    v_hash text;
    v_error text;
BEGIN
    SELECT count(*), coalesce(sum(octet_length(c.data)), 0) INTO v_have, v_bytes
    FROM doc_blob.chunk c WHERE c.sha256 = p_sha256;
    IF v_have <> v_blob.chunk_count OR v_bytes <> v_blob.byte_size THEN
        -- Not an error yet: the client may resume.
        RETURN jsonb_build_object('ok', false, 'incomplete', true,
            'error', format('Tệp chưa tải lên đủ: có %s/%s khối', v_have, v_blob.chunk_count));
    END IF;
    -- One pass in memory (≤ sys.dossier_max_bytes); measured 0.9–1.1 s for 300 MB (docs/dossiers.md).
    SELECT encode(sha256(string_agg(c.data, ''::bytea ORDER BY c.seq)), 'hex') INTO v_hash
    FROM doc_blob.chunk c WHERE c.sha256 = p_sha256;
    IF v_hash IS DISTINCT FROM p_sha256 THEN
        DELETE FROM doc_blob.blob WHERE sha256 = p_sha256;
        v_error := 'Tệp bị hỏng trên đường truyền: mã băm SHA-256 không khớp; đã hủy phần đã tải lên';
        RETURN jsonb_build_object('ok', false, 'error', v_error);
    END IF;
    IF p_page_count IS NOT NULL AND p_page_count BETWEEN 1 AND 100000 THEN
        UPDATE doc_blob.blob SET page_count = p_page_count WHERE sha256 = p_sha256;
    END IF;
    UPDATE doc_blob.blob SET complete = true, created_at = now() WHERE sha256 = p_sha256;
    DELETE FROM doc_blob.upload WHERE sha256 = p_sha256;
    PERFORM audit.log_event('DOC_UPLOAD', 'sha256:' || p_sha256,
        jsonb_build_object('byte_size', v_blob.byte_size, 'media_type', v_blob.media_type));
    RETURN jsonb_build_object('ok', true, 'sha256', p_sha256);
END
$fn$;

-- Give up an upload: its chunks and previews go.
CREATE FUNCTION api.abort_upload(p_sha256 text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM sys.dossier_require_writer();
    DELETE FROM doc_blob.blob b
    WHERE b.sha256 = p_sha256 AND NOT b.complete
      AND EXISTS (SELECT 1 FROM doc_blob.upload u
                  WHERE u.sha256 = b.sha256 AND u.owner_role = session_user);
    RETURN FOUND;
END
$fn$;

------------------------------------------------------------------------------------------
-- Documents: create with links, replace the file, supersede, list, read
------------------------------------------------------------------------------------------
CREATE FUNCTION sys.dossier_clean_meta(p_meta jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_type text := p_meta ->> 'doc_type';
    v_class text := coalesce(p_meta ->> 'classification', 'noi_bo');
    v_issued date;
BEGIN
    IF v_type IS NULL OR v_type NOT IN ('giay_chung_nhan', 'don_dang_ky', 'hop_dong', 'ban_ve',
                                        'quyet_dinh', 'trich_luc', 'khac') THEN
        RAISE EXCEPTION 'Loại hồ sơ «%» không hợp lệ', left(coalesce(v_type, ''), 40)
            USING ERRCODE = '22023',
                  HINT = 'giay_chung_nhan, don_dang_ky, hop_dong, ban_ve, quyet_dinh, trich_luc, khac';
    END IF;
    IF v_class NOT IN ('cong_khai', 'noi_bo', 'han_che') THEN
        RAISE EXCEPTION 'Mức phân loại «%» không hợp lệ (cong_khai, noi_bo, han_che)',
            left(v_class, 40) USING ERRCODE = '22023';
    END IF;
    BEGIN
        v_issued := (p_meta ->> 'issued_on')::date;
    EXCEPTION WHEN others THEN
        RAISE EXCEPTION 'Ngày ban hành «%» không hợp lệ', left(p_meta ->> 'issued_on', 20)
            USING ERRCODE = '22023';
    END;
    IF v_issued > current_date THEN
        RAISE EXCEPTION 'Ngày ban hành % ở tương lai', to_char(v_issued, 'DD/MM/YYYY')
            USING ERRCODE = '22023';
    END IF;
    RETURN jsonb_build_object(
        'doc_type', v_type, 'classification', v_class, 'issued_on', v_issued,
        'number', sys.api_clean_text(p_meta ->> 'number', 'Số hiệu văn bản', 100, false),
        'issuer', sys.api_clean_text(p_meta ->> 'issuer', 'Cơ quan ban hành', 200, false),
        'original_name', sys.api_clean_text(p_meta ->> 'original_name', 'Tên tệp', 255, false));
END
$fn$;

-- A complete, verified blob (the only kind a document may point to).
CREATE FUNCTION sys.dossier_verified_blob(p_sha256 text) RETURNS doc_blob.blob
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v doc_blob.blob;
BEGIN
    SELECT * INTO v FROM doc_blob.blob WHERE sha256 = p_sha256 AND complete;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Tệp % chưa được tải lên đầy đủ và kiểm tra', left(coalesce(p_sha256, ''), 12)
            USING ERRCODE = '55000', HINT = 'Finish the upload (api.finish_upload) first.';
    END IF;
    RETURN v;
END
$fn$;

-- p_meta: {"doc_type", "number", "issued_on", "issuer", "classification", "original_name"};
-- p_links: see sys.dossier_check_links. Returns the new document's id.
CREATE FUNCTION api.create_document(p_sha256 text, p_meta jsonb, p_links jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_blob doc_blob.blob;
    v_meta jsonb;
    v_id bigint;
BEGIN
    PERFORM sys.dossier_require_writer();
    v_meta := sys.dossier_clean_meta(coalesce(p_meta, '{}'));
    PERFORM sys.dossier_check_links(p_links);
    v_blob := sys.dossier_verified_blob(p_sha256);
    INSERT INTO doc.document (doc_type, number, issued_on, issuer, page_count, classification,
                              sha256, byte_size, media_type, original_name)
    VALUES (v_meta ->> 'doc_type', v_meta ->> 'number', (v_meta ->> 'issued_on')::date,
            v_meta ->> 'issuer', v_blob.page_count, v_meta ->> 'classification',
            v_blob.sha256, v_blob.byte_size, v_blob.media_type, v_meta ->> 'original_name')
    RETURNING id INTO v_id;
    INSERT INTO doc.document_link (document_id, parcel_id, certificate_id, party_id, mutation_id)
    SELECT DISTINCT v_id, (l ->> 'parcel_id')::bigint, (l ->> 'certificate_id')::bigint,
           (l ->> 'party_id')::bigint, (l ->> 'mutation_id')::bigint
    FROM jsonb_array_elements(p_links) l;
    RETURN v_id;
END
$fn$;

-- The caller may change document p_id (writer, every link in the area); locked.
CREATE FUNCTION sys.dossier_lock_for_change(p_id bigint) RETURNS doc.document
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v doc.document;
    v_links jsonb;
BEGIN
    PERFORM sys.dossier_require_writer();
    v := sys.dossier_readable(p_id, false);
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('parcel_id', l.parcel_id,
               'certificate_id', l.certificate_id, 'party_id', l.party_id,
               'mutation_id', l.mutation_id)))
    INTO v_links FROM doc.document_link l WHERE l.document_id = p_id;
    IF v_links IS NOT NULL THEN
        PERFORM sys.dossier_check_links(v_links);
    END IF;
    SELECT * INTO v FROM doc.document WHERE id = p_id FOR UPDATE;
    IF v.superseded_by IS NOT NULL THEN
        RAISE EXCEPTION 'Hồ sơ quét % đã được thay thế bởi phiên bản mới (mã %)', p_id,
            v.superseded_by USING ERRCODE = '55000';
    END IF;
    RETURN v;
END
$fn$;

-- Replace the file of a document in place (a bad scan fixed before approval). Refused once
-- the document belongs to an approved change set: then only api.supersede_document.
CREATE FUNCTION api.replace_document_file(p_document_id bigint, p_sha256 text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v doc.document := sys.dossier_lock_for_change(p_document_id);
    v_blob doc_blob.blob;
    v_mutation bigint;
BEGIN
    SELECT m.id INTO v_mutation
    FROM doc.document_link l JOIN cad.mutation m ON m.id = l.mutation_id
    WHERE l.document_id = p_document_id AND m.status = 'da_duyet' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Hồ sơ quét % thuộc biến động % đã được phê duyệt: không thay tệp được, hãy tạo phiên bản mới',
            p_document_id, v_mutation
            USING ERRCODE = '55000', HINT = 'Use api.supersede_document.';
    END IF;
    v_blob := sys.dossier_verified_blob(p_sha256);
    UPDATE doc.document
    SET sha256 = v_blob.sha256, byte_size = v_blob.byte_size, media_type = v_blob.media_type,
        page_count = v_blob.page_count
    WHERE id = p_document_id;
END
$fn$;

-- A new version of document p_document_id with the file p_sha256 and the same links (plus
-- p_meta changes); the old one points to it and stays readable. Returns the new id.
CREATE FUNCTION api.supersede_document(p_document_id bigint, p_sha256 text,
                                       p_meta jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v doc.document := sys.dossier_lock_for_change(p_document_id);
    v_blob doc_blob.blob := sys.dossier_verified_blob(p_sha256);
    v_meta jsonb;
    v_id bigint;
BEGIN
    v_meta := sys.dossier_clean_meta(jsonb_build_object(
        'doc_type', v.doc_type, 'number', v.number, 'issued_on', v.issued_on,
        'issuer', v.issuer, 'classification', v.classification,
        'original_name', v.original_name) || coalesce(p_meta, '{}'));
    INSERT INTO doc.document (doc_type, number, issued_on, issuer, page_count, classification,
                              sha256, byte_size, media_type, original_name, version)
    VALUES (v_meta ->> 'doc_type', v_meta ->> 'number', (v_meta ->> 'issued_on')::date,
            v_meta ->> 'issuer', v_blob.page_count, v_meta ->> 'classification',
            v_blob.sha256, v_blob.byte_size, v_blob.media_type, v_meta ->> 'original_name',
            v.version + 1)
    RETURNING id INTO v_id;
    INSERT INTO doc.document_link (document_id, parcel_id, certificate_id, party_id, mutation_id)
    SELECT v_id, l.parcel_id, l.certificate_id, l.party_id, l.mutation_id
    FROM doc.document_link l WHERE l.document_id = p_document_id;
    UPDATE doc.document SET superseded_by = v_id WHERE id = p_document_id;
    RETURN v_id;
END
$fn$;

-- One document's metadata and how to read its file.
CREATE FUNCTION sys.dossier_info(v doc.document) RETURNS jsonb
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
                     WHERE p.sha256 = v.sha256 AND p.kind = 'thumb'))
    FROM (SELECT 1) one LEFT JOIN doc_blob.blob b ON b.sha256 = v.sha256 AND b.complete
);

CREATE FUNCTION api.document_info(p_document_id bigint) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN sys.dossier_info(sys.dossier_readable(p_document_id, false));

-- Documents linked to one record (exactly one argument given), newest version first.
CREATE FUNCTION api.list_documents(p_parcel_id bigint DEFAULT NULL,
                                   p_certificate_id bigint DEFAULT NULL,
                                   p_party_id bigint DEFAULT NULL,
                                   p_mutation_id bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM sys.api_require_right('dossier', 'viewer');
    IF num_nonnulls(p_parcel_id, p_certificate_id, p_party_id, p_mutation_id) <> 1 THEN
        RAISE EXCEPTION 'Chọn đúng một thửa đất, giấy chứng nhận, người hoặc biến động'
            USING ERRCODE = '22023';
    END IF;
    RETURN coalesce((
        SELECT jsonb_agg(sys.dossier_info(d) ORDER BY d.superseded_by NULLS FIRST,
                         d.issued_on DESC NULLS LAST, d.id)
        FROM doc.document d
        WHERE d.id IN (SELECT l.document_id FROM doc.document_link l
                       WHERE l.parcel_id = p_parcel_id OR l.certificate_id = p_certificate_id
                          OR l.party_id = p_party_id OR l.mutation_id = p_mutation_id)
          AND (sys.sees_whole_province() OR EXISTS (
                   SELECT 1 FROM sys.area_document a WHERE a.document_id = d.id))), '[]');
END
$fn$;

-- Chunks p_first … p_first + p_count - 1 of document p_document_id's file. Restricted
-- documents: approver/administrator only, and every call is audited.
CREATE FUNCTION api.read_chunks(p_document_id bigint, p_first integer, p_count integer)
RETURNS TABLE (seq integer, data bytea)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v doc.document := sys.dossier_readable(p_document_id, true);
BEGIN
    IF v.sha256 IS NULL THEN
        RAISE EXCEPTION 'Hồ sơ % chưa có bản quét', p_document_id USING ERRCODE = '22023';
    END IF;
    IF p_first IS NULL OR p_first < 0 OR p_count IS NULL OR p_count NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION 'Phạm vi khối không hợp lệ (tối đa 64 khối mỗi lần)' USING ERRCODE = '22023';
    END IF;
    IF v.classification = 'han_che' THEN
        PERFORM audit.write_event('DOC_READ_RESTRICTED', 'doc.document:' || p_document_id,
            jsonb_build_object('first', p_first, 'count', p_count, 'sha256', v.sha256));
    END IF;
    RETURN QUERY
        SELECT c.seq, c.data FROM doc_blob.chunk c
        WHERE c.sha256 = v.sha256 AND c.seq >= p_first AND c.seq < p_first + p_count
        ORDER BY c.seq;
END
$fn$;

-- Page renditions (thumb or screen) of pages p_first … p_first + p_count - 1.
CREATE FUNCTION api.read_previews(p_document_id bigint, p_kind text, p_first integer,
                                  p_count integer)
RETURNS TABLE (page integer, width integer, height integer, data bytea)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v doc.document := sys.dossier_readable(p_document_id, true);
BEGIN
    IF p_count IS NULL OR p_count NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'Phạm vi trang không hợp lệ' USING ERRCODE = '22023';
    END IF;
    IF v.classification = 'han_che' THEN
        PERFORM audit.write_event('DOC_READ_RESTRICTED', 'doc.document:' || p_document_id,
            jsonb_build_object('preview', p_kind, 'first', p_first, 'count', p_count));
    END IF;
    RETURN QUERY
        SELECT p.page, p.width, p.height, p.data FROM doc_blob.preview p
        WHERE p.sha256 = v.sha256 AND p.kind = p_kind
          AND p.page >= p_first AND p.page < p_first + p_count
        ORDER BY p.page;
END
$fn$;

------------------------------------------------------------------------------------------
-- Ownership and grants
------------------------------------------------------------------------------------------
-- sys.assign_ownership() (0004) knows only the schemas of its time: hand doc_blob to the
-- owner here, or the definer functions (owned by landrec_owner) could not read it.
ALTER SCHEMA doc_blob OWNER TO landrec_owner;
ALTER TABLE doc_blob.blob OWNER TO landrec_owner;
ALTER TABLE doc_blob.chunk OWNER TO landrec_owner;
ALTER TABLE doc_blob.preview OWNER TO landrec_owner;
ALTER TABLE doc_blob.upload OWNER TO landrec_owner;
REVOKE ALL ON ALL TABLES IN SCHEMA doc_blob FROM PUBLIC;
REVOKE ALL ON FUNCTION sys.dossier_max_bytes(), sys.dossier_magic_ok(text, bytea), sys.dossier_require_writer(),
    sys.dossier_readable(bigint, boolean), sys.dossier_check_links(jsonb),
    sys.dossier_cleanup(interval), sys.dossier_my_upload(text), sys.dossier_clean_meta(jsonb),
    sys.dossier_verified_blob(text), sys.dossier_lock_for_change(bigint),
    sys.dossier_info(doc.document) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.dossier_limits(),
    api.begin_upload(text, bigint, text, integer, text), api.put_chunk(text, integer, bytea),
    api.put_preview(text, integer, text, integer, integer, bytea),
    api.finish_upload(text, integer), api.abort_upload(text),
    api.create_document(text, jsonb, jsonb), api.replace_document_file(bigint, text),
    api.supersede_document(bigint, text, jsonb), api.document_info(bigint),
    api.list_documents(bigint, bigint, bigint, bigint),
    api.read_chunks(bigint, integer, integer), api.read_previews(bigint, text, integer, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.dossier_limits(), api.document_info(bigint),
    api.list_documents(bigint, bigint, bigint, bigint),
    api.read_chunks(bigint, integer, integer), api.read_previews(bigint, text, integer, integer)
    TO lr_dossier_viewer;
GRANT EXECUTE ON FUNCTION api.begin_upload(text, bigint, text, integer, text),
    api.put_chunk(text, integer, bytea),
    api.put_preview(text, integer, text, integer, integer, bytea),
    api.finish_upload(text, integer), api.abort_upload(text),
    api.create_document(text, jsonb, jsonb), api.replace_document_file(bigint, text),
    api.supersede_document(bigint, text, jsonb)
    TO lr_dossier_editor, lr_dossier_administrator;
