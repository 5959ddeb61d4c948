-- LandRec schema v1: reference data, cadastral records, land price, planning, inventory,
-- documents. One schema per subsystem (phân hệ) so that later rights can be granted per
-- subsystem. @SRID@ is the deployment's province CRS (VN-2000 / TM-3 zone), substituted by
-- the migration; it is also recorded in sys.setting.
--
-- Conventions
--   * Administrative codes are text with leading zeros (province 2, commune 5 digits).
--   * Geometries are stored in the province CRS, typmod-checked for SRID and type, and must
--     be valid and non-empty (CHECK constraints) so no client can store a broken shape.
--   * Areas are square metres (numeric(14,1) for legal areas as printed on certificates).
--   * Rows that history must keep are never deleted: they are retired (retired_at), and a
--     later migration adds versioned history (issue 3).

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;   -- effective-dated exclusion constraints
CREATE EXTENSION IF NOT EXISTS pg_trgm;      -- name search without diacritics, with typos

CREATE SCHEMA IF NOT EXISTS sys;  -- deployment settings (may hold alembic_version already)
CREATE SCHEMA ref;    -- reference data: administrative units, land-use codes
CREATE SCHEMA cad;    -- cadastral records (địa chính)
CREATE SCHEMA price;  -- land price (giá đất)
CREATE SCHEMA plan;   -- land-use planning (quy hoạch, kế hoạch sử dụng đất)
CREATE SCHEMA inv;    -- statistics and inventory (thống kê, kiểm kê)
CREATE SCHEMA doc;    -- scanned dossiers (hồ sơ quét)

------------------------------------------------------------------------------------------
-- Settings of the deployment
------------------------------------------------------------------------------------------
CREATE TABLE sys.setting (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    description text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO sys.setting (key, value, description) VALUES
    ('srid', to_jsonb(@SRID@),
     'Province CRS of stored geometries (VN-2000 / TM-3, EPSG code)'),
    ('area_tolerance', '{"coefficient": 0.0004, "formula": "coefficient * scale * sqrt(area)"}',
     'Allowed |computed - legal| area in m² for a parcel on a sheet of scale 1:scale; '
     'the formula is a deployment choice (DESIGN §2 [U]) and can be changed here'),
    ('overlap_tolerance_m2', '0.01', 'Largest overlap between two parcels still accepted');

------------------------------------------------------------------------------------------
-- Text helpers
------------------------------------------------------------------------------------------
-- Vietnamese without diacritics, lower case: "Nguyễn Thị Đào" -> "nguyen thi dao".
-- Written with translate() so it is IMMUTABLE (usable in indexes); unaccent() is not.
CREATE FUNCTION ref.fold_vi(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN lower(translate(normalize(t, NFC),
    'àÀáÁảẢãÃạẠăĂằẰắẮẳẲẵẴặẶâÂầẦấẤẩẨẫẪậẬèÈéÉẻẺẽẼẹẸêÊềỀếẾểỂễỄệỆìÌíÍỉỈĩĨịỊòÒóÓỏỎõÕọỌôÔồỒốỐổỔỗỖộỘơƠờỜớỚởỞỡỠợỢùÙúÚủỦũŨụỤưƯừỪứỨửỬữỮựỰỳỲýÝỷỶỹỸỵỴđĐ',
    'aAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAeEeEeEeEeEeEeEeEeEeEeEiIiIiIiIiIoOoOoOoOoOoOoOoOoOoOoOoOoOoOoOoOoOuUuUuUuUuUuUuUuUuUuUuUyYyYyYyYyYdD'));

------------------------------------------------------------------------------------------
-- Reference data
------------------------------------------------------------------------------------------
-- Land-use codes of TT 08/2024 (current) and TT 27/2018 codes still met in old data.
CREATE TABLE ref.land_use_code (
    code           text PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    name_vi        text NOT NULL,
    group_code     text NOT NULL CHECK (group_code IN ('NNP', 'PNN', 'CSD')),
    group_name_vi  text NOT NULL,
    status         text NOT NULL CHECK (status IN ('current', 'legacy')),
    -- For a legacy code: the current code it usually maps to (editable; may be unknown).
    maps_to        text REFERENCES ref.land_use_code,
    CHECK (status = 'legacy' OR maps_to IS NULL)
);

-- Administrative units with effective dates: codes are reused with new meanings after
-- the 2025 reorganisation, so a code identifies a unit only together with a date.
CREATE TABLE ref.admin_unit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    level       text NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    code        text NOT NULL,
    name        text NOT NULL,
    -- xã, phường, đặc khu, thị trấn, huyện, thị xã, thành phố, tỉnh
    kind        text NOT NULL,
    parent_id   bigint REFERENCES ref.admin_unit,
    valid_from  date NOT NULL,
    valid_to    date,                    -- exclusive; NULL = in force
    geom        geometry(MultiPolygon, @SRID@),
    CHECK (code ~ CASE level WHEN 'province' THEN '^[0-9]{2}$'
                             WHEN 'district' THEN '^[0-9]{3}$'
                             ELSE '^[0-9]{5}$' END),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK (geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))),
    -- One meaning per code at any date.
    EXCLUDE USING gist (level WITH =, code WITH =,
                        daterange(valid_from, valid_to) WITH &&)
);
CREATE INDEX admin_unit_geom_idx ON ref.admin_unit USING gist (geom);
CREATE INDEX admin_unit_parent_idx ON ref.admin_unit (parent_id);

-- Which new units took over which old ones (mergers, splits, renames).
CREATE TABLE ref.admin_unit_succession (
    predecessor_id bigint NOT NULL REFERENCES ref.admin_unit,
    successor_id   bigint NOT NULL REFERENCES ref.admin_unit,
    effective_on   date NOT NULL,
    legal_basis    text,                 -- e.g. the Resolution of the Standing Committee
    PRIMARY KEY (predecessor_id, successor_id),
    CHECK (predecessor_id <> successor_id)
);

------------------------------------------------------------------------------------------
-- Cadastral records (địa chính)
------------------------------------------------------------------------------------------
-- Map sheet (tờ bản đồ): numbered per commune of the survey, so a merged commune holds
-- several "sheet 1"; the sheet's commune is the unit as it was when surveyed.
CREATE TABLE cad.map_sheet (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    commune_id    bigint NOT NULL REFERENCES ref.admin_unit,
    sheet_number  integer NOT NULL CHECK (sheet_number > 0),
    scale         integer NOT NULL CHECK (scale IN (200, 500, 1000, 2000, 5000, 10000)),
    frame         geometry(Polygon, @SRID@) NOT NULL
                  CHECK (ST_IsValid(frame) AND NOT ST_IsEmpty(frame)),
    -- CRS of the original drawing (after the 2025 mergers drawings keep the meridian of
    -- their former province); geometries here are transformed to the deployment CRS.
    source_srid   integer NOT NULL DEFAULT @SRID@,
    survey_year   integer CHECK (survey_year BETWEEN 1975 AND 2100),
    UNIQUE (commune_id, sheet_number)
);
CREATE INDEX map_sheet_frame_idx ON cad.map_sheet USING gist (frame);

-- Parcel (thửa đất). Key within the surveying commune: (sheet, parcel number).
-- Duplicate rule: real data holds duplicate parcel numbers on a sheet (~0.2 %). They are
-- kept, never rejected: the first keeps duplicate_seq 0, later ones get 1, 2, … and are
-- listed by cad.duplicate_parcel_key for the office to resolve. The key of a current
-- parcel is therefore (sheet_id, parcel_number, duplicate_seq).
CREATE TABLE cad.parcel (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sheet_id        bigint NOT NULL REFERENCES cad.map_sheet,
    parcel_number   integer NOT NULL CHECK (parcel_number > 0),
    duplicate_seq   smallint NOT NULL DEFAULT 0 CHECK (duplicate_seq >= 0),
    -- Commune in force today that holds the parcel (the sheet keeps the old one).
    commune_id      bigint NOT NULL REFERENCES ref.admin_unit,
    -- Mã thửa đất quốc gia: 12-character GeoHash of the polylabel point in WGS 84.
    national_id     text CHECK (national_id ~ '^[0-9b-hjkmnp-z]{12}$'),
    geom            geometry(MultiPolygon, @SRID@) NOT NULL
                    CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    area_legal      numeric(14, 1) CHECK (area_legal > 0),       -- m², as on the certificate
    area_computed   double precision GENERATED ALWAYS AS (ST_Area(geom)) STORED,  -- m²
    address         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz,          -- set when a mutation replaces the parcel
    version         integer NOT NULL DEFAULT 1,  -- optimistic concurrency for editors
    CHECK (ST_Area(geom) > 0)
);
CREATE UNIQUE INDEX parcel_key_current_uq
    ON cad.parcel (sheet_id, parcel_number, duplicate_seq) WHERE retired_at IS NULL;
CREATE UNIQUE INDEX parcel_national_id_current_uq
    ON cad.parcel (national_id) WHERE retired_at IS NULL;
CREATE INDEX parcel_geom_idx ON cad.parcel USING gist (geom);
CREATE INDEX parcel_commune_idx ON cad.parcel (commune_id);

-- Parcels flagged by the duplicate rule above, for the office's report.
CREATE VIEW cad.duplicate_parcel_key AS
SELECT p.sheet_id, s.sheet_number, u.code AS commune_code, p.parcel_number,
       array_agg(p.id ORDER BY p.duplicate_seq) AS parcel_ids
FROM cad.parcel p
JOIN cad.map_sheet s ON s.id = p.sheet_id
JOIN ref.admin_unit u ON u.id = s.commune_id
WHERE p.retired_at IS NULL
GROUP BY p.sheet_id, s.sheet_number, u.code, p.parcel_number
HAVING count(*) > 1;

-- Keys the parcel carried in earlier surveys or imports (số tờ/số thửa cũ).
CREATE TABLE cad.parcel_old_key (
    parcel_id     bigint NOT NULL REFERENCES cad.parcel,
    commune_code  text NOT NULL CHECK (commune_code ~ '^[0-9]{5}$'),
    district_code text CHECK (district_code ~ '^[0-9]{3}$'),
    sheet_number  integer NOT NULL,
    parcel_number integer NOT NULL,
    source        text NOT NULL,          -- e.g. "Bản đồ 299", "đo đạc 2005"
    PRIMARY KEY (parcel_id, commune_code, sheet_number, parcel_number, source)
);

-- Land-use purposes of a parcel (mục đích sử dụng): one parcel may have several.
CREATE TABLE cad.land_use (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parcel_id    bigint NOT NULL REFERENCES cad.parcel,
    code         text NOT NULL REFERENCES ref.land_use_code,
    area         numeric(14, 1) NOT NULL CHECK (area > 0),      -- m²
    term_until   date,                    -- NULL = lâu dài (long-term)
    use_from     date,
    origin       text,                    -- nguồn gốc sử dụng
    retired_at   timestamptz
);
CREATE INDEX land_use_parcel_idx ON cad.land_use (parcel_id);
CREATE INDEX land_use_code_idx ON cad.land_use (code);

-- Persons and organisations (chủ sử dụng): households and couples are parties whose
-- members are individual parties.
CREATE TABLE cad.party (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL
                  CHECK (kind IN ('ca_nhan', 'ho_gia_dinh', 'vo_chong', 'to_chuc', 'cong_dong')),
    full_name     text NOT NULL CHECK (full_name = normalize(full_name, NFC) AND full_name <> ''),
    name_folded   text GENERATED ALWAYS AS (ref.fold_vi(full_name)) STORED,
    gender        text CHECK (gender IN ('nam', 'nu')),
    birth_year    integer CHECK (birth_year BETWEEN 1880 AND 2100),
    -- cccd: 12-digit citizen ID; cmnd: old 9-digit ID; ho_chieu: passport;
    -- mst: tax code of an organisation.
    id_kind       text CHECK (id_kind IN ('cccd', 'cmnd', 'ho_chieu', 'mst')),
    id_number     text,
    address       text,
    CHECK ((id_kind IS NULL) = (id_number IS NULL)),
    CHECK (id_kind IS DISTINCT FROM 'cccd' OR id_number ~ '^[0-9]{12}$'),
    CHECK (id_kind IS DISTINCT FROM 'cmnd' OR id_number ~ '^[0-9]{9}$'),
    CHECK (kind IN ('ca_nhan', 'to_chuc') OR id_kind IS NULL OR id_kind = 'mst')
);
-- One identity document number names one party. Real duplicates (the same person
-- registered twice) are merged by the office, not stored twice.
CREATE UNIQUE INDEX party_identity_uq ON cad.party (id_kind, id_number)
    WHERE id_number IS NOT NULL;
CREATE INDEX party_name_trgm_idx ON cad.party USING gin (name_folded gin_trgm_ops);

CREATE TABLE cad.party_member (
    group_id   bigint NOT NULL REFERENCES cad.party,
    member_id  bigint NOT NULL REFERENCES cad.party,
    role       text NOT NULL,             -- chủ hộ, vợ, chồng, thành viên
    PRIMARY KEY (group_id, member_id),
    CHECK (group_id <> member_id)
);

-- Certificate (giấy chứng nhận): may cover several parcels of the same holder.
CREATE TABLE cad.certificate (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial          text NOT NULL UNIQUE CHECK (serial ~ '^[A-Z]{2} [0-9]{6,8}$'),  -- số phát hành
    register_number text NOT NULL,        -- số vào sổ cấp GCN
    issued_on       date NOT NULL,
    issuer          text NOT NULL,
    status          text NOT NULL DEFAULT 'hieu_luc'
                    CHECK (status IN ('hieu_luc', 'thu_hoi', 'cap_doi', 'huy')),
    replaced_by     bigint REFERENCES cad.certificate
);

CREATE TABLE cad.certificate_parcel (
    certificate_id bigint NOT NULL REFERENCES cad.certificate,
    parcel_id      bigint NOT NULL REFERENCES cad.parcel,
    PRIMARY KEY (certificate_id, parcel_id)
);
CREATE INDEX certificate_parcel_parcel_idx ON cad.certificate_parcel (parcel_id);

-- Rights (quyền): use right of land, management right, ownership of attached assets.
CREATE TABLE cad.land_right (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parcel_id       bigint NOT NULL REFERENCES cad.parcel,
    party_id        bigint NOT NULL REFERENCES cad.party,
    kind            text NOT NULL CHECK (kind IN ('su_dung', 'quan_ly', 'so_huu_tai_san')),
    share           numeric(7, 6) NOT NULL DEFAULT 1 CHECK (share > 0 AND share <= 1),
    certificate_id  bigint REFERENCES cad.certificate,
    valid_from      date NOT NULL,
    valid_to        date,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX land_right_parcel_idx ON cad.land_right (parcel_id);
CREATE INDEX land_right_party_idx ON cad.land_right (party_id);

-- Assets attached to land (tài sản gắn liền với đất), minimal for now.
CREATE TABLE cad.asset (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parcel_id   bigint NOT NULL REFERENCES cad.parcel,
    kind        text NOT NULL CHECK (kind IN ('nha_o', 'cong_trinh', 'rung', 'cay_lau_nam')),
    description text,
    floor_area  numeric(12, 1) CHECK (floor_area > 0),   -- m²
    floors      smallint CHECK (floors > 0),
    owner_id    bigint REFERENCES cad.party
);
CREATE INDEX asset_parcel_idx ON cad.asset (parcel_id);

-- Restrictions and disputes (hạn chế, tranh chấp).
CREATE TABLE cad.restriction (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parcel_id   bigint NOT NULL REFERENCES cad.parcel,
    kind        text NOT NULL CHECK (kind IN ('tranh_chap', 'ke_bien', 'hanh_lang', 'khac')),
    description text NOT NULL,
    valid_from  date NOT NULL,
    valid_to    date
);

-- Mutation (biến động): a change set. Later issues add the workflow around it.
CREATE TABLE cad.mutation (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN (
                       'tach_thua', 'hop_thua', 'dinh_chinh_ranh_gioi', 'thua_moi',
                       'thay_doi_thuoc_tinh', 'chuyen_muc_dich', 'chuyen_quyen',
                       'the_chap', 'xoa_the_chap')),
    status         text NOT NULL DEFAULT 'nhap'
                   CHECK (status IN ('nhap', 'da_nop', 'da_duyet', 'tu_choi')),
    reason         text NOT NULL,
    dossier_number text,
    created_by     text NOT NULL DEFAULT session_user,
    created_at     timestamptz NOT NULL DEFAULT now(),
    decided_by     text,
    decided_at     timestamptz,
    CHECK ((status IN ('da_duyet', 'tu_choi')) = (decided_at IS NOT NULL))
);

-- Parcels a mutation touches (e.g. a transfer of rights, a mortgage).
CREATE TABLE cad.mutation_parcel (
    mutation_id bigint NOT NULL REFERENCES cad.mutation,
    parcel_id   bigint NOT NULL REFERENCES cad.parcel,
    PRIMARY KEY (mutation_id, parcel_id)
);

-- Lineage of splits and merges: parents retired by a mutation, children it created.
CREATE TABLE cad.parcel_lineage (
    mutation_id bigint NOT NULL REFERENCES cad.mutation,
    parent_id   bigint NOT NULL REFERENCES cad.parcel,
    child_id    bigint NOT NULL REFERENCES cad.parcel,
    PRIMARY KEY (mutation_id, parent_id, child_id),
    CHECK (parent_id <> child_id)
);
CREATE INDEX parcel_lineage_parent_idx ON cad.parcel_lineage (parent_id);
CREATE INDEX parcel_lineage_child_idx ON cad.parcel_lineage (child_id);

------------------------------------------------------------------------------------------
-- Land price (giá đất): rules differ by province, so they are data, not code.
------------------------------------------------------------------------------------------
CREATE TABLE price.road (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    road_class text NOT NULL CHECK (road_class IN ('quoc_lo', 'tinh_lo', 'duong_chinh', 'duong_nhanh', 'hem'))
);

-- Road segment (đoạn đường) "from … to …" priced as a unit.
CREATE TABLE price.road_segment (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    road_id    bigint NOT NULL REFERENCES price.road,
    commune_id bigint NOT NULL REFERENCES ref.admin_unit,
    from_desc  text NOT NULL,
    to_desc    text NOT NULL,
    geom       geometry(LineString, @SRID@) NOT NULL
               CHECK (ST_IsValid(geom) AND ST_Length(geom) > 0)
);
CREATE INDEX road_segment_geom_idx ON price.road_segment USING gist (geom);

-- Price zones (khu vực) for agricultural land, per commune.
CREATE TABLE price.zone (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    commune_id bigint NOT NULL REFERENCES ref.admin_unit,
    name       text NOT NULL,
    geom       geometry(MultiPolygon, @SRID@) NOT NULL
               CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX price_zone_geom_idx ON price.zone USING gist (geom);

-- The provincial price table (bảng giá đất) of a year.
CREATE TABLE price.price_table (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year        integer NOT NULL UNIQUE CHECK (year BETWEEN 1990 AND 2100),
    decision    text NOT NULL,            -- số quyết định của UBND tỉnh
    valid_from  date NOT NULL,
    valid_to    date,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

-- Price of residential/commercial land per segment and position (VT1…VT5), VND per m².
CREATE TABLE price.segment_price (
    table_id       bigint NOT NULL REFERENCES price.price_table,
    segment_id     bigint NOT NULL REFERENCES price.road_segment,
    land_use_code  text NOT NULL REFERENCES ref.land_use_code,
    position       text NOT NULL CHECK (position ~ '^VT[1-5]$'),
    price_vnd_m2   numeric(14, 0) NOT NULL CHECK (price_vnd_m2 > 0),
    PRIMARY KEY (table_id, segment_id, land_use_code, position)
);

-- Price of agricultural land per zone and land-use code, VND per m².
CREATE TABLE price.zone_price (
    table_id       bigint NOT NULL REFERENCES price.price_table,
    zone_id        bigint NOT NULL REFERENCES price.zone,
    land_use_code  text NOT NULL REFERENCES ref.land_use_code,
    price_vnd_m2   numeric(14, 0) NOT NULL CHECK (price_vnd_m2 > 0),
    PRIMARY KEY (table_id, zone_id, land_use_code)
);

-- Depth bands: the first 20 m at 100 %, the next at 60 % … (per table, as data).
CREATE TABLE price.depth_band (
    table_id   bigint NOT NULL REFERENCES price.price_table,
    from_m     numeric(8, 2) NOT NULL CHECK (from_m >= 0),
    to_m       numeric(8, 2) CHECK (to_m > from_m),   -- NULL = no upper limit
    factor     numeric(5, 4) NOT NULL CHECK (factor > 0 AND factor <= 1),
    PRIMARY KEY (table_id, from_m)
);

-- Where a parcel stands for pricing: its segment and position.
CREATE TABLE price.parcel_position (
    parcel_id   bigint NOT NULL REFERENCES cad.parcel,
    table_id    bigint NOT NULL REFERENCES price.price_table,
    segment_id  bigint REFERENCES price.road_segment,
    zone_id     bigint REFERENCES price.zone,
    position    text CHECK (position ~ '^VT[1-5]$'),
    coefficient numeric(6, 3) NOT NULL DEFAULT 1 CHECK (coefficient > 0),  -- hệ số điều chỉnh
    PRIMARY KEY (parcel_id, table_id),
    CHECK ((segment_id IS NOT NULL AND position IS NOT NULL) OR zone_id IS NOT NULL)
);

------------------------------------------------------------------------------------------
-- Land-use planning (quy hoạch, kế hoạch sử dụng đất)
------------------------------------------------------------------------------------------
CREATE TABLE plan.land_use_plan (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('quy_hoach', 'ke_hoach')),
    level        text NOT NULL CHECK (level IN ('province', 'commune')),
    name         text NOT NULL,
    period_from  integer NOT NULL,
    period_to    integer NOT NULL,
    decision     text NOT NULL,
    approved_on  date NOT NULL,
    CHECK (period_to >= period_from)
);

CREATE TABLE plan.zone (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id       bigint NOT NULL REFERENCES plan.land_use_plan,
    planned_code  text NOT NULL REFERENCES ref.land_use_code,
    commune_id    bigint REFERENCES ref.admin_unit,
    name          text,
    geom          geometry(MultiPolygon, @SRID@) NOT NULL
                  CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX plan_zone_geom_idx ON plan.zone USING gist (geom);

------------------------------------------------------------------------------------------
-- Statistics and inventory (thống kê, kiểm kê)
------------------------------------------------------------------------------------------
CREATE TABLE inv.period (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('thong_ke', 'kiem_ke')),
    year            integer NOT NULL,
    reference_date  date NOT NULL,
    decision        text,
    UNIQUE (kind, year)
);

-- Area per administrative unit and land-use code at the period's reference date.
CREATE TABLE inv.result (
    period_id      bigint NOT NULL REFERENCES inv.period,
    unit_id        bigint NOT NULL REFERENCES ref.admin_unit,
    land_use_code  text NOT NULL REFERENCES ref.land_use_code,
    area_ha        numeric(14, 4) NOT NULL CHECK (area_ha >= 0),
    PRIMARY KEY (period_id, unit_id, land_use_code)
);

------------------------------------------------------------------------------------------
-- Scanned documents (metadata; the bytes come with the dossier subsystem)
------------------------------------------------------------------------------------------
CREATE TABLE doc.document (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_type        text NOT NULL CHECK (doc_type IN (
                        'giay_chung_nhan', 'don_dang_ky', 'hop_dong', 'ban_ve',
                        'quyet_dinh', 'trich_luc', 'khac')),
    number          text,
    issued_on       date,
    issuer          text,
    page_count      integer CHECK (page_count > 0),
    classification  text NOT NULL DEFAULT 'noi_bo'
                    CHECK (classification IN ('cong_khai', 'noi_bo', 'han_che')),
    sha256          text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    byte_size       bigint CHECK (byte_size >= 0),
    media_type      text,
    original_name   text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE doc.document_link (
    document_id     bigint NOT NULL REFERENCES doc.document,
    parcel_id       bigint REFERENCES cad.parcel,
    certificate_id  bigint REFERENCES cad.certificate,
    party_id        bigint REFERENCES cad.party,
    mutation_id     bigint REFERENCES cad.mutation,
    -- A link names exactly one record.
    CHECK (num_nonnulls(parcel_id, certificate_id, party_id, mutation_id) = 1)
);
CREATE UNIQUE INDEX document_link_uq ON doc.document_link
    (document_id, coalesce(parcel_id, 0), coalesce(certificate_id, 0),
     coalesce(party_id, 0), coalesce(mutation_id, 0));
CREATE INDEX document_link_parcel_idx ON doc.document_link (parcel_id);

------------------------------------------------------------------------------------------
-- Functions every client shares (one implementation, in the database)
------------------------------------------------------------------------------------------
-- Mã thửa đất quốc gia (TT 19/2026 [T]): 12-character GeoHash, in WGS 84, of the pole of
-- inaccessibility (polylabel) of the parcel — a point always inside it, even for L shapes.
CREATE FUNCTION cad.national_parcel_id(g geometry) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN ST_GeoHash(ST_Transform((ST_MaximumInscribedCircle(g)).center, 4326), 12);

-- Allowed difference between computed and legal area for a parcel drawn at 1:scale,
-- by the formula held in sys.setting 'area_tolerance' (coefficient · scale · √area).
CREATE FUNCTION cad.area_tolerance(area numeric, scale integer) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE STRICT
RETURN (SELECT (value ->> 'coefficient')::numeric * scale * sqrt(area)
        FROM sys.setting WHERE key = 'area_tolerance');
