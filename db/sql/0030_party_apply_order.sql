-- Revision 0030: the party items of a change set are applied in one stated order.
--
-- 0027 applied party corrections, and 0029 household/couple members, from two AFTER UPDATE
-- triggers on cad.mutation; which one ran first depended on the triggers' names sorting
-- ('cs_apply_members' < 'cs_apply_party_items'), and 0029's version rule relied on that
-- order (the members bump the group's version only when no details item of the same group
-- follows, so one change set makes one new version). One trigger now calls the two steps
-- in that order, written down; the bodies are unchanged apart from taking the change
-- set's id. Still fired by api.approve_change_set's own status update, in its transaction.

DROP TRIGGER IF EXISTS cs_apply_members ON cad.mutation;
DROP TRIGGER IF EXISTS cs_apply_party_items ON cad.mutation;
DROP FUNCTION IF EXISTS sys.cs_apply_members();
DROP FUNCTION IF EXISTS sys.cs_apply_party_items();

-- Members of a household / couple / community: the member list made equal to the item's.
CREATE FUNCTION sys.cs_apply_party_members(p_mutation_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    it cad.change_item;
    v cad.party;
    m jsonb;
    v_text text;
    v_member bigint;
    v_keep bigint[];
BEGIN
    FOR it IN SELECT * FROM cad.change_item
              WHERE mutation_id = p_mutation_id AND op = 'party_members'
              ORDER BY (attributes ->> 'party_id')::bigint LOOP
        SELECT * INTO v FROM cad.party WHERE id = (it.attributes ->> 'party_id')::bigint FOR UPDATE;
        v_text := sys.cs_party_conflict_text(v.id, (it.attributes ->> 'base_version')::integer);
        IF v_text IS NOT NULL THEN
            RAISE EXCEPTION '%', v_text USING ERRCODE = '40001';
        END IF;
        PERFORM sys.cs_require_party_area(v.id);
        v_keep := '{}';
        FOR m IN SELECT x FROM jsonb_array_elements(it.attributes -> 'members') x LOOP
            v_member := sys.cs_holder_party(m);
            IF v_member = v.id THEN
                RAISE EXCEPTION '% không thể là thành viên của chính nó', sys.cs_party_label(v.id)
                    USING ERRCODE = '22023';
            END IF;
            IF v_member = ANY (v_keep) THEN
                RAISE EXCEPTION '%: một người có hai lần trong danh sách thành viên',
                    sys.cs_party_label(v.id) USING ERRCODE = '22023';
            END IF;
            v_keep := v_keep || v_member;
            INSERT INTO cad.party_member (group_id, member_id, role)
            VALUES (v.id, v_member, m ->> 'role')
            ON CONFLICT (group_id, member_id) DO UPDATE SET role = EXCLUDED.role
            WHERE cad.party_member.role IS DISTINCT FROM EXCLUDED.role;
        END LOOP;
        DELETE FROM cad.party_member pm WHERE pm.group_id = v.id AND pm.member_id <> ALL (v_keep);
        IF NOT EXISTS (SELECT 1 FROM cad.change_item i
                       WHERE i.mutation_id = p_mutation_id AND i.op = 'party'
                         AND (i.attributes ->> 'party_id')::bigint = v.id) THEN
            UPDATE cad.party SET version = version + 1 WHERE id = v.id;
        END IF;
    END LOOP;
END
$fn$;

-- A person's or organisation's details (name, document, birth year, address).
CREATE FUNCTION sys.cs_apply_party_details(p_mutation_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    it cad.change_item;
    v cad.party;
    c jsonb;
    v_text text;
BEGIN
    FOR it IN SELECT * FROM cad.change_item
              WHERE mutation_id = p_mutation_id AND op = 'party'
              ORDER BY (attributes ->> 'party_id')::bigint LOOP
        SELECT * INTO v FROM cad.party WHERE id = (it.attributes ->> 'party_id')::bigint FOR UPDATE;
        v_text := sys.cs_party_conflict_text(v.id, (it.attributes ->> 'base_version')::integer);
        IF v_text IS NOT NULL THEN
            RAISE EXCEPTION '%', v_text USING ERRCODE = '40001';
        END IF;
        PERFORM sys.cs_require_party_area(v.id);
        c := it.attributes -> 'changes';
        IF c ? 'id_number' THEN
            PERFORM sys.api_identity_unused(c ->> 'id_kind', c ->> 'id_number', v.id);
        END IF;
        UPDATE cad.party
        SET full_name = coalesce(c ->> 'full_name', full_name),
            gender = coalesce(c ->> 'gender', gender),
            birth_year = coalesce((c ->> 'birth_year')::integer, birth_year),
            id_kind = coalesce(c ->> 'id_kind', id_kind),
            id_number = coalesce(c ->> 'id_number', id_number),
            address = coalesce(c ->> 'address', address),
            version = version + 1
        WHERE id = v.id;
    END LOOP;
END
$fn$;

CREATE FUNCTION sys.cs_apply_party_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    -- Members first: their step leaves the version bump to a details item of the same
    -- group, which must therefore come after it.
    PERFORM sys.cs_apply_party_members(NEW.id);
    PERFORM sys.cs_apply_party_details(NEW.id);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER cs_apply_party_changes AFTER UPDATE OF status ON cad.mutation
    FOR EACH ROW WHEN (NEW.status = 'da_duyet' AND OLD.status IS DISTINCT FROM 'da_duyet')
    EXECUTE FUNCTION sys.cs_apply_party_changes();

REVOKE ALL ON FUNCTION
    sys.cs_apply_party_members(bigint), sys.cs_apply_party_details(bigint),
    sys.cs_apply_party_changes()
FROM PUBLIC;
