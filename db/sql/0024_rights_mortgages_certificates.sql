-- Revision 0024: transfers of rights, mortgages and certificates as change-set items
-- (issue 5 gap).
--
-- Change sets of kind chuyen_quyen / the_chap / xoa_the_chap were labels only: their items
-- could split, merge, reshape, create parcels or change attributes, nothing else. Four new
-- item ops make the records themselves editable through the same draft → validate → submit
-- → approve cycle (same rights, same four-eyes rule, same concurrency rule):
--   rights            new holders of one official parcel (existing parties or new persons /
--                     households / organisations), one right kind, shares summing to 1;
--                     approval closes the current rights of that kind (valid_to) and opens
--                     the new ones (valid_from = approval date).
--   mortgage          a mortgage (thế chấp) registered on one parcel: cad.mortgage (new).
--   mortgage_release  release (xóa thế chấp) of a mortgage in force on that parcel.
--   certificate       a certificate (giấy chứng nhận) for one or more parcels of the same
--                     holders; the rights in force after the set point to it and the
--                     certificates it replaces on those parcels become 'cap_doi'.
-- Approving a split or merge now also revokes ('thu_hoi') the parents' certificates in force.
--
-- Record items take part in the version rule like geometry items: each records the version
-- of its parcels, the approval bumps them (hist.parcel names the change set), and a draft /
-- submit / approval on a stale version fails with 40001 naming who changed what.
-- Problems come from sys.cs_problems (replaced below with one more RETURN QUERY that calls
-- sys.cs_record_problems); form errors raise 22023 like sys.cs_clean_attrs.

------------------------------------------------------------------------------------------
-- 1. Item ops
------------------------------------------------------------------------------------------
ALTER TABLE cad.change_item DROP CONSTRAINT IF EXISTS change_item_op_check;
ALTER TABLE cad.change_item ADD CONSTRAINT change_item_op_check CHECK (op IN (
    'split', 'merge', 'reshape', 'new', 'attributes',
    'rights', 'mortgage', 'mortgage_release', 'certificate'));
-- The checks across open change sets (a serial, a contract, a release drafted twice) look
-- items up by these keys; without the indexes each check would read every item ever drafted.
CREATE INDEX change_item_serial_idx ON cad.change_item ((attributes ->> 'serial'))
    WHERE op = 'certificate';
CREATE INDEX change_item_mortgage_parcel_idx ON cad.change_item ((parcel_ids[1]))
    WHERE op = 'mortgage';
CREATE INDEX change_item_release_idx ON cad.change_item (((attributes ->> 'mortgage_id')::bigint))
    WHERE op = 'mortgage_release';

------------------------------------------------------------------------------------------
-- 2. Mortgages (thế chấp quyền sử dụng đất)
------------------------------------------------------------------------------------------
-- Several mortgages may bind one parcel at once (the law allows it); one contract number is
-- registered once per parcel. A mortgage is never deleted: a release sets released_on and
-- the change set that released it.
CREATE TABLE cad.mortgage (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parcel_id            bigint NOT NULL REFERENCES cad.parcel,
    lender               text NOT NULL CHECK (lender = normalize(lender, NFC) AND lender <> ''),
    contract_number      text NOT NULL CHECK (contract_number <> ''),
    registered_on        date NOT NULL,
    secured_amount       numeric(18, 0) CHECK (secured_amount > 0),   -- VND, optional
    released_on          date CHECK (released_on >= registered_on),
    registered_mutation  bigint NOT NULL REFERENCES cad.mutation,
    released_mutation    bigint REFERENCES cad.mutation,
    version_from         timestamptz NOT NULL DEFAULT now(),
    CHECK ((released_on IS NULL) = (released_mutation IS NULL))
);
CREATE UNIQUE INDEX mortgage_contract_uq ON cad.mortgage (parcel_id, upper(contract_number));
CREATE INDEX mortgage_in_force_idx ON cad.mortgage (parcel_id) WHERE released_on IS NULL;
COMMENT ON TABLE cad.mortgage IS 'thế chấp: registered and released through change sets';

-- Visible with its parcel, like the parcel's other records (0006).
ALTER TABLE cad.mortgage ENABLE ROW LEVEL SECURITY;
CREATE POLICY area ON cad.mortgage FOR SELECT USING (
    (SELECT sys.sees_whole_province())
    OR EXISTS (SELECT 1 FROM sys.area_parcel a WHERE a.parcel_id = mortgage.parcel_id));
REVOKE ALL ON cad.mortgage FROM PUBLIC;
GRANT SELECT ON cad.mortgage TO lr_cadastral_viewer;
SELECT audit.attach('cad.mortgage'::regclass);

-- Versions, like parcels, rights and certificates (0005).
CREATE TABLE hist.mortgage (LIKE cad.mortgage);
ALTER TABLE hist.mortgage
    ADD COLUMN version_period tstzrange NOT NULL
        CHECK (NOT isempty(version_period) AND NOT upper_inf(version_period)),
    ADD COLUMN closed_by_op text NOT NULL CHECK (closed_by_op IN ('UPDATE', 'DELETE')),
    ADD COLUMN closed_by name NOT NULL,
    ADD COLUMN change_set bigint,
    ADD COLUMN hist_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
CREATE INDEX ON hist.mortgage (id, lower(version_period));
ALTER TABLE hist.mortgage ENABLE ROW LEVEL SECURITY;
CREATE POLICY area ON hist.mortgage FOR SELECT
    USING ((SELECT sys.sees_whole_province()) OR EXISTS (
        SELECT 1 FROM cad.parcel p WHERE p.id = parcel_id
          AND p.commune_id = ANY ((SELECT sys.my_units())::bigint[])));
REVOKE ALL ON hist.mortgage FROM PUBLIC;
GRANT SELECT ON hist.mortgage TO lr_cadastral_viewer;

-- hist.install of 0005, now also for cad.mortgage.
CREATE OR REPLACE FUNCTION hist.install(p_table text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_cols text;
    v_vals text;
BEGIN
    IF p_table NOT IN ('parcel', 'land_use', 'land_right', 'certificate', 'mortgage') THEN
        RAISE EXCEPTION 'Bảng không có lịch sử: %', p_table USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('OLD.%I', a.attname), ', ' ORDER BY a.attnum)
    INTO v_cols, v_vals
    FROM pg_attribute a
    WHERE a.attrelid = format('cad.%I', p_table)::regclass AND a.attnum > 0
      AND NOT a.attisdropped
      AND EXISTS (SELECT 1 FROM pg_attribute h
                  WHERE h.attrelid = format('hist.%I', p_table)::regclass
                    AND h.attname = a.attname AND NOT h.attisdropped);
    -- The version ends now() (transaction start), the same instant for every row the
    -- transaction touches. Two changes in one transaction leave one version: the state
    -- between them was never visible to anyone. If a transaction that started later has
    -- already changed the row, its version began after our now(), so ours ends at the
    -- clock instead, keeping periods in order.
    EXECUTE format($body$
        CREATE OR REPLACE FUNCTION hist.%1$I() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $trg$
        DECLARE
            v_end timestamptz;
            v_cs text;
        BEGIN
            IF TG_OP = 'INSERT' THEN
                NEW.version_from := now();
                RETURN NEW;
            END IF;
            v_end := CASE WHEN OLD.version_from <= now() THEN now() ELSE clock_timestamp() END;
            IF v_end > OLD.version_from THEN
                v_cs := current_setting('landrec.change_set', true);
                INSERT INTO hist.%1$I (%2$s, version_period, closed_by_op, closed_by, change_set)
                VALUES (%3$s, tstzrange(OLD.version_from, v_end, '[)'), TG_OP, session_user,
                        CASE WHEN v_cs ~ '^[0-9]{1,18}$' THEN v_cs::bigint END);
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            NEW.version_from := v_end;
            RETURN NEW;
        END
        $trg$
        $body$, p_table, v_cols, v_vals);
    EXECUTE format('REVOKE ALL ON FUNCTION hist.%I() FROM PUBLIC', p_table);
    -- zz_: after other BEFORE triggers, so the copy is the row as it was stored.
    EXECUTE format('CREATE OR REPLACE TRIGGER zz_hist BEFORE INSERT OR UPDATE OR DELETE '
                   'ON cad.%1$I FOR EACH ROW EXECUTE FUNCTION hist.%1$I()', p_table);
END
$fn$;
SELECT hist.install('mortgage');

------------------------------------------------------------------------------------------
-- 3. Cleaning the clerk's input (form errors raise 22023 with a Vietnamese message)
------------------------------------------------------------------------------------------
-- A new holder (person, household, couple, organisation, community) described in a
-- transfer: the checks of api.create_party, prefixed with which holder it is. A holder
-- whose identity document is already known becomes that party (no duplicate person).
CREATE FUNCTION sys.cs_clean_party(p jsonb, p_what text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_key text;
    v_kind text;
    v_name text;
    v_gender text;
    v_year integer;
    v_id_kind text;
    v_id text;
    v_address text;
    v_known bigint;
    v_msg text;
BEGIN
    IF jsonb_typeof(p) <> 'object' THEN
        RAISE EXCEPTION '%: thông tin người nhận phải là một đối tượng JSON', p_what
            USING ERRCODE = '22023';
    END IF;
    FOR v_key IN SELECT k FROM jsonb_object_keys(p) k LOOP
        IF v_key NOT IN ('kind', 'full_name', 'gender', 'birth_year', 'id_kind', 'id_number',
                         'address') THEN
            RAISE EXCEPTION '%: thông tin «%» không được biết', p_what, left(v_key, 40)
                USING ERRCODE = '22023',
                      HINT = 'Party: kind, full_name, gender, birth_year, id_kind, id_number, address.';
        END IF;
    END LOOP;
    v_kind := p ->> 'kind';
    IF v_kind IS NULL OR v_kind NOT IN ('ca_nhan', 'ho_gia_dinh', 'vo_chong', 'to_chuc', 'cong_dong') THEN
        RAISE EXCEPTION '%: loại chủ thể «%» không hợp lệ (cá nhân, hộ gia đình, vợ chồng, tổ chức, cộng đồng)',
            p_what, left(coalesce(v_kind, ''), 40) USING ERRCODE = '22023';
    END IF;
    IF p ? 'birth_year' AND p -> 'birth_year' <> 'null' AND jsonb_typeof(p -> 'birth_year') <> 'number' THEN
        RAISE EXCEPTION '%: năm sinh phải là một số', p_what USING ERRCODE = '22023';
    END IF;
    BEGIN
        v_name := sys.api_clean_name(p ->> 'full_name', 'Họ tên', v_kind = 'ca_nhan');
        v_gender := p ->> 'gender';
        v_year := (p ->> 'birth_year')::numeric::integer;
        IF v_kind <> 'ca_nhan' AND (v_gender IS NOT NULL OR v_year IS NOT NULL) THEN
            RAISE EXCEPTION 'giới tính và năm sinh chỉ ghi cho cá nhân' USING ERRCODE = '22023';
        END IF;
        IF v_gender IS NOT NULL AND v_gender NOT IN ('nam', 'nu') THEN
            RAISE EXCEPTION 'giới tính phải là nam hoặc nu' USING ERRCODE = '22023';
        END IF;
        IF v_year IS NOT NULL
           AND NOT v_year BETWEEN 1880 AND extract(year FROM current_date)::integer THEN
            RAISE EXCEPTION 'năm sinh % không hợp lệ', v_year USING ERRCODE = '22023';
        END IF;
        v_id_kind := p ->> 'id_kind';
        v_id := sys.api_check_identity(v_kind, v_id_kind, p ->> 'id_number');
        v_address := sys.api_clean_address(p ->> 'address');
    EXCEPTION WHEN SQLSTATE '22023' OR SQLSTATE '22003' OR SQLSTATE '22P02' THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT;
        RAISE EXCEPTION '%: %', p_what, v_msg USING ERRCODE = '22023';
    END;
    IF v_id IS NOT NULL THEN
        SELECT pa.id INTO v_known FROM cad.party pa
        WHERE pa.id_kind = v_id_kind AND pa.id_number = v_id;
        IF FOUND THEN
            RETURN jsonb_build_object('party_id', v_known, 'reused_identity', true);
        END IF;
    END IF;
    RETURN jsonb_build_object('party', jsonb_strip_nulls(jsonb_build_object(
        'kind', v_kind, 'full_name', v_name, 'gender', v_gender, 'birth_year', v_year,
        'id_kind', CASE WHEN v_id IS NOT NULL THEN v_id_kind END, 'id_number', v_id,
        'address', v_address)));
END
$fn$;

-- The holders of a transfer: [{party_id | party, share}], 1 to 50 of them. Whether the
-- parties exist and the shares add up to 1 is validation (sys.cs_record_problems).
CREATE FUNCTION sys.cs_clean_holders(p_holders jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    h jsonb;
    v_o integer := 0;
    v_share numeric;
    v_what text;
    v_out jsonb := '[]';
BEGIN
    IF p_holders IS NULL OR jsonb_typeof(p_holders) <> 'array'
       OR jsonb_array_length(p_holders) NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'Chuyển quyền cần từ 1 đến 50 người nhận quyền' USING ERRCODE = '22023';
    END IF;
    FOR h IN SELECT x FROM jsonb_array_elements(p_holders) x LOOP
        v_o := v_o + 1;
        v_what := format('Người nhận quyền thứ %s', v_o);
        IF jsonb_typeof(h) <> 'object' OR (h ? 'party_id') = (h ? 'party') THEN
            RAISE EXCEPTION '%: cần mã chủ thể đã có (party_id) hoặc thông tin người mới (party), một trong hai',
                v_what USING ERRCODE = '22023';
        END IF;
        IF jsonb_typeof(h -> 'share') IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION '%: thiếu phần quyền (một số từ 0 đến 1)', v_what USING ERRCODE = '22023';
        END IF;
        v_share := (h -> 'share')::numeric;
        IF NOT (v_share > 0 AND v_share <= 1) OR round(v_share, 6) <> v_share THEN
            RAISE EXCEPTION '%: phần quyền % phải lớn hơn 0, không quá 1, tối đa 6 chữ số thập phân',
                v_what, replace(left(v_share::text, 30), '.', ',') USING ERRCODE = '22023';
        END IF;
        IF h ? 'party_id' THEN
            IF jsonb_typeof(h -> 'party_id') <> 'number'
               OR (h -> 'party_id')::numeric <> trunc((h -> 'party_id')::numeric)
               OR (h -> 'party_id')::numeric NOT BETWEEN 1 AND 9e18 THEN
                RAISE EXCEPTION '%: mã chủ thể phải là một số nguyên dương', v_what
                    USING ERRCODE = '22023';
            END IF;
            v_out := v_out || jsonb_build_object('party_id', (h -> 'party_id')::numeric::bigint,
                                                 'share', v_share);
        ELSE
            v_out := v_out || (sys.cs_clean_party(h -> 'party', v_what)
                               || jsonb_build_object('share', v_share));
        END IF;
    END LOOP;
    RETURN v_out;
END
$fn$;

-- The key naming a holder when holders are compared (certificates of several parcels):
-- the party id, or for a person still to be created their document, else their name.
CREATE FUNCTION sys.cs_holder_key(h jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN coalesce(h ->> 'party_id',
                'moi:' || coalesce((h -> 'party' ->> 'id_kind') || ':' || (h -> 'party' ->> 'id_number'),
                                   (h -> 'party' ->> 'kind') || ':' || (h -> 'party' ->> 'full_name')));

-- Holders of a parcel once the change set is applied: its transfer's holders replace the
-- current rights of the transferred kind; the other rights in force stay.
CREATE FUNCTION sys.cs_holders_after(p_mutation_id bigint, p_parcel_id bigint) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (
    SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}') FROM (
        SELECT sys.cs_holder_key(h) AS k
        FROM cad.change_item i CROSS JOIN LATERAL jsonb_array_elements(i.attributes -> 'holders') h
        WHERE i.mutation_id = p_mutation_id AND i.op = 'rights' AND i.parcel_ids[1] = p_parcel_id
        UNION ALL
        SELECT r.party_id::text FROM cad.land_right r
        WHERE r.parcel_id = p_parcel_id AND r.valid_to IS NULL
          AND r.kind NOT IN (SELECT i.attributes ->> 'right_kind' FROM cad.change_item i
                             WHERE i.mutation_id = p_mutation_id AND i.op = 'rights'
                               AND i.parcel_ids[1] = p_parcel_id)) x);

-- An official parcel a record item touches: like sys.cs_draft_parcel (exists, current, in
-- the area, at the clerk's version — 40001 otherwise) but it may share the parcel with the
-- set's other record items (a transfer and the new certificate; a transfer and a mortgage),
-- never with a split, merge or reshape of it, and holds one transfer / one certificate.
CREATE FUNCTION sys.cs_record_parcel(p_mutation_id bigint, p_parcel_id bigint,
                                     p_base_version integer, p_op text) RETURNS cad.parcel
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
               WHERE i.mutation_id = p_mutation_id AND i.parcel_ids @> ARRAY[p_parcel_id]
                 AND i.op IN ('split', 'merge', 'reshape')) THEN
        RAISE EXCEPTION '% đang được tách, hợp hoặc sửa ranh giới trong biến động này; hãy ghi thay đổi về quyền, thế chấp, giấy chứng nhận ở một biến động riêng',
            sys.api_parcel_label(p_parcel_id) USING ERRCODE = '22023';
    END IF;
    IF p_op IN ('rights', 'certificate') AND EXISTS (
           SELECT 1 FROM cad.change_item i
           WHERE i.mutation_id = p_mutation_id AND i.parcel_ids @> ARRAY[p_parcel_id]
             AND i.op = p_op) THEN
        RAISE EXCEPTION '% đã có một % trong biến động này; hãy xóa thay đổi đó trước',
            sys.api_parcel_label(p_parcel_id),
            CASE p_op WHEN 'rights' THEN 'thay đổi chuyển quyền' ELSE 'giấy chứng nhận mới' END
            USING ERRCODE = '22023';
    END IF;
    RETURN v;
END
$fn$;

-- A date the clerk gives: not in the future, not absurdly old.
CREATE FUNCTION sys.cs_clean_date(p_value date, p_what text) RETURNS date
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_value IS NULL THEN
        RAISE EXCEPTION 'Thiếu %', p_what USING ERRCODE = '22023';
    END IF;
    IF p_value > current_date THEN
        RAISE EXCEPTION '% % ở tương lai (hôm nay là %)', p_what, to_char(p_value, 'DD/MM/YYYY'),
            to_char(current_date, 'DD/MM/YYYY') USING ERRCODE = '22023';
    END IF;
    IF p_value < date '1980-01-01' THEN
        RAISE EXCEPTION '% % không hợp lệ (trước năm 1980)', p_what, to_char(p_value, 'DD/MM/YYYY')
            USING ERRCODE = '22023';
    END IF;
    RETURN p_value;
END
$fn$;

-- Store a record item, validate it in its set, keep it only without problems.
CREATE FUNCTION sys.cs_record_item(p_mutation_id bigint, p_op text, p_parcel_ids bigint[],
                                   p_base_versions integer[], p_attributes jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_item bigint;
    v_detail text;
BEGIN
    INSERT INTO cad.change_item (mutation_id, op, parcel_ids, base_versions, attributes)
    VALUES (p_mutation_id, p_op, p_parcel_ids, p_base_versions, p_attributes)
    RETURNING id INTO v_item;
    RETURN sys.cs_keep_or_undo(p_mutation_id, v_item);
EXCEPTION WHEN SQLSTATE 'LRCS0' THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN jsonb_build_object('item_id', NULL, 'problems', v_detail::jsonb);
END
$fn$;

------------------------------------------------------------------------------------------
-- 4. Drafting the record items (editors, author only, status nhap)
------------------------------------------------------------------------------------------
-- Transfer of rights: the new holders of one parcel for one right kind.
CREATE FUNCTION api.cs_draft_rights(p_mutation_id bigint, p_parcel_id bigint,
                                    p_base_version integer, p_holders jsonb,
                                    p_right_kind text DEFAULT 'su_dung') RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_holders jsonb;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    IF p_right_kind IS NULL OR p_right_kind NOT IN ('su_dung', 'quan_ly', 'so_huu_tai_san') THEN
        RAISE EXCEPTION 'Loại quyền «%» không hợp lệ (su_dung, quan_ly, so_huu_tai_san)',
            left(coalesce(p_right_kind, ''), 40) USING ERRCODE = '22023';
    END IF;
    v_holders := sys.cs_clean_holders(p_holders);
    PERFORM sys.cs_record_parcel(p_mutation_id, p_parcel_id, p_base_version, 'rights');
    RETURN sys.cs_record_item(p_mutation_id, 'rights', ARRAY[p_parcel_id], ARRAY[p_base_version],
        jsonb_build_object('right_kind', p_right_kind, 'holders', v_holders));
END
$fn$;

-- Registration of a mortgage on one parcel.
CREATE FUNCTION api.cs_draft_mortgage(p_mutation_id bigint, p_parcel_id bigint,
                                      p_base_version integer, p_lender text,
                                      p_contract_number text, p_registered_on date,
                                      p_secured_amount numeric DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_lender text;
    v_contract text;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    v_lender := sys.api_clean_name(p_lender, 'Bên nhận thế chấp', false);
    v_contract := sys.api_clean_text(p_contract_number, 'Số hợp đồng thế chấp', 60, true);
    PERFORM sys.cs_clean_date(p_registered_on, 'Ngày đăng ký thế chấp');
    IF p_secured_amount IS NOT NULL AND (NOT p_secured_amount > 0 OR p_secured_amount >= 1e18
                                         OR p_secured_amount <> trunc(p_secured_amount)) THEN
        RAISE EXCEPTION 'Số tiền bảo đảm phải là số đồng dương, không có phần lẻ' USING ERRCODE = '22023';
    END IF;
    PERFORM sys.cs_record_parcel(p_mutation_id, p_parcel_id, p_base_version, 'mortgage');
    RETURN sys.cs_record_item(p_mutation_id, 'mortgage', ARRAY[p_parcel_id], ARRAY[p_base_version],
        jsonb_strip_nulls(jsonb_build_object(
            'lender', v_lender, 'contract_number', v_contract, 'registered_on', p_registered_on,
            'secured_amount', p_secured_amount)));
END
$fn$;

-- Release of a mortgage in force on the parcel (default date: today).
CREATE FUNCTION api.cs_draft_mortgage_release(p_mutation_id bigint, p_parcel_id bigint,
                                              p_base_version integer, p_mortgage_id bigint,
                                              p_released_on date DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_on date;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    IF p_mortgage_id IS NULL THEN
        RAISE EXCEPTION 'Thiếu mã thế chấp cần xóa' USING ERRCODE = '22023';
    END IF;
    v_on := sys.cs_clean_date(coalesce(p_released_on, current_date), 'Ngày xóa thế chấp');
    PERFORM sys.cs_record_parcel(p_mutation_id, p_parcel_id, p_base_version, 'mortgage_release');
    RETURN sys.cs_record_item(p_mutation_id, 'mortgage_release', ARRAY[p_parcel_id],
        ARRAY[p_base_version],
        jsonb_build_object('mortgage_id', p_mortgage_id, 'released_on', v_on));
END
$fn$;

-- A certificate for parcels of the same holders (after the set's transfers).
CREATE FUNCTION api.cs_draft_certificate(p_mutation_id bigint, p_parcel_ids bigint[],
                                         p_base_versions integer[], p_serial text,
                                         p_register_number text, p_issued_on date,
                                         p_issuer text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_serial text;
    v_register text;
    v_issuer text;
    v_i integer;
BEGIN
    PERFORM sys.cs_enter_draft(p_mutation_id);
    v_serial := upper(sys.api_clean_text(p_serial, 'Số phát hành', 20, true));
    IF v_serial !~ '^[A-Z]{2} [0-9]{6,8}$' THEN
        RAISE EXCEPTION 'Số phát hành «%» không đúng dạng (2 chữ cái, dấu cách, 6–8 chữ số, vd. AB 123456)',
            v_serial USING ERRCODE = '22023';
    END IF;
    v_register := upper(sys.api_clean_text(p_register_number, 'Số vào sổ cấp giấy chứng nhận', 30, true));
    IF v_register !~ '^[A-Z0-9][A-Z0-9 ./-]*$' THEN
        RAISE EXCEPTION 'Số vào sổ «%» chỉ gồm chữ, số, dấu cách và . / -', v_register
            USING ERRCODE = '22023';
    END IF;
    v_issuer := sys.api_clean_name(p_issuer, 'Cơ quan cấp', false);
    PERFORM sys.cs_clean_date(p_issued_on, 'Ngày cấp giấy chứng nhận');
    IF p_parcel_ids IS NULL OR cardinality(p_parcel_ids) NOT BETWEEN 1 AND 100
       OR p_base_versions IS NULL OR cardinality(p_base_versions) <> cardinality(p_parcel_ids)
       OR array_position(p_parcel_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'Giấy chứng nhận phải ghi từ 1 đến 100 thửa đất, mỗi thửa kèm phiên bản'
            USING ERRCODE = '22023';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(p_parcel_ids) x) <> cardinality(p_parcel_ids) THEN
        RAISE EXCEPTION 'Danh sách thửa đất của giấy chứng nhận có mã trùng' USING ERRCODE = '22023';
    END IF;
    FOR v_i IN 1 .. cardinality(p_parcel_ids) LOOP
        PERFORM sys.cs_record_parcel(p_mutation_id, p_parcel_ids[v_i], p_base_versions[v_i],
                                     'certificate');
    END LOOP;
    RETURN sys.cs_record_item(p_mutation_id, 'certificate', p_parcel_ids, p_base_versions,
        jsonb_build_object('serial', v_serial, 'register_number', v_register,
                           'issued_on', p_issued_on, 'issuer', v_issuer));
END
$fn$;

-- Removing an item: a parcel leaves the change set only when no other item names it
-- (record items may share a parcel).
CREATE OR REPLACE FUNCTION api.cs_remove_item(p_mutation_id bigint, p_item_id bigint) RETURNS void
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
    WHERE mp.mutation_id = p_mutation_id AND mp.parcel_id = ANY (v_parcels)
      AND NOT EXISTS (SELECT 1 FROM cad.change_item i
                      WHERE i.mutation_id = p_mutation_id AND i.parcel_ids @> ARRAY[mp.parcel_id]);
END
$fn$;

------------------------------------------------------------------------------------------
-- 5. Validation of the record items (called by sys.cs_problems)
------------------------------------------------------------------------------------------
-- Conflicts between open change sets (a serial, a contract, a release) are reported on the
-- later item only: the first draft stays valid and nobody can block an approval by
-- drafting the same serial afterwards.
CREATE FUNCTION sys.cs_record_problems(p_mutation_id bigint, p_item bigint DEFAULT NULL)
RETURNS TABLE (code text, message text, parcel_id bigint, item_id bigint, location geometry)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    -- Transfers: parties exist, each named once, shares add up to 1.
    RETURN QUERY
    WITH it AS (
        SELECT i.id, i.parcel_ids[1] AS pid, i.attributes AS a FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op = 'rights'
    ), h AS (
        SELECT it.id, it.pid, x.h, x.o FROM it
        CROSS JOIN LATERAL jsonb_array_elements(it.a -> 'holders') WITH ORDINALITY AS x(h, o)
    )
    SELECT 'RIGHTS_PARTY',
           format('%s: người nhận quyền thứ %s — không có chủ thể mã %s',
                  sys.api_parcel_label(h.pid), h.o, h.h ->> 'party_id'),
           h.pid, h.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = h.pid)
    FROM h
    WHERE h.h ? 'party_id'
      AND NOT EXISTS (SELECT 1 FROM cad.party pa WHERE pa.id = (h.h ->> 'party_id')::bigint)
    UNION ALL
    SELECT 'RIGHTS_DUPLICATE',
           format('%s: người nhận quyền thứ %s trùng với người thứ %s', sys.api_parcel_label(b.pid),
                  b.o, a.first),
           b.pid, b.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = b.pid)
    FROM h b CROSS JOIN LATERAL (
        SELECT min(a.o) AS first FROM h a
        WHERE a.id = b.id AND a.o < b.o AND sys.cs_holder_key(a.h) = sys.cs_holder_key(b.h)) a
    WHERE a.first IS NOT NULL
    UNION ALL
    SELECT 'RIGHTS_SHARES',
           format('%s: tổng phần quyền của những người nhận là %s, phải bằng 1 (ví dụ 0,5 + 0,5)',
                  sys.api_parcel_label(it.pid), replace(rtrim(rtrim(s.total::text, '0'), '.'), '.', ',')),
           it.pid, it.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = it.pid)
    FROM it CROSS JOIN LATERAL (
        SELECT sum((x ->> 'share')::numeric) AS total
        FROM jsonb_array_elements(it.a -> 'holders') x) s
    WHERE abs(s.total - 1) > 0.00001;

    -- Mortgages: one contract number once per parcel (official, or an earlier open item).
    RETURN QUERY
    WITH it AS (
        SELECT i.id, i.parcel_ids[1] AS pid, i.attributes AS a FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op = 'mortgage'
    )
    SELECT 'MORTGAGE_CONTRACT',
           format('%s: hợp đồng thế chấp số %s đã được đăng ký cho thửa đất này ngày %s (bên nhận thế chấp: %s)',
                  sys.api_parcel_label(it.pid), it.a ->> 'contract_number',
                  to_char(mo.registered_on, 'DD/MM/YYYY'), mo.lender),
           it.pid, it.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = it.pid)
    FROM it JOIN cad.mortgage mo ON mo.parcel_id = it.pid
     AND upper(mo.contract_number) = upper(it.a ->> 'contract_number')
    UNION ALL
    SELECT 'MORTGAGE_CONTRACT',
           format('%s: hợp đồng thế chấp số %s đã có trong biến động số %s (do %s lập, chưa duyệt)',
                  sys.api_parcel_label(it.pid), it.a ->> 'contract_number', m.id, m.created_by),
           it.pid, it.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = it.pid)
    FROM it JOIN cad.change_item o ON o.op = 'mortgage' AND o.id < it.id
     AND o.parcel_ids[1] = it.pid
     AND upper(o.attributes ->> 'contract_number') = upper(it.a ->> 'contract_number')
    JOIN cad.mutation m ON m.id = o.mutation_id AND m.status IN ('nhap', 'da_nop');

    -- Releases: a mortgage in force on that parcel, released once, not before it began.
    RETURN QUERY
    WITH it AS (
        SELECT i.id, i.parcel_ids[1] AS pid, i.attributes AS a,
               (i.attributes ->> 'mortgage_id')::bigint AS mid
        FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op = 'mortgage_release'
    )
    SELECT 'MORTGAGE_NOT_IN_FORCE',
           CASE WHEN mo.id IS NULL OR mo.parcel_id <> it.pid
                THEN format('%s: không có thế chấp mã %s trên thửa đất này',
                            sys.api_parcel_label(it.pid), it.mid)
                ELSE format('%s: thế chấp theo hợp đồng số %s đã được xóa ngày %s, không còn hiệu lực',
                            sys.api_parcel_label(it.pid), mo.contract_number,
                            to_char(mo.released_on, 'DD/MM/YYYY')) END,
           it.pid, it.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = it.pid)
    FROM it LEFT JOIN cad.mortgage mo ON mo.id = it.mid
    WHERE mo.id IS NULL OR mo.parcel_id <> it.pid OR mo.released_on IS NOT NULL
    UNION ALL
    SELECT 'MORTGAGE_RELEASE_DATE',
           format('%s: ngày xóa thế chấp %s trước ngày đăng ký %s', sys.api_parcel_label(it.pid),
                  to_char((it.a ->> 'released_on')::date, 'DD/MM/YYYY'),
                  to_char(mo.registered_on, 'DD/MM/YYYY')),
           it.pid, it.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = it.pid)
    FROM it JOIN cad.mortgage mo ON mo.id = it.mid AND mo.parcel_id = it.pid
    WHERE mo.released_on IS NULL AND (it.a ->> 'released_on')::date < mo.registered_on
    UNION ALL
    SELECT 'MORTGAGE_RELEASE_TWICE',
           format('%s: thế chấp mã %s đã được xóa trong biến động số %s (do %s lập, chưa duyệt)',
                  sys.api_parcel_label(it.pid), it.mid, m.id, m.created_by),
           it.pid, it.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = it.pid)
    FROM it JOIN cad.change_item o ON o.op = 'mortgage_release' AND o.id < it.id
     AND (o.attributes ->> 'mortgage_id')::bigint = it.mid
    JOIN cad.mutation m ON m.id = o.mutation_id AND m.status IN ('nhap', 'da_nop');

    -- Certificates: a serial used once (official, or an earlier open item); every parcel
    -- has holders after the set, the same ones.
    RETURN QUERY
    WITH it AS (
        SELECT i.id, i.parcel_ids AS pids, i.attributes AS a FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
          AND i.op = 'certificate'
    ), hp AS (
        SELECT it.id, x.pid, x.o, sys.cs_holders_after(p_mutation_id, x.pid) AS holders
        FROM it CROSS JOIN LATERAL unnest(it.pids) WITH ORDINALITY AS x(pid, o)
    )
    SELECT 'CERT_SERIAL',
           format('Số phát hành %s đã được dùng cho giấy chứng nhận cấp ngày %s (%s)',
                  it.a ->> 'serial', to_char(c.issued_on, 'DD/MM/YYYY'), c.issuer),
           it.pids[1], it.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = it.pids[1])
    FROM it JOIN cad.certificate c ON c.serial = it.a ->> 'serial'
    UNION ALL
    SELECT 'CERT_SERIAL',
           format('Số phát hành %s đã có trong biến động số %s (do %s lập, chưa duyệt)',
                  it.a ->> 'serial', m.id, m.created_by),
           it.pids[1], it.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = it.pids[1])
    FROM it JOIN cad.change_item o ON o.op = 'certificate' AND o.id < it.id
     AND o.attributes ->> 'serial' = it.a ->> 'serial'
    JOIN cad.mutation m ON m.id = o.mutation_id AND m.status IN ('nhap', 'da_nop')
    UNION ALL
    SELECT 'CERT_NO_HOLDER',
           format('%s chưa có người sử dụng, không cấp giấy chứng nhận được',
                  sys.api_parcel_label(hp.pid)),
           hp.pid, hp.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = hp.pid)
    FROM hp WHERE hp.holders = '{}'
    UNION ALL
    SELECT 'CERT_HOLDERS',
           format('Các thửa đất trên một giấy chứng nhận phải cùng người sử dụng: %s khác %s',
                  sys.api_parcel_label(hp.pid), sys.api_parcel_label(f.pid)),
           hp.pid, hp.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = hp.pid)
    FROM hp JOIN hp f ON f.id = hp.id AND f.o = 1
    WHERE hp.o > 1 AND hp.holders <> '{}' AND hp.holders <> f.holders;

    -- Land in dispute or seized to secure a judgment is not transferred or mortgaged
    -- (Luật Đất đai 2024, Điều 45: conditions for exercising the rights). A release stays
    -- possible (it removes a burden).
    RETURN QUERY
    SELECT 'RESTRICTED',
           format('%s đang %s (từ ngày %s: %s); không %s được',
                  sys.api_parcel_label(r.parcel_id),
                  CASE r.kind WHEN 'tranh_chap' THEN 'có tranh chấp' ELSE 'bị kê biên' END,
                  to_char(r.valid_from, 'DD/MM/YYYY'), left(r.description, 80),
                  CASE i.op WHEN 'rights' THEN 'chuyển quyền' ELSE 'thế chấp' END),
           r.parcel_id, i.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = r.parcel_id)
    FROM cad.change_item i JOIN cad.restriction r
      ON r.parcel_id = i.parcel_ids[1] AND r.valid_to IS NULL AND r.kind IN ('tranh_chap', 'ke_bien')
    WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
      AND i.op IN ('rights', 'mortgage');

    -- A parcel under mortgage is not split or merged here: its lender must agree and the
    -- mortgage be released (or re-registered on the new parcels) first.
    RETURN QUERY
    SELECT 'MORTGAGED',
           format('%s đang thế chấp (hợp đồng số %s, %s); hãy xóa thế chấp trước khi tách, hợp thửa',
                  sys.api_parcel_label(mo.parcel_id), mo.contract_number, mo.lender),
           mo.parcel_id, i.id, (SELECT ST_PointOnSurface(p.geom) FROM cad.parcel p WHERE p.id = mo.parcel_id)
    FROM cad.change_item i JOIN cad.mortgage mo
      ON mo.parcel_id = ANY (i.parcel_ids) AND mo.released_on IS NULL
    WHERE i.mutation_id = p_mutation_id AND (p_item IS NULL OR i.id = p_item)
      AND i.op IN ('split', 'merge');
END
$fn$;


------------------------------------------------------------------------------------------
-- 6. Applying the record items (inside api.approve_change_set, one transaction)
------------------------------------------------------------------------------------------
-- The party of a holder: the given one, the one already holding that identity document
-- (created meanwhile, e.g. by an earlier item of the same approval), or a new one.
CREATE FUNCTION sys.cs_holder_party(h jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    p jsonb := h -> 'party';
    v_id bigint;
BEGIN
    IF h ? 'party_id' THEN
        RETURN (h ->> 'party_id')::bigint;
    END IF;
    IF p ? 'id_number' THEN
        SELECT pa.id INTO v_id FROM cad.party pa
        WHERE pa.id_kind = p ->> 'id_kind' AND pa.id_number = p ->> 'id_number';
        IF FOUND THEN
            RETURN v_id;
        END IF;
    END IF;
    INSERT INTO cad.party (kind, full_name, gender, birth_year, id_kind, id_number, address)
    VALUES (p ->> 'kind', p ->> 'full_name', p ->> 'gender', (p ->> 'birth_year')::integer,
            p ->> 'id_kind', p ->> 'id_number', p ->> 'address')
    RETURNING id INTO v_id;
    RETURN v_id;
END
$fn$;

-- A transfer, a mortgage or a release. (Certificates: sys.cs_apply_certificate, after all.)
CREATE FUNCTION sys.cs_apply_record(p_mutation_id bigint, it cad.change_item) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    h jsonb;
    v_kind text := it.attributes ->> 'right_kind';
BEGIN
    IF it.op = 'rights' THEN
        UPDATE cad.land_right SET valid_to = greatest(current_date, valid_from)
        WHERE parcel_id = it.parcel_ids[1] AND kind = v_kind AND valid_to IS NULL;
        FOR h IN SELECT x FROM jsonb_array_elements(it.attributes -> 'holders') x LOOP
            INSERT INTO cad.land_right (parcel_id, party_id, kind, share, valid_from)
            VALUES (it.parcel_ids[1], sys.cs_holder_party(h), v_kind, (h ->> 'share')::numeric,
                    current_date);
        END LOOP;
    ELSIF it.op = 'mortgage' THEN
        INSERT INTO cad.mortgage (parcel_id, lender, contract_number, registered_on,
                                  secured_amount, registered_mutation)
        VALUES (it.parcel_ids[1], it.attributes ->> 'lender', it.attributes ->> 'contract_number',
                (it.attributes ->> 'registered_on')::date,
                (it.attributes ->> 'secured_amount')::numeric, p_mutation_id);
    ELSIF it.op = 'mortgage_release' THEN
        UPDATE cad.mortgage
        SET released_on = (it.attributes ->> 'released_on')::date, released_mutation = p_mutation_id
        WHERE id = (it.attributes ->> 'mortgage_id')::bigint AND parcel_id = it.parcel_ids[1]
          AND released_on IS NULL;
        IF NOT FOUND THEN  -- validation said otherwise a moment ago: refuse, change nothing
            RAISE EXCEPTION 'Thế chấp mã % không còn hiệu lực trên %', it.attributes ->> 'mortgage_id',
                sys.api_parcel_label(it.parcel_ids[1]) USING ERRCODE = '40001';
        END IF;
    END IF;
END
$fn$;

-- A new certificate: the rights in force on its parcels (after the set's transfers) point
-- to it; the certificates in force it replaces on them are 'cap_doi', replaced_by it.
CREATE FUNCTION sys.cs_apply_certificate(it cad.change_item) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_id bigint;
BEGIN
    BEGIN
        INSERT INTO cad.certificate (serial, register_number, issued_on, issuer)
        VALUES (it.attributes ->> 'serial', it.attributes ->> 'register_number',
                (it.attributes ->> 'issued_on')::date, it.attributes ->> 'issuer')
        RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN  -- issued meanwhile outside change sets
        RAISE EXCEPTION 'Số phát hành % đã được dùng cho giấy chứng nhận khác',
            it.attributes ->> 'serial' USING ERRCODE = '23505';
    END;
    UPDATE cad.certificate c SET status = 'cap_doi', replaced_by = v_id
    WHERE c.status = 'hieu_luc' AND c.id <> v_id
      AND c.id IN (SELECT cp.certificate_id FROM cad.certificate_parcel cp
                   WHERE cp.parcel_id = ANY (it.parcel_ids));
    INSERT INTO cad.certificate_parcel (certificate_id, parcel_id)
    SELECT v_id, x FROM unnest(it.parcel_ids) x;
    UPDATE cad.land_right SET certificate_id = v_id
    WHERE parcel_id = ANY (it.parcel_ids) AND valid_to IS NULL;
    RETURN v_id;
END
$fn$;

------------------------------------------------------------------------------------------
-- 7. Approval: api.approve_change_set of 0016, plus the record items, the parents'
--    certificates revoked and the record parcels' new version
------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION api.approve_change_set(p_mutation_id bigint, p_comment text DEFAULT NULL)
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
        ELSIF it.op IN ('rights', 'mortgage', 'mortgage_release') THEN
            PERFORM sys.cs_apply_record(p_mutation_id, it);
        END IF;
    END LOOP;
    -- Certificates last: they point to the rights in force after the set's transfers.
    FOR it IN SELECT * FROM cad.change_item
              WHERE mutation_id = p_mutation_id AND op = 'certificate' ORDER BY id LOOP
        PERFORM sys.cs_apply_certificate(it);
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

    -- Their restrictions end too: every child carries them on (sys.cs_create_parcel).
    UPDATE cad.restriction SET valid_to = greatest(current_date, valid_from)
    WHERE valid_to IS NULL AND parcel_id IN (
        SELECT unnest(i.parcel_ids) FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id AND i.op IN ('split', 'merge'));

    -- Their certificates in force are revoked: they certify a parcel that has ended (the
    -- children get new certificates through certificate items).
    UPDATE cad.certificate SET status = 'thu_hoi'
    WHERE status = 'hieu_luc' AND id IN (
        SELECT cp.certificate_id FROM cad.certificate_parcel cp
        WHERE cp.parcel_id IN (SELECT unnest(i.parcel_ids) FROM cad.change_item i
                               WHERE i.mutation_id = p_mutation_id AND i.op IN ('split', 'merge')));

    -- A record change is a new version of its parcels: the version rule (40001 for a draft
    -- begun before it) and hist.parcel (who, when, which change set) cover it too.
    UPDATE cad.parcel SET version = version + 1
    WHERE retired_at IS NULL AND id IN (
        SELECT unnest(i.parcel_ids) FROM cad.change_item i
        WHERE i.mutation_id = p_mutation_id
          AND i.op IN ('rights', 'mortgage', 'mortgage_release', 'certificate'));

    UPDATE cad.mutation
    SET status = 'da_duyet', decided_by = session_user, decided_at = now(),
        decision_comment = v_comment
    WHERE id = p_mutation_id;
    RETURN v_created;
END
$fn$;


------------------------------------------------------------------------------------------
-- 8. Reading: the record items for the review, holders as of a moment
------------------------------------------------------------------------------------------
-- Holders as a list for messages and the review: name, kind, share, masked document.
CREATE FUNCTION sys.cs_party_json(p_party_id bigint) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (SELECT jsonb_build_object('party_id', pa.id, 'full_name', pa.full_name,
                                  'party_kind', pa.kind, 'birth_year', pa.birth_year,
                                  'id_kind', pa.id_kind,
                                  'id_number_masked', sys.mask_id_number(pa.id_number))
        FROM cad.party pa WHERE pa.id = p_party_id);

-- Per record item of the set, what the approver must see: old holders → new holders with
-- shares, the mortgage (lender, contract) registered or released, the certificate (serial)
-- and those it replaces. {"<item id>": {...}}.
CREATE FUNCTION api.cs_records_review(p_mutation_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM sys.cs_require_visible(p_mutation_id);
    RETURN (
        SELECT coalesce(jsonb_object_agg(i.id::text, CASE i.op
            WHEN 'rights' THEN jsonb_build_object(
                'parcel_id', i.parcel_ids[1], 'right_kind', i.attributes ->> 'right_kind',
                'old_holders', (
                    SELECT coalesce(jsonb_agg(sys.cs_party_json(r.party_id)
                                              || jsonb_build_object('share', r.share,
                                                                    'valid_from', r.valid_from)
                                              ORDER BY r.share DESC, r.id), '[]')
                    FROM cad.land_right r
                    WHERE r.parcel_id = i.parcel_ids[1] AND r.valid_to IS NULL
                      AND r.kind = i.attributes ->> 'right_kind'),
                'new_holders', (
                    SELECT coalesce(jsonb_agg(
                        CASE WHEN h ? 'party_id'
                             THEN coalesce(sys.cs_party_json((h ->> 'party_id')::bigint),
                                           jsonb_build_object('party_id', (h ->> 'party_id')::bigint))
                                  || jsonb_build_object('new', false,
                                         'reused_identity', coalesce((h ->> 'reused_identity')::boolean, false))
                             ELSE jsonb_build_object(
                                  'party_id', NULL, 'new', true,
                                  'full_name', h -> 'party' ->> 'full_name',
                                  'party_kind', h -> 'party' ->> 'kind',
                                  'birth_year', (h -> 'party' ->> 'birth_year')::integer,
                                  'id_kind', h -> 'party' ->> 'id_kind',
                                  'id_number_masked', sys.mask_id_number(h -> 'party' ->> 'id_number'))
                        END || jsonb_build_object('share', (h ->> 'share')::numeric)
                        ORDER BY o), '[]')
                    FROM jsonb_array_elements(i.attributes -> 'holders') WITH ORDINALITY AS x(h, o)))
            WHEN 'mortgage' THEN jsonb_build_object('parcel_id', i.parcel_ids[1])
                || i.attributes
                || jsonb_build_object('in_force', (
                       SELECT coalesce(jsonb_agg(jsonb_build_object(
                                  'id', mo.id, 'lender', mo.lender,
                                  'contract_number', mo.contract_number,
                                  'registered_on', mo.registered_on) ORDER BY mo.registered_on, mo.id), '[]')
                       FROM cad.mortgage mo
                       WHERE mo.parcel_id = i.parcel_ids[1] AND mo.released_on IS NULL))
            WHEN 'mortgage_release' THEN jsonb_build_object(
                'parcel_id', i.parcel_ids[1], 'mortgage_id', (i.attributes ->> 'mortgage_id')::bigint,
                'released_on', i.attributes ->> 'released_on',
                'lender', mo.lender, 'contract_number', mo.contract_number,
                'registered_on', mo.registered_on, 'secured_amount', mo.secured_amount)
            WHEN 'certificate' THEN jsonb_build_object('parcel_ids', to_jsonb(i.parcel_ids))
                || i.attributes
                || jsonb_build_object('replaces', (
                       SELECT coalesce(jsonb_agg(jsonb_build_object(
                                  'id', c.id, 'serial', c.serial, 'issued_on', c.issued_on)
                                  ORDER BY c.id), '[]')
                       FROM cad.certificate c
                       WHERE c.status = 'hieu_luc' AND c.id IN (
                           SELECT cp.certificate_id FROM cad.certificate_parcel cp
                           WHERE cp.parcel_id = ANY (i.parcel_ids))))
            END), '{}')
        FROM cad.change_item i
        LEFT JOIN cad.mortgage mo ON i.op = 'mortgage_release'
             AND mo.id = (i.attributes ->> 'mortgage_id')::bigint
        WHERE i.mutation_id = p_mutation_id
          AND i.op IN ('rights', 'mortgage', 'mortgage_release', 'certificate'));
END
$fn$;

-- The rights of a parcel as the records held them at a moment (transaction time, from
-- hist.land_right): what the office knew then, e.g. the holder before a transfer.
CREATE FUNCTION api.parcel_rights_as_of(p_parcel_id bigint, p_at timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_commune bigint;
BEGIN
    PERFORM sys.api_require_right('cadastral', 'viewer');
    IF p_parcel_id IS NULL OR p_at IS NULL OR NOT isfinite(p_at) THEN
        RAISE EXCEPTION 'Cần mã thửa và một thời điểm xác định' USING ERRCODE = '22023';
    END IF;
    SELECT p.commune_id INTO v_commune FROM cad.parcel p WHERE p.id = p_parcel_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có thửa đất mã %', p_parcel_id USING ERRCODE = '22023';
    END IF;
    PERFORM sys.api_require_commune(v_commune, sys.api_parcel_label(p_parcel_id));
    RETURN (
        SELECT coalesce(jsonb_agg(sys.cs_party_json(r.party_id) || jsonb_build_object(
                   'right_id', r.id, 'kind', r.kind, 'share', r.share,
                   'valid_from', r.valid_from, 'valid_to', r.valid_to,
                   'certificate_id', r.certificate_id)
                   ORDER BY r.valid_to NULLS FIRST, r.kind, r.share DESC, r.id), '[]')
        FROM (SELECT h.id, h.party_id, h.kind, h.share, h.valid_from, h.valid_to, h.certificate_id
              FROM hist.land_right h
              WHERE h.parcel_id = p_parcel_id AND h.version_period @> p_at
              UNION ALL
              SELECT l.id, l.party_id, l.kind, l.share, l.valid_from, l.valid_to, l.certificate_id
              FROM cad.land_right l
              WHERE l.parcel_id = p_parcel_id AND l.version_from <= p_at) r);
END
$fn$;

-- api.parcel_details of 0009 with the parcel's mortgages added (all other keys as before).
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
            FROM cad.asset a WHERE a.parcel_id = p_parcel_id), '[]'),
        -- Mortgages (0024): those in force first, then the released ones, newest first.
        'mortgages', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', mo.id, 'lender', mo.lender, 'contract_number', mo.contract_number,
                'registered_on', mo.registered_on, 'secured_amount', mo.secured_amount,
                'released_on', mo.released_on, 'in_force', mo.released_on IS NULL,
                'registered_mutation', mo.registered_mutation,
                'released_mutation', mo.released_mutation)
                ORDER BY mo.released_on IS NOT NULL, mo.registered_on DESC, mo.id DESC)
            FROM cad.mortgage mo WHERE mo.parcel_id = p_parcel_id), '[]'));

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
-- 9. The one validator: sys.cs_problems of 0011, unchanged but for its last RETURN QUERY
------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION sys.cs_problems(p_mutation_id bigint, p_item bigint DEFAULT NULL)
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

    -- Transfers, mortgages, releases, certificates (0024).
    RETURN QUERY SELECT * FROM sys.cs_record_problems(p_mutation_id, p_item);
END
$fn$;

------------------------------------------------------------------------------------------
-- 9b. Personal ID numbers in a transfer's holders: masked for readers who may not read them
------------------------------------------------------------------------------------------
-- A new holder's document number is stored in clear in the draft (the approval creates the
-- person with it); viewers of the change set (e.g. commune officers) see it masked, like
-- in api.parcel_details. Editors and approvers read it (sys.may_read_personal_id).
CREATE FUNCTION sys.cs_item_attrs_for_reader(p_op text, p_attrs jsonb) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN CASE
    WHEN p_op <> 'rights' OR NOT p_attrs ? 'holders' OR sys.may_read_personal_id() THEN p_attrs
    ELSE jsonb_set(p_attrs, '{holders}', (
        SELECT coalesce(jsonb_agg(CASE WHEN h -> 'party' ? 'id_number'
                                       THEN jsonb_set(h, '{party,id_number}',
                                                      to_jsonb(sys.mask_id_number(h -> 'party' ->> 'id_number')))
                                       ELSE h END ORDER BY o), '[]')
        FROM jsonb_array_elements(p_attrs -> 'holders') WITH ORDINALITY AS x(h, o)))
    END;

-- sys.cs_json of 0021 (behind api.change_set, the draft replies, api.review_change_set and
-- api.change_sets), the items' attributes passed through the function above.
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
            'base_versions', to_jsonb(i.base_versions),
            'attributes', sys.cs_item_attrs_for_reader(i.op, i.attributes),
            'geoms', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'ord', g.ord, 'parcel_id', g.parcel_id, 'attributes', g.attributes,
                          'area', ST_Area(g.geom),
                          'wkb', encode(ST_AsBinary(g.geom), 'hex')) ORDER BY g.ord), '[]')
                      FROM cad.change_item_geom g WHERE g.item_id = i.id)) ORDER BY i.id), '[]')
        FROM cad.change_item i WHERE i.mutation_id = m.id) ELSE '[]'::jsonb END);

------------------------------------------------------------------------------------------
-- 10. Who may call what
------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION
    sys.cs_clean_party(jsonb, text), sys.cs_clean_holders(jsonb), sys.cs_holder_key(jsonb),
    sys.cs_holders_after(bigint, bigint), sys.cs_record_parcel(bigint, bigint, integer, text),
    sys.cs_clean_date(date, text),
    sys.cs_record_item(bigint, text, bigint[], integer[], jsonb),
    sys.cs_record_problems(bigint, bigint), sys.cs_holder_party(jsonb),
    sys.cs_apply_record(bigint, cad.change_item), sys.cs_apply_certificate(cad.change_item),
    sys.cs_party_json(bigint), sys.cs_item_attrs_for_reader(text, jsonb)
FROM PUBLIC;

-- The functions check the right, the author and the area themselves (Vietnamese 42501).
REVOKE ALL ON FUNCTION
    api.cs_draft_rights(bigint, bigint, integer, jsonb, text),
    api.cs_draft_mortgage(bigint, bigint, integer, text, text, date, numeric),
    api.cs_draft_mortgage_release(bigint, bigint, integer, bigint, date),
    api.cs_draft_certificate(bigint, bigint[], integer[], text, text, date, text),
    api.cs_records_review(bigint), api.parcel_rights_as_of(bigint, timestamptz)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    api.cs_draft_rights(bigint, bigint, integer, jsonb, text),
    api.cs_draft_mortgage(bigint, bigint, integer, text, text, date, numeric),
    api.cs_draft_mortgage_release(bigint, bigint, integer, bigint, date),
    api.cs_draft_certificate(bigint, bigint[], integer[], text, text, date, text),
    api.cs_records_review(bigint), api.parcel_rights_as_of(bigint, timestamptz)
TO lr_person;
