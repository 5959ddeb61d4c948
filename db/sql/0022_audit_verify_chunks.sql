-- The audit chain's integrity check as a run of short steps (issue 7 polish).
--
-- admin.audit_verify walks the whole chain in one statement: about a second per 200 000
-- entries, so minutes for a province's years of log, with no progress and no way to stop.
-- Here the same walk is cut into steps of p_limit entries. The walk's state (where it is,
-- the hash the next entry must be chained to, the head it must end at) lives in
-- sys.audit_verify_run on the server: a client only names its run, so nobody can feed the
-- walk a "previous hash" of their choosing, and the AUDIT_VERIFY event with the result is
-- written by the server on the last step, exactly as admin.audit_verify writes it.
--
-- Each step applies the one-shot walk's rules (audit.verify in 0005) to the next entries,
-- so a run gives the same ok / entry_id / reason / checked as audit.verify(p_from) over the
-- same head. The head is read when the run starts: entries appended meanwhile are left to
-- the next check, as the one-shot does with entries after its snapshot.

-- One row per run. Not attached to the audit log: its rows are working state (a step
-- updates the row), the result goes to the log as the AUDIT_VERIFY event.
CREATE TABLE sys.audit_verify_run (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_by  name        NOT NULL,             -- session_user; only they continue it
    started_at  timestamptz NOT NULL DEFAULT now(),
    touched_at  timestamptz NOT NULL DEFAULT now(),
    from_at     timestamptz,                      -- p_from (NULL: from the first entry)
    head_id     bigint      NOT NULL,             -- audit.chain_head when the run started
    head_hash   bytea       NOT NULL,
    total       bigint      NOT NULL,             -- entries from the first to the head
    started     boolean     NOT NULL,             -- the first entry was read
    prev_id     bigint,                           -- last entry accepted …
    prev_hash   bytea,                            -- … and its hash: the next must chain to it
    cur_id      bigint,                           -- where the next step reads on from
    cur_at      timestamptz,                      -- ((id, logged_at) is the log's key)
    checked     bigint      NOT NULL DEFAULT 0,
    steps       integer     NOT NULL DEFAULT 0,
    state       text        NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'done', 'cancelled', 'abandoned')),
    ok          boolean,
    entry_id    bigint,
    reason      text,
    finished_at timestamptz
);
CREATE INDEX audit_verify_run_running_idx ON sys.audit_verify_run (touched_at)
    WHERE state = 'running';
REVOKE ALL ON sys.audit_verify_run FROM PUBLIC;

-- Start a run: the head now, and how many entries lie between the first entry checked
-- (the first at or after p_from) and the head. The count is by id, so it is exact for an
-- intact chain; a chain with deleted entries stops early anyway.
CREATE FUNCTION admin.audit_verify_start(p_from timestamptz DEFAULT NULL)
RETURNS TABLE (run_id bigint, total bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    v_head audit.chain_head;
    v_first bigint;
    v_total bigint;
    v_id bigint;
BEGIN
    PERFORM sys.require_admin();
    -- A run nobody continued for a day belongs to a client that went away: forget it
    -- (nothing was claimed, so nothing is written to the log).
    UPDATE sys.audit_verify_run r SET state = 'abandoned', finished_at = now()
    WHERE r.state = 'running' AND r.touched_at < now() - interval '1 day';
    SELECT * INTO v_head FROM audit.chain_head;
    IF p_from IS NULL THEN
        v_first := CASE WHEN v_head.last_id > 0 THEN 1 END;
    ELSE
        SELECT min(l.id) INTO v_first FROM audit.log l
        WHERE l.logged_at >= p_from AND l.id <= v_head.last_id;
    END IF;
    v_total := CASE WHEN v_first IS NULL THEN 0 ELSE v_head.last_id - v_first + 1 END;
    INSERT INTO sys.audit_verify_run (started_by, from_at, head_id, head_hash, total, started,
                                      prev_id, prev_hash)
    VALUES (session_user, p_from, v_head.last_id, v_head.last_hash, v_total, p_from IS NULL,
            CASE WHEN p_from IS NULL THEN 0 END,
            CASE WHEN p_from IS NULL
                 THEN '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
            END)
    RETURNING id INTO v_id;
    RETURN QUERY SELECT v_id, v_total;
END
$fn$;

-- The caller's own run, locked (steps of one run never overlap). Another administrator's
-- run is refused: they may not move it on, nor end it.
CREATE FUNCTION sys.audit_verify_run_of(p_run bigint) RETURNS sys.audit_verify_run
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.audit_verify_run;
BEGIN
    SELECT * INTO v FROM sys.audit_verify_run r WHERE r.id = p_run FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có lượt kiểm tra toàn vẹn số %.', coalesce(p_run::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF v.started_by <> session_user THEN
        RAISE EXCEPTION 'Lượt kiểm tra toàn vẹn số % do quản trị viên khác bắt đầu; chỉ người '
                        'bắt đầu mới được tiếp tục hoặc hủy.', p_run
            USING ERRCODE = '42501';
    END IF;
    RETURN v;
END
$fn$;

-- The next p_limit entries of the run. done = the run has its result (ok, entry_id,
-- reason as audit.verify gives them); the step that finds it writes the AUDIT_VERIFY event.
-- A step on a finished run returns its result again and writes nothing.
CREATE FUNCTION admin.audit_verify_step(p_run bigint, p_limit integer DEFAULT 20000)
RETURNS TABLE (checked bigint, total bigint, done boolean, ok boolean, entry_id bigint,
               reason text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    v sys.audit_verify_run;
    r audit.log;
    v_prev_id bigint;
    v_prev_hash bytea;
    v_started boolean;
    v_n bigint;
    v_read integer := 0;
    v_ok boolean;
    v_entry bigint;
    v_reason text;
BEGIN
    PERFORM sys.require_admin();
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'Số bản ghi mỗi bước phải từ 1 đến 1 000 000.' USING ERRCODE = '22023';
    END IF;
    v := sys.audit_verify_run_of(p_run);
    IF v.state <> 'running' THEN
        RETURN QUERY SELECT v.checked, v.total, true, v.ok, v.entry_id,
                            CASE WHEN v.state = 'done' THEN v.reason ELSE v.state END;
        RETURN;
    END IF;
    v_prev_id := v.prev_id;
    v_prev_hash := v.prev_hash;
    v_started := v.started;
    v_n := v.checked;
    -- The one-shot walk's loop (audit.verify), resumed after (cur_id, cur_at).
    FOR r IN
        SELECT * FROM audit.log l
        WHERE l.id <= v.head_id AND (v.from_at IS NULL OR l.logged_at >= v.from_at)
          AND (l.id, l.logged_at) > (coalesce(v.cur_id, -1), coalesce(v.cur_at, '-infinity'))
        ORDER BY l.id, l.logged_at
        LIMIT p_limit
    LOOP
        v_read := v_read + 1;
        v.cur_id := r.id;
        v.cur_at := r.logged_at;
        IF NOT v_started THEN
            v_prev_id := r.id - 1;
            v_prev_hash := r.prev_hash;
            v_started := true;
        END IF;
        v_n := v_n + 1;
        IF r.hash IS DISTINCT FROM audit.entry_hash(r.prev_hash, r.logged_at, r.actor,
               r.client_addr, r.application, r.change_set, r.action, r.table_name,
               r.row_key, r.old_row, r.new_row, r.target, r.detail) THEN
            v_ok := false; v_entry := r.id; v_reason := 'edited';
            EXIT;
        END IF;
        IF r.id <> v_prev_id + 1 THEN
            v_ok := false; v_entry := v_prev_id + 1; v_reason := 'deleted';
            EXIT;
        END IF;
        IF r.prev_hash IS DISTINCT FROM v_prev_hash THEN
            IF EXISTS (SELECT 1 FROM audit.log l WHERE l.hash = r.prev_hash) THEN
                v_ok := false; v_entry := r.id; v_reason := 're-ordered';
            ELSE
                v_ok := false; v_entry := v_prev_id; v_reason := 'edited';
            END IF;
            EXIT;
        END IF;
        v_prev_id := r.id;
        v_prev_hash := r.hash;
    END LOOP;
    IF v_ok IS NULL AND v_read < p_limit THEN
        -- The walk reached the head: the end checks of audit.verify.
        IF v_started AND v_prev_id < v.head_id THEN
            v_ok := false; v_entry := v_prev_id + 1; v_reason := 'deleted';
        ELSIF v_started AND v_prev_id = v.head_id AND v_prev_hash IS DISTINCT FROM v.head_hash THEN
            v_ok := false; v_entry := v_prev_id; v_reason := 'edited';
        ELSE
            v_ok := true; v_entry := v_prev_id; v_reason := 'ok';
        END IF;
    END IF;
    UPDATE sys.audit_verify_run u
    SET started = v_started, prev_id = v_prev_id, prev_hash = v_prev_hash, cur_id = v.cur_id,
        cur_at = v.cur_at, checked = v_n, steps = u.steps + 1, touched_at = now(),
        state = CASE WHEN v_ok IS NULL THEN 'running' ELSE 'done' END,
        ok = v_ok, entry_id = v_entry, reason = v_reason,
        finished_at = CASE WHEN v_ok IS NOT NULL THEN now() END
    WHERE u.id = v.id;
    IF v_ok IS NOT NULL THEN
        -- The same event as admin.audit_verify, plus the run's number.
        PERFORM sys.audit_security('AUDIT_VERIFY', 'audit.log', jsonb_build_object(
            'from', v.from_at, 'ok', v_ok, 'entry_id', v_entry, 'reason', v_reason,
            'checked', v_n, 'run', v.id));
    END IF;
    RETURN QUERY SELECT v_n, v.total, v_ok IS NOT NULL, v_ok, v_entry, v_reason;
END
$fn$;

-- Stop a run. It is recorded as an AUDIT_VERIFY event with ok = null and reason
-- 'cancelled' and how far it got: that an administrator began a check and stopped it is
-- itself worth keeping, and nothing in it claims the log intact. Cancelling a finished
-- run changes nothing (false).
CREATE FUNCTION admin.audit_verify_cancel(p_run bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.audit_verify_run;
BEGIN
    PERFORM sys.require_admin();
    v := sys.audit_verify_run_of(p_run);
    IF v.state <> 'running' THEN
        RETURN false;
    END IF;
    UPDATE sys.audit_verify_run u SET state = 'cancelled', finished_at = now(), touched_at = now()
    WHERE u.id = v.id;
    PERFORM sys.audit_security('AUDIT_VERIFY', 'audit.log', jsonb_build_object(
        'from', v.from_at, 'ok', NULL, 'entry_id', v.prev_id, 'reason', 'cancelled',
        'checked', v.checked, 'total', v.total, 'run', v.id));
    RETURN true;
END
$fn$;

REVOKE ALL ON FUNCTION admin.audit_verify_start(timestamptz),
    sys.audit_verify_run_of(bigint), admin.audit_verify_step(bigint, integer),
    admin.audit_verify_cancel(bigint)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admin.audit_verify_start(timestamptz),
    admin.audit_verify_step(bigint, integer), admin.audit_verify_cancel(bigint)
TO lr_admin_administrator;
