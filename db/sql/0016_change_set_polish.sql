-- Revision 0016: change-set polish (issue 5).
--
-- 1. One round trip per edit action: the draft functions' reply carries the change set as
--    it is after the draft (api.cs_draft_reply wraps any draft call), so the client no
--    longer reloads it with a second statement. Opening and removing an item likewise.
-- 2. A split's or merge's children carry the parents' restrictions in force
--    (cad.restriction: disputes, seizures, corridors); the parents' restrictions end on
--    approval. Each carried row names the restriction it continues and the change set.

------------------------------------------------------------------------------------------
-- 1. Replies with the change set
------------------------------------------------------------------------------------------
-- VOLATILE on purpose: its statement takes a fresh snapshot after the draft function in
-- its argument has run, so the change set it returns includes the new item (a STABLE
-- function in the same SELECT would still see the statement's starting snapshot).
-- SECURITY INVOKER: it only calls api.change_set, which checks who may read the set.
CREATE FUNCTION api.cs_draft_reply(p_mutation_id bigint, p_result jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN coalesce(p_result, '{}'::jsonb)
        || jsonb_build_object('change_set', api.change_set(p_mutation_id));
END
$fn$;

-- Remove a draft item and return the change set without it.
CREATE FUNCTION api.cs_remove_item_reply(p_mutation_id bigint, p_item_id bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM api.cs_remove_item(p_mutation_id, p_item_id);
    RETURN jsonb_build_object('change_set', api.change_set(p_mutation_id));
END
$fn$;

------------------------------------------------------------------------------------------
-- 2. Restrictions carried to the children
------------------------------------------------------------------------------------------
ALTER TABLE cad.restriction
    ADD COLUMN IF NOT EXISTS carried_from bigint REFERENCES cad.restriction,
    ADD COLUMN IF NOT EXISTS mutation_id bigint REFERENCES cad.mutation;
COMMENT ON COLUMN cad.restriction.carried_from IS
    'the parent parcel''s restriction this one continues (split / merge)';
COMMENT ON COLUMN cad.restriction.mutation_id IS
    'the change set (biến động) that carried it to this parcel';
CREATE INDEX IF NOT EXISTS restriction_carried_from_idx ON cad.restriction (carried_from);

CREATE OR REPLACE FUNCTION sys.cs_create_parcel(p_mutation_id bigint, p_sheet_id bigint,
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
    -- Restrictions in force on any parent (dispute, seizure, corridor, …) bind every child:
    -- carried with their own start date, linked to the restriction they continue and to
    -- this change set (the audit trigger records the rows with the change set too).
    INSERT INTO cad.restriction (parcel_id, kind, description, valid_from, carried_from,
                                 mutation_id)
    SELECT v_id, r.kind, r.description, r.valid_from, r.id, p_mutation_id
    FROM cad.restriction r
    WHERE r.parcel_id = ANY (coalesce(p_parents, '{}')) AND r.valid_to IS NULL
    ORDER BY r.id;
    FOREACH v_parent IN ARRAY coalesce(p_parents, '{}') LOOP
        INSERT INTO cad.parcel_lineage (mutation_id, parent_id, child_id)
        VALUES (p_mutation_id, v_parent, v_id);
    END LOOP;
    INSERT INTO cad.mutation_parcel (mutation_id, parcel_id) VALUES (p_mutation_id, v_id);
    RETURN v_id;
END
$fn$;

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

    -- Their restrictions end too: every child carries them on (sys.cs_create_parcel).
    UPDATE cad.restriction SET valid_to = greatest(current_date, valid_from)
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
-- 3. Who may call what
------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION
    api.cs_draft_reply(bigint, jsonb), api.cs_remove_item_reply(bigint, bigint)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    api.cs_draft_reply(bigint, jsonb), api.cs_remove_item_reply(bigint, bigint)
TO lr_person;
