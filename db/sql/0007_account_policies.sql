-- Account policies, the administrators' API, lockout and the second factor (issue 3).
--
-- Rules (TCVN 14423:2026 level 3, TT 03/2017, Sơn La Đ.12, Cà Mau Đ.8, Bình Phước Đ.7),
-- all enforced here so that psql and QGIS meet them exactly as the desktop client does:
--   * passwords longer than 8 characters with upper, lower, digit and special characters,
--     not containing the user name, not a common password, not one of the last 5;
--   * a new account holds no subsystem group role until its temporary password has been
--     changed (only lr_person: it can call sys.change_password and nothing else);
--   * locked: temporary password not changed within 7 days, unused for 30 days, 5 failed
--     logins (15 minutes, or until an administrator unlocks), contractor project accepted
--     or access ended, password changed outside the API; every lock carries its reason and
--     is ALTER ROLE … NOLOGIN plus the end of the role's sessions, so psql is locked too;
--   * administrator functions need the TOTP second factor verified in the same session.
-- Policies live in sys.setting ('policy.*'); admin.set_policy may tighten them, never
-- loosen them beyond the regulation (sys.policy holds defaults and bounds).
--
-- Failed logins never reach SQL (DESIGN P5): app/security/agent.py reads the server's
-- jsonlog and reports them through admin.record_login_failure / admin.record_login.
--
-- landrec_owner gains what account management needs: CREATEROLE (create person roles,
-- set their password, LOGIN/NOLOGIN, group memberships), pg_signal_backend (end a locked
-- role's sessions), pg_read_all_stats (see its own session's backend_start inside definer
-- functions, for the second-factor record), SELECT on pg_authid.rolpassword (verify the
-- current password and notice a password changed outside the API) and SET on
-- log_min_error_statement (so a refused sys.change_password typed in psql is not written
-- to the server log with the passwords in it).

CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;  -- crypt, gen_salt, hmac
CREATE SCHEMA IF NOT EXISTS admin;

DO $roles$
BEGIN
    -- The log-reading agent's group role: an operator may run the agent as a LOGIN role
    -- that is a member of lr_agent instead of a superuser.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lr_agent') THEN
        CREATE ROLE lr_agent NOLOGIN;
    END IF;
END
$roles$;

ALTER ROLE landrec_owner CREATEROLE;
GRANT pg_signal_backend, pg_read_all_stats TO landrec_owner;
GRANT SELECT (rolname, rolpassword) ON pg_catalog.pg_authid TO landrec_owner;
GRANT SET ON PARAMETER log_min_error_statement TO landrec_owner;

------------------------------------------------------------------------------------------
-- Policies
------------------------------------------------------------------------------------------
-- Defaults and bounds live here; an override is a sys.setting row with the same key,
-- written by admin.set_policy. This migration writes no sys.setting row: sys.setting is
-- audited (0005), and an audited write would leave a deferred trigger event pending on
-- audit.chain_head, breaking migrate()'s ownership pass in the same transaction.
-- The effective value is clamped to [min_value, max_value] whoever wrote the row: the
-- regulation is the loosest end.
CREATE TABLE sys.policy (
    key            text PRIMARY KEY CHECK (key ~ '^policy\.[a-z_]+$'),
    default_value  integer NOT NULL,
    min_value      integer NOT NULL,
    max_value      integer NOT NULL,
    description    text NOT NULL,
    CHECK (default_value BETWEEN min_value AND max_value)
);
INSERT INTO sys.policy VALUES
    ('policy.password_min_length', 9, 9, 64,
     'Mật khẩu dài ít nhất (ký tự) — TT 03/2017, TCVN 14423:2026: hơn 8 ký tự'),
    ('policy.password_history', 5, 5, 24, 'Không dùng lại một trong ngần ấy mật khẩu gần nhất'),
    ('policy.temp_password_length', 12, 12, 32, 'Độ dài mật khẩu tạm thời do hệ thống cấp'),
    ('policy.first_change_days', 7, 1, 7,
     'Khóa tài khoản mới nếu không đổi mật khẩu tạm trong ngần ấy ngày'),
    ('policy.unused_days', 30, 1, 30, 'Khóa tài khoản không sử dụng trong ngần ấy ngày'),
    ('policy.max_failed_logins', 5, 1, 5, 'Khóa sau ngần ấy lần đăng nhập sai liên tiếp'),
    ('policy.failed_login_window_minutes', 1440, 15, 10080,
     'Các lần đăng nhập sai cũ hơn ngần ấy phút không còn được tính'),
    ('policy.lockout_minutes', 15, 15, 10080, 'Thời gian khóa sau khi đăng nhập sai quá số lần'),
    ('policy.idle_lock_minutes', 15, 1, 15, 'Khóa phiên làm việc sau ngần ấy phút không thao tác'),
    ('policy.idle_lock_minutes_admin', 5, 1, 5,
     'Khóa phiên của quản trị viên sau ngần ấy phút không thao tác');

------------------------------------------------------------------------------------------
-- Account state added by this part
------------------------------------------------------------------------------------------
ALTER TABLE sys.account
    -- Why the account is locked, as a code the time rules can act on (lock_reason is the
    -- sentence shown to people). NULL for locks written by hand.
    ADD COLUMN lock_kind text CHECK (lock_kind IN (
        'failed_logins', 'unused', 'first_change_overdue', 'contractor_accepted',
        'access_expired', 'password_outside_api', 'administrator')),
    ADD COLUMN password_issued_at timestamptz,  -- when the current temporary password was issued
    ADD COLUMN unlocked_at timestamptz,         -- restarts the time rules' clocks
    ADD COLUMN failed_since timestamptz,        -- first failure counted in failed_logins
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN disable_reason text,
    ADD COLUMN totp_last_step bigint;           -- last accepted TOTP step: no replay

-- Secrets: readable by nobody but the owner (definer functions); never audited as rows.
CREATE TABLE sys.account_secret (
    role_name             name PRIMARY KEY REFERENCES sys.account ON DELETE CASCADE,
    -- pg_authid.rolpassword as set by the last API change: a different value means the
    -- password was changed outside the API (ALTER ROLE … PASSWORD, \password).
    password_verifier     text NOT NULL,
    recorded_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sys.password_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role_name  name NOT NULL REFERENCES sys.account ON DELETE CASCADE,
    hash       text NOT NULL,                -- bcrypt (pgcrypto crypt/gen_salt('bf'))
    set_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_history_role_idx ON sys.password_history (role_name, id DESC);

-- Common and Vietnamese-typical weak passwords, lower case (db/ref/common_passwords.txt,
-- loaded by the migration).
CREATE TABLE sys.common_password (
    password text PRIMARY KEY CHECK (password = lower(password))
);

-- Sessions whose second factor was verified. Only definer functions write it; the
-- (pid, backend_start) pair names one session, so a later session reusing the pid does
-- not inherit the verification.
CREATE TABLE sys.mfa_session (
    pid            integer NOT NULL,
    backend_start  timestamptz NOT NULL,
    role_name      name NOT NULL REFERENCES sys.account ON DELETE CASCADE,
    verified_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pid, backend_start)
);

-- How far the agent has read each server log file (kept with the data it produced, in
-- one transaction, so an event is counted once).
CREATE TABLE sys.agent_log_position (
    file_name    text PRIMARY KEY,             -- absolute path of the log file
    file_id      text NOT NULL,                -- device:inode, a new file restarts at 0
    byte_offset  bigint NOT NULL CHECK (byte_offset >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

------------------------------------------------------------------------------------------
-- Small helpers
------------------------------------------------------------------------------------------
CREATE FUNCTION sys.policy_int(p_key text) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (
    SELECT greatest(p.min_value, least(p.max_value, coalesce(
        (SELECT (s.value #>> '{}')::integer FROM sys.setting s
         WHERE s.key = p.key AND s.value #>> '{}' ~ '^[0-9]{1,6}$'),
        p.default_value)))
    FROM sys.policy p WHERE p.key = p_key
);

-- Every security event goes to the hash-chained audit log (migration 0005).
CREATE FUNCTION sys.audit_security(p_action text, p_target text, p_detail jsonb)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM audit.log_event(p_action, left(p_target, 200), p_detail);
END
$fn$;

-- Vietnam time for the sentences people read.
CREATE FUNCTION sys.vn_time(p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN to_char(p_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'HH24:MI DD/MM/YYYY');

------------------------------------------------------------------------------------------
-- Cryptography: SCRAM verifiers, TOTP, base32
------------------------------------------------------------------------------------------
-- SCRAM-SHA-256 keys (RFC 5802/7677) of a password, as PostgreSQL computes them. Used to
-- set passwords as verifiers (the clear text never appears in a statement, so it cannot
-- reach a log line) and to check the current password in sys.change_password. Passwords
-- are printable ASCII (policy), for which SASLprep changes nothing.
CREATE FUNCTION sys.scram_keys(p_password text, p_salt bytea, p_iterations integer,
                               OUT stored_key bytea, OUT server_key bytea)
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_key bytea := convert_to(p_password, 'UTF8');
    v_u bytea;
    v_acc bit(256);
    v_salted bytea;
BEGIN
    -- PBKDF2-HMAC-SHA-256 with one output block: U1 = HMAC(P, S || INT(1)), Ui = HMAC(P, Ui-1).
    v_u := public.hmac(p_salt || '\x00000001'::bytea, v_key, 'sha256');
    v_acc := ('x' || encode(v_u, 'hex'))::bit(256);
    FOR i IN 2..p_iterations LOOP
        v_u := public.hmac(v_u, v_key, 'sha256');
        v_acc := v_acc # ('x' || encode(v_u, 'hex'))::bit(256);
    END LOOP;
    SELECT decode(string_agg(lpad(to_hex(substring(v_acc FROM 8 * j + 1 FOR 8)::integer), 2, '0'),
                             '' ORDER BY j), 'hex')
      INTO v_salted FROM generate_series(0, 31) AS j;
    stored_key := sha256(public.hmac(convert_to('Client Key', 'UTF8'), v_salted, 'sha256'));
    server_key := public.hmac(convert_to('Server Key', 'UTF8'), v_salted, 'sha256');
END
$fn$;

CREATE FUNCTION sys.scram_verifier(p_password text) RETURNS text
LANGUAGE plpgsql VOLATILE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_salt bytea := public.gen_random_bytes(16);
    k record;
BEGIN
    k := sys.scram_keys(p_password, v_salt, 4096);
    RETURN format('SCRAM-SHA-256$4096:%s$%s:%s', encode(v_salt, 'base64'),
                  encode(k.stored_key, 'base64'), encode(k.server_key, 'base64'));
END
$fn$;

-- Does p_password match the role's current password (SCRAM or legacy md5 verifier)?
CREATE FUNCTION sys.password_matches(p_role name, p_password text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_verifier text;
    v_parts text[];
    k record;
BEGIN
    IF p_password IS NULL THEN
        RETURN false;
    END IF;
    SELECT a.rolpassword INTO v_verifier FROM pg_catalog.pg_authid a WHERE a.rolname = p_role;
    IF v_verifier IS NULL THEN
        RETURN false;
    END IF;
    IF v_verifier LIKE 'md5%' THEN
        RETURN v_verifier = 'md5' || md5(p_password || p_role);
    END IF;
    v_parts := regexp_match(v_verifier, '^SCRAM-SHA-256\$([0-9]+):([^$]+)\$([^:]+):(.+)$');
    IF v_parts IS NULL OR v_parts[1]::integer > 1000000 THEN
        RETURN false;
    END IF;
    k := sys.scram_keys(p_password, decode(v_parts[2], 'base64'), v_parts[1]::integer);
    RETURN k.stored_key = decode(v_parts[3], 'base64');
END
$fn$;

-- HOTP (RFC 4226) with HMAC-SHA-1 and 6 digits; TOTP uses the 30-second step as counter.
CREATE FUNCTION sys.hotp(p_secret bytea, p_counter bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_h bytea := public.hmac(int8send(p_counter), p_secret, 'sha1');
    v_off integer := get_byte(v_h, 19) & 15;
    v_bin bigint;
BEGIN
    v_bin := ((get_byte(v_h, v_off) & 127)::bigint << 24)
             | (get_byte(v_h, v_off + 1)::bigint << 16)
             | (get_byte(v_h, v_off + 2)::bigint << 8)
             | get_byte(v_h, v_off + 3)::bigint;
    RETURN lpad((v_bin % 1000000)::text, 6, '0');
END
$fn$;

-- RFC 4648 base32 without padding (the otpauth:// secret format).
CREATE FUNCTION sys.base32(p_data bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_alphabet constant text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    v_bits text := '';
    v_out text := '';
BEGIN
    FOR i IN 0..length(p_data) - 1 LOOP
        v_bits := v_bits || get_byte(p_data, i)::bit(8)::text;
    END LOOP;
    v_bits := rpad(v_bits, ((length(v_bits) + 4) / 5) * 5, '0');
    FOR i IN 0..length(v_bits) / 5 - 1 LOOP
        v_out := v_out || substr(v_alphabet, substr(v_bits, i * 5 + 1, 5)::bit(5)::integer + 1, 1);
    END LOOP;
    RETURN v_out;
END
$fn$;

CREATE FUNCTION sys.otpauth_uri(p_role name, p_secret bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
RETURN format('otpauth://totp/LandRec:%s?secret=%s&issuer=LandRec&algorithm=SHA1&digits=6&period=30',
              p_role, sys.base32(p_secret));

------------------------------------------------------------------------------------------
-- Password policy
------------------------------------------------------------------------------------------
-- The first rule a password breaks, as the sentence to show, or NULL when it is fine.
-- Reuse (history) is checked separately: it needs the account's stored hashes.
CREATE FUNCTION sys.password_problem(p_role text, p_password text, p_full_name text)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_min integer := sys.policy_int('policy.password_min_length');
    v_lower text;
    v_core text;
    v_missing text[] := '{}';
    v_name text;
BEGIN
    IF p_password IS NULL OR p_password = '' THEN
        RETURN 'Mật khẩu không được để trống.';
    END IF;
    IF length(p_password) > 64 THEN
        RETURN 'Mật khẩu dài quá 64 ký tự.';
    END IF;
    IF p_password !~ '^[ -~]+$' THEN
        RETURN 'Mật khẩu chỉ được gồm chữ cái không dấu, chữ số, dấu cách và ký tự đặc biệt.';
    END IF;
    IF length(p_password) < v_min THEN
        RETURN format('Mật khẩu phải dài ít nhất %s ký tự.', v_min);
    END IF;
    IF p_password !~ '[A-Z]' THEN v_missing := v_missing || 'chữ hoa'::text; END IF;
    IF p_password !~ '[a-z]' THEN v_missing := v_missing || 'chữ thường'::text; END IF;
    IF p_password !~ '[0-9]' THEN v_missing := v_missing || 'chữ số'::text; END IF;
    IF p_password !~ '[^A-Za-z0-9]' THEN v_missing := v_missing || 'ký tự đặc biệt'::text; END IF;
    IF v_missing <> '{}' THEN
        RETURN format('Mật khẩu phải có đủ chữ hoa, chữ thường, chữ số và ký tự đặc biệt; '
                      'còn thiếu: %s.', array_to_string(v_missing, ', '));
    END IF;
    v_lower := lower(p_password);
    IF p_role IS NOT NULL AND (strpos(v_lower, lower(p_role)) > 0
        OR (length(replace(p_role, '_', '')) >= 3
            AND strpos(v_lower, lower(replace(p_role, '_', ''))) > 0)) THEN
        RETURN 'Mật khẩu không được chứa tên đăng nhập.';
    END IF;
    v_name := replace(ref.fold_vi(coalesce(p_full_name, '')), ' ', '');
    IF length(v_name) >= 4 AND strpos(replace(v_lower, ' ', ''), v_name) > 0 THEN
        RETURN 'Mật khẩu không được chứa họ tên của người dùng.';
    END IF;
    -- Common passwords as typed, and their core word: "Matkhau@123" is "matkhau",
    -- "P@ssw0rd2024!" is "password".
    v_core := regexp_replace(v_lower, '^[^a-z]+|[^a-z]+$', '', 'g');
    IF EXISTS (SELECT 1 FROM sys.common_password c
               WHERE c.password IN (v_lower, v_core,
                   regexp_replace(translate(v_core, '@4310$5!', 'aaeiossi'),
                                  '^[^a-z]+|[^a-z]+$', '', 'g'))) THEN
        RETURN 'Mật khẩu này quá phổ biến, dễ bị đoán (nằm trong danh sách mật khẩu yếu).';
    END IF;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION sys.password_reused(p_role name, p_password text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM (
        SELECT h.hash FROM sys.password_history h
        WHERE h.role_name = p_role
        ORDER BY h.id DESC
        LIMIT sys.policy_int('policy.password_history')
    ) AS recent
    WHERE public.crypt(p_password, recent.hash) = recent.hash
);

-- A temporary password that satisfies the policy: 3+ characters of each class from
-- alphabets without look-alikes (O/0, l/1/I), shuffled.
CREATE FUNCTION sys.new_temp_password(p_role text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_classes constant text[] := ARRAY['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnpqrstuvwxyz',
                                       '23456789', '#$%&*+-=?@'];
    v_len integer := greatest(sys.policy_int('policy.temp_password_length'),
                              sys.policy_int('policy.password_min_length'), 12);
    v_rand bytea;
    v_chars text[];
    v_tmp text;
    v_j integer;
    v_class text;
BEGIN
    LOOP
        v_rand := public.gen_random_bytes(2 * v_len);
        v_chars := '{}';
        FOR i IN 0..v_len - 1 LOOP
            v_class := v_classes[CASE WHEN i < 12 THEN i / 3 + 1 ELSE get_byte(v_rand, i) % 4 + 1 END];
            v_chars := v_chars || substr(v_class, get_byte(v_rand, v_len + i) % length(v_class) + 1, 1);
        END LOOP;
        v_rand := public.gen_random_bytes(v_len);
        FOR i IN REVERSE v_len..2 LOOP  -- Fisher–Yates
            v_j := get_byte(v_rand, i - 1) % i + 1;
            v_tmp := v_chars[i];
            v_chars[i] := v_chars[v_j];
            v_chars[v_j] := v_tmp;
        END LOOP;
        v_tmp := array_to_string(v_chars, '');
        EXIT WHEN sys.password_problem(p_role, v_tmp, NULL) IS NULL;
    END LOOP;
    RETURN v_tmp;
END
$fn$;

------------------------------------------------------------------------------------------
-- Roles, grants, sessions
------------------------------------------------------------------------------------------
-- Subsystem group roles (lr_<subsystem>_<kind>) that exist in this deployment.
CREATE FUNCTION sys.group_roles() RETURNS SETOF text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT format('lr_%s_%s', s.code, k.kind)
    FROM sys.subsystem s
    CROSS JOIN unnest(ARRAY['viewer', 'editor', 'approver', 'administrator']) AS k(kind);
END;

-- Make the role's group memberships mirror sys.account_right — but only while the account
-- is active and its temporary password has been changed. Returns what it changed.
CREATE FUNCTION sys.sync_grants(p_role name) RETURNS text[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_group text;
    v_changes text[] := '{}';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = p_role) THEN
        RETURN v_changes;
    END IF;
    IF NOT pg_catalog.pg_has_role(p_role, 'lr_person', 'MEMBER') THEN
        EXECUTE format('GRANT lr_person TO %I', p_role);
    END IF;
    FOR v_group IN
        (SELECT format('lr_%s_%s', r.subsystem, r.kind)
         FROM sys.account a JOIN sys.account_right r ON r.role_name = a.role_name
         WHERE a.role_name = p_role AND a.state = 'active' AND NOT a.must_change_password
         EXCEPT
         SELECT g.rolname::text
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
         JOIN pg_catalog.pg_roles u ON u.oid = m.member
         WHERE u.rolname = p_role)
        ORDER BY 1
    LOOP
        EXECUTE format('GRANT %I TO %I', v_group, p_role);
        v_changes := v_changes || ('+' || v_group);
    END LOOP;
    FOR v_group IN
        (SELECT g.rolname::text
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
         JOIN pg_catalog.pg_roles u ON u.oid = m.member
         WHERE u.rolname = p_role AND g.rolname IN (SELECT sys.group_roles())
         EXCEPT
         SELECT format('lr_%s_%s', r.subsystem, r.kind)
         FROM sys.account a JOIN sys.account_right r ON r.role_name = a.role_name
         WHERE a.role_name = p_role AND a.state = 'active' AND NOT a.must_change_password)
        ORDER BY 1
    LOOP
        EXECUTE format('REVOKE %I FROM %I', v_group, p_role);
        v_changes := v_changes || ('-' || v_group);
    END LOOP;
    RETURN v_changes;
END
$fn$;

-- End the role's other sessions (its own current session, if any, ends with its client).
CREATE FUNCTION sys.end_sessions(p_role name) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (SELECT count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(a.pid))
        FROM pg_catalog.pg_stat_activity a
        WHERE a.usename = p_role AND a.pid <> pg_catalog.pg_backend_pid());

-- Record the verifier PostgreSQL holds now as the one set through the API.
CREATE FUNCTION sys.record_verifier(p_role name) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    INSERT INTO sys.account_secret AS s (role_name, password_verifier)
    SELECT p_role, a.rolpassword FROM pg_catalog.pg_authid a
    WHERE a.rolname = p_role AND a.rolpassword IS NOT NULL
    ON CONFLICT (role_name) DO UPDATE
        SET password_verifier = EXCLUDED.password_verifier, recorded_at = now();
END
$fn$;

-- Set a password (temporary or chosen by the person) as a SCRAM verifier, remember it
-- for the reuse rule and as the API's verifier.
CREATE FUNCTION sys.set_password_internal(p_role name, p_password text, p_temporary boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    EXECUTE format('ALTER ROLE %I PASSWORD %L', p_role, sys.scram_verifier(p_password));
    PERFORM sys.record_verifier(p_role);
    INSERT INTO sys.password_history (role_name, hash)
    VALUES (p_role, public.crypt(p_password, public.gen_salt('bf', 10)));
    DELETE FROM sys.password_history h
    WHERE h.role_name = p_role
      AND h.id NOT IN (SELECT h2.id FROM sys.password_history h2 WHERE h2.role_name = p_role
                       ORDER BY h2.id DESC LIMIT 24);
    IF p_temporary THEN
        UPDATE sys.account SET must_change_password = true, password_issued_at = now()
        WHERE role_name = p_role;
    ELSE
        UPDATE sys.account SET must_change_password = false, password_changed_at = now()
        WHERE role_name = p_role;
    END IF;
    PERFORM sys.sync_grants(p_role);
END
$fn$;

-- Lock: the row says why, the role cannot log in, its sessions end. Returns false when
-- the account was not active (nothing to do).
CREATE FUNCTION sys.lock_internal(p_role name, p_kind text, p_reason text,
                                  p_until timestamptz DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_ended integer;
BEGIN
    UPDATE sys.account
    SET state = 'locked', lock_kind = p_kind, lock_reason = p_reason, locked_at = now(),
        locked_until = p_until
    WHERE role_name = p_role AND state = 'active';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    EXECUTE format('ALTER ROLE %I NOLOGIN', p_role);
    PERFORM sys.sync_grants(p_role);
    v_ended := sys.end_sessions(p_role);
    DELETE FROM sys.mfa_session WHERE role_name = p_role;
    PERFORM sys.audit_security('LOCK', p_role, jsonb_build_object(
        'kind', p_kind, 'reason', p_reason, 'until', p_until, 'sessions_ended', v_ended));
    RETURN true;
END
$fn$;

CREATE FUNCTION sys.unlock_internal(p_role name, p_why text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_old sys.account;
BEGIN
    SELECT * INTO v_old FROM sys.account WHERE role_name = p_role AND state = 'locked' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE sys.account
    SET state = 'active', lock_kind = NULL, lock_reason = NULL, locked_at = NULL,
        locked_until = NULL, failed_logins = 0, failed_since = NULL, unlocked_at = now()
    WHERE role_name = p_role;
    EXECUTE format('ALTER ROLE %I LOGIN', p_role);
    PERFORM sys.sync_grants(p_role);
    PERFORM sys.audit_security('UNLOCK', p_role, jsonb_build_object(
        'why', p_why, 'was_kind', v_old.lock_kind, 'was_reason', v_old.lock_reason,
        'locked_at', v_old.locked_at));
    RETURN true;
END
$fn$;

------------------------------------------------------------------------------------------
-- First login holds for every path: the area and right helpers of 0004 (called by the RLS
-- policies and by the api.* functions that lr_person may execute) answer "nothing" while
-- the password is still the temporary one. Same bodies as in 0004 plus that condition.
-- (For the lead: fold this into 0004 at the merge.)
------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION sys.has_right(p_subsystem text, p_kind text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM sys.account a
    JOIN sys.account_right r USING (role_name)
    WHERE a.role_name = session_user AND a.state = 'active' AND NOT a.must_change_password
      AND r.subsystem = p_subsystem
      AND (r.kind = p_kind OR (p_kind = 'viewer'))  -- every kind may read its subsystem
);

CREATE OR REPLACE FUNCTION sys.sees_whole_province() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM sys.account
    WHERE role_name = session_user AND state = 'active' AND whole_province
      AND NOT must_change_password
);

CREATE OR REPLACE FUNCTION sys.my_units() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (
    SELECT coalesce(array_agg(DISTINCT u), '{}')
    FROM sys.account a
    JOIN sys.account_area ar USING (role_name)
    CROSS JOIN LATERAL (
        SELECT ar.commune_id
        UNION ALL
        SELECT s.predecessor_id FROM ref.admin_unit_succession s
        WHERE s.successor_id = ar.commune_id
    ) AS units(u)
    WHERE a.role_name = session_user AND a.state = 'active' AND NOT a.must_change_password
);

------------------------------------------------------------------------------------------
-- Second factor and the administrator check
------------------------------------------------------------------------------------------
CREATE FUNCTION sys.mfa_verified() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM sys.mfa_session m
    JOIN pg_catalog.pg_stat_activity a ON a.pid = m.pid AND a.backend_start = m.backend_start
    WHERE m.pid = pg_catalog.pg_backend_pid() AND m.role_name = session_user
);

CREATE FUNCTION sys.is_administrator(p_role name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (
    SELECT 1 FROM sys.account_right r
    WHERE r.role_name = p_role AND r.subsystem = 'admin' AND r.kind = 'administrator'
);

-- Every admin.* function starts here: an active administrator whose password is no longer
-- temporary, with the second factor verified in this very session.
CREATE FUNCTION sys.require_admin() RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM sys.account a
                   WHERE a.role_name = session_user AND a.state = 'active'
                     AND NOT a.must_change_password)
       OR NOT sys.is_administrator(session_user) THEN
        RAISE EXCEPTION 'Chỉ quản trị viên hệ thống mới được dùng chức năng quản trị tài khoản.'
            USING ERRCODE = '42501',
                  HINT = 'Needs the administrator kind in subsystem admin on an active account.';
    END IF;
    IF NOT sys.mfa_verified() THEN
        RAISE EXCEPTION 'Cần xác thực hai lớp (mã TOTP) trong phiên này trước khi dùng chức '
                        'năng quản trị.'
            USING ERRCODE = '42501',
                  HINT = 'Call sys.verify_totp(code) in this session first.';
    END IF;
END
$fn$;

-- Is p_role the last active administrator (who must not be locked out of the system)?
CREATE FUNCTION sys.is_last_admin(p_role name) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN sys.is_administrator(p_role) AND NOT EXISTS (
    SELECT 1 FROM sys.account a
    JOIN sys.account_right r ON r.role_name = a.role_name
    WHERE a.role_name <> p_role AND a.state = 'active'
      AND r.subsystem = 'admin' AND r.kind = 'administrator'
);

------------------------------------------------------------------------------------------
-- Validation of administrators' input
------------------------------------------------------------------------------------------
CREATE FUNCTION sys.check_text(p_value text, p_label text, p_max integer, p_required boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_value IS NULL OR btrim(p_value) = '' THEN
        IF p_required THEN
            RAISE EXCEPTION '% không được để trống.', p_label USING ERRCODE = '22023';
        END IF;
        RETURN NULL;
    END IF;
    IF length(p_value) > p_max THEN
        RAISE EXCEPTION '% dài quá % ký tự.', p_label, p_max USING ERRCODE = '22023';
    END IF;
    IF p_value ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION '% chứa ký tự điều khiển.', p_label USING ERRCODE = '22023';
    END IF;
    RETURN btrim(p_value);
END
$fn$;

CREATE FUNCTION sys.check_role_name(p_role text) RETURNS name
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_role IS NULL THEN
        RAISE EXCEPTION 'Tên đăng nhập không được để trống.' USING ERRCODE = '22023';
    END IF;
    IF length(p_role) NOT BETWEEN 3 AND 40 OR p_role !~ '^[a-z0-9_]+$' THEN
        RAISE EXCEPTION 'Tên đăng nhập không hợp lệ: chỉ gồm chữ thường a–z không dấu, chữ số '
                        'và dấu gạch dưới, dài từ 3 đến 40 ký tự.'
            USING ERRCODE = '22023',
                  HINT = format('Got %s characters; use e.g. nguyenvana or tran_thi_b.',
                                length(p_role));
    END IF;
    IF p_role ~ '^(pg_|lr_|landrec)' OR p_role IN ('public', 'none', 'postgres', 'all') THEN
        RAISE EXCEPTION 'Tên đăng nhập "%" được dành cho hệ thống.', p_role
            USING ERRCODE = '22023',
                  HINT = 'Names starting with pg_, lr_ or landrec are reserved.';
    END IF;
    RETURN p_role::name;
END
$fn$;

-- The account a function acts on: must exist (with a clear message).
CREATE FUNCTION sys.target_account(p_role text) RETURNS sys.account
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
BEGIN
    IF p_role IS NULL OR length(p_role) > 63 THEN
        RAISE EXCEPTION 'Tên đăng nhập không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v FROM sys.account WHERE role_name = p_role FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có tài khoản "%".', p_role USING ERRCODE = '22023';
    END IF;
    RETURN v;
END
$fn$;

-- {"cadastral": ["viewer", "editor"], …} → validated (subsystem, kind) rows.
CREATE FUNCTION sys.parse_rights(p_rights jsonb)
RETURNS TABLE (subsystem text, kind text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_key text;
    v_value jsonb;
    v_kind jsonb;
BEGIN
    IF p_rights IS NULL OR jsonb_typeof(p_rights) <> 'object' THEN
        RAISE EXCEPTION 'Quyền phải là một đối tượng JSON dạng {"cadastral": ["viewer"]}.'
            USING ERRCODE = '22023';
    END IF;
    FOR v_key, v_value IN SELECT * FROM jsonb_each(p_rights) LOOP
        IF NOT EXISTS (SELECT 1 FROM sys.subsystem s WHERE s.code = v_key) THEN
            RAISE EXCEPTION 'Phân hệ không tồn tại: "%".', left(v_key, 60)
                USING ERRCODE = '22023',
                      HINT = 'Subsystems: ' || (SELECT string_agg(code, ', ' ORDER BY code)
                                                FROM sys.subsystem);
        END IF;
        IF jsonb_typeof(v_value) <> 'array' THEN
            RAISE EXCEPTION 'Quyền của phân hệ % phải là một danh sách loại tài khoản.', v_key
                USING ERRCODE = '22023';
        END IF;
        FOR v_kind IN SELECT * FROM jsonb_array_elements(v_value) LOOP
            IF jsonb_typeof(v_kind) <> 'string'
               OR v_kind #>> '{}' NOT IN ('viewer', 'editor', 'approver', 'administrator') THEN
                RAISE EXCEPTION 'Loại tài khoản không hợp lệ: %.', left(v_kind::text, 60)
                    USING ERRCODE = '22023',
                          HINT = 'Kinds: viewer, editor, approver, administrator.';
            END IF;
            subsystem := v_key;
            kind := v_kind #>> '{}';
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$fn$;

CREATE FUNCTION sys.rights_json(p_role name) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN (SELECT coalesce(jsonb_object_agg(x.subsystem, x.kinds), '{}')
        FROM (SELECT r.subsystem, jsonb_agg(r.kind ORDER BY r.kind) AS kinds
              FROM sys.account_right r WHERE r.role_name = p_role
              GROUP BY r.subsystem) AS x);

CREATE FUNCTION sys.replace_rights_internal(p_role name, p_rights jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_old jsonb := sys.rights_json(p_role);
BEGIN
    DELETE FROM sys.account_right r
    WHERE r.role_name = p_role
      AND NOT EXISTS (SELECT 1 FROM sys.parse_rights(p_rights) n
                      WHERE n.subsystem = r.subsystem AND n.kind = r.kind);
    INSERT INTO sys.account_right (role_name, subsystem, kind)
    SELECT DISTINCT p_role, n.subsystem, n.kind FROM sys.parse_rights(p_rights) n
    ON CONFLICT DO NOTHING;
    PERFORM sys.sync_grants(p_role);
    RETURN jsonb_build_object('old', v_old, 'new', sys.rights_json(p_role));
END
$fn$;

CREATE FUNCTION sys.replace_areas_internal(p_role name, p_communes bigint[],
                                           p_whole_province boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_bad bigint;
    v_old jsonb;
BEGIN
    IF p_whole_province IS NULL THEN
        RAISE EXCEPTION 'Phải cho biết tài khoản xem toàn tỉnh hay không (true/false).'
            USING ERRCODE = '22023';
    END IF;
    IF cardinality(p_communes) > 5000 THEN
        RAISE EXCEPTION 'Danh sách xã quá dài (tối đa 5000).' USING ERRCODE = '22023';
    END IF;
    IF p_whole_province AND cardinality(p_communes) > 0 THEN
        RAISE EXCEPTION 'Chọn toàn tỉnh hoặc một danh sách xã, không chọn cả hai.'
            USING ERRCODE = '22023';
    END IF;
    SELECT c INTO v_bad FROM unnest(p_communes) AS c
    WHERE c IS NULL OR NOT EXISTS (SELECT 1 FROM ref.admin_unit u
                                   WHERE u.id = c AND u.level = 'commune' AND u.valid_to IS NULL)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Xã % không tồn tại hoặc không còn hiệu lực.', coalesce(v_bad::text, 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'Give ids of communes in force from ref.admin_unit (level commune).';
    END IF;
    SELECT jsonb_build_object('whole_province', a.whole_province,
                              'communes', (SELECT coalesce(jsonb_agg(ar.commune_id ORDER BY ar.commune_id), '[]')
                                           FROM sys.account_area ar WHERE ar.role_name = p_role))
      INTO v_old FROM sys.account a WHERE a.role_name = p_role;
    UPDATE sys.account SET whole_province = p_whole_province WHERE role_name = p_role;
    DELETE FROM sys.account_area ar
    WHERE ar.role_name = p_role AND ar.commune_id <> ALL (coalesce(p_communes, '{}'));
    INSERT INTO sys.account_area (role_name, commune_id)
    SELECT DISTINCT p_role, c FROM unnest(p_communes) AS c
    ON CONFLICT DO NOTHING;
    RETURN jsonb_build_object('old', v_old, 'new', jsonb_build_object(
        'whole_province', p_whole_province,
        'communes', (SELECT coalesce(jsonb_agg(DISTINCT c), '[]') FROM unnest(p_communes) c)));
END
$fn$;

-- Create the LOGIN role and its account with a temporary password (returned).
CREATE FUNCTION sys.create_account_internal(
    p_role_name text, p_person_id_number text, p_full_name text, p_unit text,
    p_position text, p_phone text, p_email text, p_rights jsonb, p_communes bigint[],
    p_whole_province boolean, p_contractor_project text, p_access_until date)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_role name := sys.check_role_name(p_role_name);
    v_full_name text := sys.check_text(p_full_name, 'Họ tên', 200, true);
    v_unit text := sys.check_text(p_unit, 'Đơn vị công tác', 200, true);
    v_position text := sys.check_text(p_position, 'Chức vụ', 200, false);
    v_phone text := sys.check_text(p_phone, 'Số điện thoại', 20, false);
    v_email text := sys.check_text(p_email, 'Thư điện tử', 254, false);
    v_existing sys.account;
    v_project sys.contractor_project;
    v_password text;
BEGIN
    IF p_person_id_number IS NULL OR p_person_id_number !~ '^[0-9]{12}$' THEN
        RAISE EXCEPTION 'Số định danh cá nhân phải gồm đúng 12 chữ số.'
            USING ERRCODE = '22023', HINT = 'The 12-digit citizen ID (CCCD) number.';
    END IF;
    IF v_phone !~ '^\+?[0-9 .()-]{6,20}$' THEN
        RAISE EXCEPTION 'Số điện thoại không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    IF v_email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' THEN
        RAISE EXCEPTION 'Địa chỉ thư điện tử không hợp lệ.' USING ERRCODE = '22023';
    END IF;
    IF p_rights IS NULL THEN
        RAISE EXCEPTION 'Quyền không được để trống (dùng {} cho tài khoản chưa có quyền).'
            USING ERRCODE = '22023';
    END IF;
    PERFORM sys.parse_rights(p_rights);  -- validate before anything is created
    IF p_access_until IS NOT NULL
       AND p_access_until < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date THEN
        RAISE EXCEPTION 'Ngày hết hạn truy cập % đã qua.', to_char(p_access_until, 'DD/MM/YYYY')
            USING ERRCODE = '22023';
    END IF;
    IF p_contractor_project IS NOT NULL THEN
        SELECT * INTO v_project FROM sys.contractor_project WHERE code = p_contractor_project;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Không có dự án "%".', left(p_contractor_project, 60)
                USING ERRCODE = '22023', HINT = 'Create it with admin.create_project first.';
        END IF;
        IF v_project.state = 'nghiem_thu' THEN
            RAISE EXCEPTION 'Dự án % đã nghiệm thu: không cấp thêm tài khoản nhà thầu.',
                            v_project.code USING ERRCODE = '22023';
        END IF;
    END IF;
    -- One person, one account (Sơn La Đ.12, Cà Mau Đ.8).
    SELECT * INTO v_existing FROM sys.account a
    WHERE a.person_id_number = p_person_id_number AND a.state <> 'disabled';
    IF FOUND THEN
        RAISE EXCEPTION 'Người có số định danh % đã có tài khoản "%" (trạng thái: %); mỗi '
                        'người chỉ được có một tài khoản.',
                        p_person_id_number, v_existing.role_name, v_existing.state
            USING ERRCODE = '23505',
                  HINT = 'Change the rights of the existing account, or disable it first.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
        RAISE EXCEPTION 'Tên đăng nhập "%" đã được dùng.', v_role
            USING ERRCODE = '23505', HINT = 'Role names are shared by the whole server.';
    END IF;

    EXECUTE format('CREATE ROLE %I LOGIN IN ROLE lr_person', v_role);
    INSERT INTO sys.account (role_name, person_id_number, full_name, unit, position, phone,
                             email, whole_province, contractor_project, access_until,
                             must_change_password, password_issued_at)
    VALUES (v_role, p_person_id_number, v_full_name, v_unit, v_position, v_phone, v_email,
            coalesce(p_whole_province, false), p_contractor_project, p_access_until,
            true, now());
    PERFORM sys.replace_rights_internal(v_role, p_rights);
    PERFORM sys.replace_areas_internal(v_role, p_communes, p_whole_province);
    v_password := sys.new_temp_password(v_role);
    PERFORM sys.set_password_internal(v_role, v_password, true);
    PERFORM sys.audit_security('ACCOUNT_CREATE', v_role, jsonb_build_object(
        'person_id_number', p_person_id_number, 'full_name', v_full_name, 'unit', v_unit,
        'rights', sys.rights_json(v_role), 'communes', p_communes,
        'whole_province', p_whole_province, 'contractor_project', p_contractor_project,
        'access_until', p_access_until));
    RETURN v_password;
EXCEPTION WHEN unique_violation THEN
    -- A concurrent administrator created the same person or name a moment ago.
    IF SQLERRM LIKE '%account_one_active_per_person%' THEN
        RAISE EXCEPTION 'Người có số định danh % đã có tài khoản; mỗi người chỉ được có một '
                        'tài khoản.', p_person_id_number USING ERRCODE = '23505';
    END IF;
    RAISE;
END
$fn$;

-- A fresh TOTP secret for the account (enrolment or a lost phone); returns the
-- otpauth:// URI to show once as a QR code.
CREATE FUNCTION sys.issue_totp_internal(p_role name) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_secret bytea := public.gen_random_bytes(20);
BEGIN
    UPDATE sys.account SET totp_secret = v_secret, totp_last_step = NULL
    WHERE role_name = p_role;
    DELETE FROM sys.mfa_session WHERE role_name = p_role;
    PERFORM sys.audit_security('MFA_ENROL', p_role, '{}');
    RETURN sys.otpauth_uri(p_role, v_secret);
END
$fn$;

------------------------------------------------------------------------------------------
-- Person API (lr_person): fixed names and signatures, the desktop client codes against them
------------------------------------------------------------------------------------------
CREATE FUNCTION sys.my_account()
RETURNS TABLE (role_name name, full_name text, unit text, kinds jsonb, whole_province boolean,
               must_change_password boolean, is_administrator boolean, mfa_verified boolean,
               idle_lock_minutes integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    IF NOT EXISTS (SELECT 1 FROM sys.account a WHERE a.role_name = session_user) THEN
        RAISE EXCEPTION 'Người dùng "%" không có tài khoản LandRec.', session_user
            USING ERRCODE = '28000',
                  HINT = 'Sign in with a personal account issued by an administrator.';
    END IF;
    RETURN QUERY
    SELECT a.role_name, a.full_name, a.unit, sys.rights_json(a.role_name), a.whole_province,
           a.must_change_password, sys.is_administrator(a.role_name), sys.mfa_verified(),
           CASE WHEN sys.is_administrator(a.role_name)
                THEN sys.policy_int('policy.idle_lock_minutes_admin')
                ELSE sys.policy_int('policy.idle_lock_minutes') END
    FROM sys.account a WHERE a.role_name = session_user;
END
$fn$;

-- Change one's own password. The clear text never appears in a statement this function
-- runs (the new password is set as a SCRAM verifier), and a refused call typed in psql is
-- not written to the server log (log_min_error_statement is raised for the call).
CREATE FUNCTION sys.change_password(p_old text, p_new text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET log_min_error_statement = panic AS $fn$
DECLARE
    v sys.account;
    v_problem text;
BEGIN
    SELECT * INTO v FROM sys.account a WHERE a.role_name = session_user FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Người dùng "%" không có tài khoản LandRec.', session_user
            USING ERRCODE = '28000';
    END IF;
    IF v.state <> 'active' THEN
        RAISE EXCEPTION 'Tài khoản đang bị khóa: %', coalesce(v.lock_reason, v.disable_reason, v.state)
            USING ERRCODE = '28000';
    END IF;
    IF NOT sys.password_matches(session_user, p_old) THEN
        -- Counted like a failed login: the agent reads this line from the server log (a
        -- rolled-back transaction cannot hide it) for the session's own user only.
        RAISE LOG 'landrec auth failure: current password';
        PERFORM pg_catalog.pg_sleep(1);
        RAISE EXCEPTION 'Mật khẩu hiện tại không đúng.' USING ERRCODE = '28P01';
    END IF;
    v_problem := sys.password_problem(session_user, p_new, v.full_name);
    IF v_problem IS NULL AND p_new = p_old THEN
        v_problem := 'Mật khẩu mới phải khác mật khẩu hiện tại.';
    END IF;
    IF v_problem IS NULL AND sys.password_reused(session_user, p_new) THEN
        v_problem := format('Mật khẩu này đã được dùng trong %s lần gần nhất; hãy chọn mật '
                            'khẩu khác.', sys.policy_int('policy.password_history'));
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION '%', v_problem
            USING ERRCODE = '22023',
                  HINT = 'Password policy: more than 8 characters, upper and lower case, a '
                         'digit and a special character, not the user name, not a common '
                         'password, not one of the last 5.';
    END IF;
    PERFORM sys.set_password_internal(session_user, p_new, false);
    PERFORM sys.audit_security('PASSWORD_CHANGE', session_user, jsonb_build_object(
        'by', 'self', 'first_change', v.must_change_password));
END
$fn$;

-- Verify the TOTP code (RFC 6238: SHA-1, 6 digits, 30 s, one step either side, each step
-- used once). On success the session is recorded as verified; a wrong code costs a second
-- and is counted like a failed login (through the server log and the agent).
CREATE FUNCTION sys.verify_totp(p_code text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_now bigint := floor(extract(epoch FROM clock_timestamp()) / 30)::bigint;
    v_step bigint;
    v_backend_start timestamptz;
BEGIN
    SELECT * INTO v FROM sys.account a WHERE a.role_name = session_user FOR UPDATE;
    IF NOT FOUND OR v.state <> 'active' THEN
        RAISE EXCEPTION 'Tài khoản "%" không hoạt động hoặc không tồn tại.', session_user
            USING ERRCODE = '28000';
    END IF;
    IF v.totp_secret IS NULL THEN
        RAISE EXCEPTION 'Tài khoản chưa được cấp mã xác thực hai lớp (TOTP).'
            USING ERRCODE = '28000',
                  HINT = 'An administrator issues it with admin.issue_totp(role).';
    END IF;
    IF p_code ~ '^[0-9]{6}$' THEN
        SELECT s INTO v_step FROM generate_series(v_now - 1, v_now + 1) AS s
        WHERE sys.hotp(v.totp_secret, s) = p_code AND s > coalesce(v.totp_last_step, -1)
        ORDER BY s LIMIT 1;
    END IF;
    IF v_step IS NULL THEN
        RAISE LOG 'landrec auth failure: second factor';
        PERFORM pg_catalog.pg_sleep(1);
        RETURN false;
    END IF;
    SELECT a.backend_start INTO v_backend_start
    FROM pg_catalog.pg_stat_activity a WHERE a.pid = pg_catalog.pg_backend_pid();
    UPDATE sys.account SET totp_last_step = v_step WHERE role_name = session_user;
    INSERT INTO sys.mfa_session (pid, backend_start, role_name)
    VALUES (pg_catalog.pg_backend_pid(), v_backend_start, session_user)
    ON CONFLICT (pid, backend_start) DO UPDATE
        SET role_name = EXCLUDED.role_name, verified_at = now();
    PERFORM sys.audit_security('MFA_VERIFY', session_user, '{}');
    RETURN true;
END
$fn$;

------------------------------------------------------------------------------------------
-- Administrators' API (lr_admin_administrator + second factor in the session)
------------------------------------------------------------------------------------------
CREATE FUNCTION admin.create_account(
    p_role_name text, p_person_id_number text, p_full_name text, p_unit text,
    p_position text, p_phone text, p_email text, p_rights jsonb, p_communes bigint[],
    p_whole_province boolean, p_contractor_project text, p_access_until date)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM sys.require_admin();
    RETURN sys.create_account_internal(p_role_name, p_person_id_number, p_full_name, p_unit,
        p_position, p_phone, p_email, p_rights, p_communes, p_whole_province,
        p_contractor_project, p_access_until);
END
$fn$;

CREATE FUNCTION admin.set_rights(p_role text, p_rights jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_change jsonb;
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    PERFORM sys.parse_rights(p_rights);  -- a clear message for bad JSON comes first
    IF v.state = 'disabled' THEN
        RAISE EXCEPTION 'Tài khoản "%" đã bị vô hiệu hóa.', v.role_name USING ERRCODE = '22023';
    END IF;
    IF sys.is_last_admin(v.role_name)
       AND NOT coalesce(p_rights -> 'admin' ? 'administrator', false) THEN
        RAISE EXCEPTION 'Không thể bỏ quyền của quản trị viên cuối cùng.'
            USING ERRCODE = '22023', HINT = 'Create another administrator first.';
    END IF;
    v_change := sys.replace_rights_internal(v.role_name, p_rights);
    PERFORM sys.audit_security('RIGHTS_CHANGE', v.role_name, v_change);
END
$fn$;

CREATE FUNCTION admin.set_areas(p_role text, p_communes bigint[], p_whole_province boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    PERFORM sys.audit_security('RIGHTS_CHANGE', v.role_name,
        sys.replace_areas_internal(v.role_name, p_communes, p_whole_province));
END
$fn$;

CREATE FUNCTION admin.lock_account(p_role text, p_reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_reason text := sys.check_text(p_reason, 'Lý do khóa', 500, true);
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    IF v.role_name = session_user THEN
        RAISE EXCEPTION 'Không thể tự khóa tài khoản của chính mình.' USING ERRCODE = '22023';
    END IF;
    IF v.state <> 'active' THEN
        RAISE EXCEPTION 'Tài khoản "%" không ở trạng thái hoạt động (%).', v.role_name, v.state
            USING ERRCODE = '22023';
    END IF;
    IF sys.is_last_admin(v.role_name) THEN
        RAISE EXCEPTION 'Không thể khóa quản trị viên cuối cùng.' USING ERRCODE = '22023';
    END IF;
    PERFORM sys.lock_internal(v.role_name, 'administrator',
        format('Quản trị viên %s khóa: %s', session_user, v_reason));
END
$fn$;

CREATE FUNCTION admin.unlock_account(p_role text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_project sys.contractor_project;
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    IF v.state <> 'locked' THEN
        RAISE EXCEPTION 'Tài khoản "%" không bị khóa (trạng thái: %).', v.role_name, v.state
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_project FROM sys.contractor_project WHERE code = v.contractor_project;
    IF v_project.state = 'nghiem_thu' THEN
        RAISE EXCEPTION 'Dự án % đã nghiệm thu: tài khoản nhà thầu không được mở lại.',
                        v_project.code USING ERRCODE = '22023';
    END IF;
    IF v.access_until < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date THEN
        RAISE EXCEPTION 'Thời hạn truy cập của tài khoản đã hết ngày %.',
                        to_char(v.access_until, 'DD/MM/YYYY')
            USING ERRCODE = '22023', HINT = 'Extend access_until before unlocking.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM sys.account_secret s JOIN pg_catalog.pg_authid a
                       ON a.rolname = s.role_name AND a.rolpassword = s.password_verifier
                   WHERE s.role_name = v.role_name)
       AND EXISTS (SELECT 1 FROM sys.account_secret s WHERE s.role_name = v.role_name) THEN
        RAISE EXCEPTION 'Mật khẩu của tài khoản "%" đã bị đổi ngoài hệ thống; hãy đặt lại mật '
                        'khẩu trước khi mở khóa.', v.role_name
            USING ERRCODE = '22023', HINT = 'Call admin.reset_password(role) first.';
    END IF;
    PERFORM sys.unlock_internal(v.role_name, format('administrator %s', session_user));
END
$fn$;

CREATE FUNCTION admin.reset_password(p_role text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_password text;
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    IF v.role_name = session_user THEN
        RAISE EXCEPTION 'Hãy tự đổi mật khẩu của mình bằng sys.change_password.'
            USING ERRCODE = '22023';
    END IF;
    IF v.state = 'disabled' THEN
        RAISE EXCEPTION 'Tài khoản "%" đã bị vô hiệu hóa.', v.role_name USING ERRCODE = '22023';
    END IF;
    v_password := sys.new_temp_password(v.role_name);
    PERFORM sys.set_password_internal(v.role_name, v_password, true);
    PERFORM sys.end_sessions(v.role_name);
    DELETE FROM sys.mfa_session WHERE role_name = v.role_name;
    PERFORM sys.audit_security('PASSWORD_CHANGE', v.role_name,
        jsonb_build_object('by', session_user, 'reset', true));
    RETURN v_password;
END
$fn$;

CREATE FUNCTION admin.disable_account(p_role text, p_reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_reason text := sys.check_text(p_reason, 'Lý do vô hiệu hóa', 500, true);
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    IF v.role_name = session_user THEN
        RAISE EXCEPTION 'Không thể tự vô hiệu hóa tài khoản của chính mình.'
            USING ERRCODE = '22023';
    END IF;
    IF v.state = 'disabled' THEN
        RAISE EXCEPTION 'Tài khoản "%" đã bị vô hiệu hóa.', v.role_name USING ERRCODE = '22023';
    END IF;
    IF sys.is_last_admin(v.role_name) THEN
        RAISE EXCEPTION 'Không thể vô hiệu hóa quản trị viên cuối cùng.' USING ERRCODE = '22023';
    END IF;
    UPDATE sys.account
    SET state = 'disabled', lock_kind = NULL, lock_reason = NULL, locked_at = NULL,
        locked_until = NULL, disabled_at = now(), disable_reason = v_reason
    WHERE role_name = v.role_name;
    EXECUTE format('ALTER ROLE %I NOLOGIN', v.role_name);
    PERFORM sys.sync_grants(v.role_name);
    PERFORM sys.end_sessions(v.role_name);
    DELETE FROM sys.mfa_session WHERE role_name = v.role_name;
    PERFORM sys.audit_security('ACCOUNT_DISABLE', v.role_name,
        jsonb_build_object('reason', v_reason));
END
$fn$;

CREATE FUNCTION admin.issue_totp(p_role text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
BEGIN
    PERFORM sys.require_admin();
    v := sys.target_account(p_role);
    IF v.state = 'disabled' THEN
        RAISE EXCEPTION 'Tài khoản "%" đã bị vô hiệu hóa.', v.role_name USING ERRCODE = '22023';
    END IF;
    RETURN sys.issue_totp_internal(v.role_name);
END
$fn$;

CREATE FUNCTION admin.create_project(p_code text, p_name text, p_contractor text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_code text := sys.check_text(p_code, 'Mã dự án', 40, true);
BEGIN
    PERFORM sys.require_admin();
    IF v_code !~ '^[A-Za-z0-9_.-]+$' THEN
        RAISE EXCEPTION 'Mã dự án chỉ gồm chữ cái không dấu, chữ số và . _ -'
            USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM sys.contractor_project WHERE code = v_code) THEN
        RAISE EXCEPTION 'Dự án "%" đã có.', v_code USING ERRCODE = '23505';
    END IF;
    INSERT INTO sys.contractor_project (code, name, contractor)
    VALUES (v_code, sys.check_text(p_name, 'Tên dự án', 300, true),
            sys.check_text(p_contractor, 'Nhà thầu', 300, true));
END
$fn$;

-- Accepting (nghiệm thu) a contractor project locks its accounts at once.
CREATE FUNCTION admin.set_project_state(p_code text, p_state text) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_project sys.contractor_project;
    v_role name;
    v_locked integer := 0;
BEGIN
    PERFORM sys.require_admin();
    IF p_state IS NULL OR p_state NOT IN ('dang_thuc_hien', 'nghiem_thu') THEN
        RAISE EXCEPTION 'Trạng thái dự án không hợp lệ: %.', coalesce(left(p_state, 40), 'NULL')
            USING ERRCODE = '22023', HINT = 'States: dang_thuc_hien, nghiem_thu.';
    END IF;
    SELECT * INTO v_project FROM sys.contractor_project WHERE code = p_code FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có dự án "%".', left(p_code, 60) USING ERRCODE = '22023';
    END IF;
    UPDATE sys.contractor_project
    SET state = p_state,
        accepted_at = CASE WHEN p_state = 'nghiem_thu' THEN coalesce(accepted_at, now()) END
    WHERE code = p_code;
    PERFORM sys.audit_security('SETTING_CHANGE', 'project:' || p_code,
        jsonb_build_object('old_state', v_project.state, 'new_state', p_state));
    IF p_state = 'nghiem_thu' THEN
        FOR v_role IN SELECT a.role_name FROM sys.account a
                      WHERE a.contractor_project = p_code AND a.state = 'active' LOOP
            IF sys.lock_internal(v_role, 'contractor_accepted',
                   format('Dự án %s của nhà thầu đã được nghiệm thu ngày %s', p_code,
                          sys.vn_time(now()))) THEN
                v_locked := v_locked + 1;
            END IF;
        END LOOP;
    END IF;
    RETURN v_locked;
END
$fn$;

CREATE FUNCTION admin.set_policy(p_key text, p_value jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_bound sys.policy;
    v_old integer;
    v_int integer;
BEGIN
    PERFORM sys.require_admin();
    SELECT * INTO v_bound FROM sys.policy WHERE key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Không có chính sách "%".', coalesce(left(p_key, 60), 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'Policies: ' || (SELECT string_agg(key, ', ' ORDER BY key)
                                          FROM sys.policy);
    END IF;
    IF p_value IS NULL OR jsonb_typeof(p_value) <> 'number'
       OR (p_value #>> '{}') !~ '^[0-9]{1,6}$' THEN
        RAISE EXCEPTION 'Giá trị của % phải là một số nguyên.', p_key USING ERRCODE = '22023';
    END IF;
    v_int := (p_value #>> '{}')::integer;
    IF v_int NOT BETWEEN v_bound.min_value AND v_bound.max_value THEN
        RAISE EXCEPTION 'Giá trị của % phải từ % đến %.', p_key, v_bound.min_value,
                        v_bound.max_value
            USING ERRCODE = '22023',
                  HINT = 'Policies may be tightened, never loosened beyond TCVN 14423:2026 '
                         'level 3 and the provincial regulations.';
    END IF;
    v_old := sys.policy_int(p_key);
    INSERT INTO sys.setting AS s (key, value, description)
    VALUES (p_key, to_jsonb(v_int), v_bound.description)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();
    PERFORM sys.audit_security('SETTING_CHANGE', p_key,
        jsonb_build_object('old', v_old, 'new', v_int));
END
$fn$;

-- The accounts, for the administrators' screen (no secrets).
CREATE FUNCTION admin.list_accounts()
RETURNS TABLE (role_name name, full_name text, unit text, person_id_number text,
               kinds jsonb, whole_province boolean, communes bigint[], state text,
               lock_reason text, locked_until timestamptz, must_change_password boolean,
               last_login_at timestamptz, contractor_project text, access_until date,
               has_totp boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    PERFORM sys.require_admin();
    RETURN QUERY
    SELECT a.role_name, a.full_name, a.unit, a.person_id_number, sys.rights_json(a.role_name),
           a.whole_province,
           ARRAY(SELECT ar.commune_id FROM sys.account_area ar
                 WHERE ar.role_name = a.role_name ORDER BY 1),
           a.state, coalesce(a.lock_reason, a.disable_reason), a.locked_until,
           a.must_change_password, a.last_login_at, a.contractor_project, a.access_until,
           a.totp_secret IS NOT NULL
    FROM sys.account a ORDER BY a.role_name;
END
$fn$;

------------------------------------------------------------------------------------------
-- The agent's API (lr_agent or a superuser): failed logins, logins, time rules
------------------------------------------------------------------------------------------
-- Has the role's password been changed outside the API since it was last recorded?
-- Accounts created before this migration (no record yet) are recorded as they are.
CREATE FUNCTION sys.password_changed_outside(p_role name) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_recorded text;
    v_current text;
BEGIN
    SELECT a.rolpassword INTO v_current FROM pg_catalog.pg_authid a WHERE a.rolname = p_role;
    SELECT s.password_verifier INTO v_recorded FROM sys.account_secret s
    WHERE s.role_name = p_role;
    IF NOT FOUND THEN
        PERFORM sys.record_verifier(p_role);
        RETURN false;
    END IF;
    RETURN v_current IS DISTINCT FROM v_recorded;
END
$fn$;

CREATE FUNCTION sys.lock_if_password_changed_outside(p_role name) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NOT sys.password_changed_outside(p_role) THEN
        RETURN false;
    END IF;
    RETURN sys.lock_internal(p_role, 'password_outside_api',
        'Mật khẩu đã bị đổi ngoài chức năng đổi mật khẩu của LandRec (ALTER ROLE, \password) '
        'nên không qua kiểm tra chính sách mật khẩu; liên hệ quản trị viên để đặt lại mật khẩu');
END
$fn$;

-- One failed authentication of p_role (from the server log). Returns what it did:
-- unknown (no account; audited), stale (older than the account or its last unlock),
-- not_active, counted, locked, expired (the lock it earned would already be over).
CREATE FUNCTION admin.record_login_failure(p_role name, p_at timestamptz, p_client inet,
                                           p_kind text DEFAULT 'password')
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
    v_count integer;
    v_since timestamptz;
    v_max integer := sys.policy_int('policy.max_failed_logins');
    v_window interval := make_interval(mins => sys.policy_int('policy.failed_login_window_minutes'));
    v_until timestamptz;
    v_known boolean;
BEGIN
    IF p_role IS NULL OR p_at IS NULL THEN
        RAISE EXCEPTION 'Thiếu tên đăng nhập hoặc thời điểm.' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v FROM sys.account WHERE role_name = p_role FOR UPDATE;
    v_known := FOUND;
    PERFORM sys.audit_security('LOGIN_FAILED', p_role, jsonb_build_object(
        'at', p_at, 'client', p_client, 'kind', p_kind, 'known', v_known));
    IF NOT v_known THEN
        RETURN 'unknown';
    END IF;
    IF p_at < v.issued_at OR p_at < v.unlocked_at OR p_at < v.password_issued_at THEN
        RETURN 'stale';
    END IF;
    IF v.state <> 'active' THEN
        RETURN 'not_active';
    END IF;
    IF v.failed_since IS NULL OR v.failed_since < p_at - v_window
       OR v.last_login_at > v.failed_since THEN
        v_count := 1;
        v_since := p_at;
    ELSE
        v_count := v.failed_logins + 1;
        v_since := v.failed_since;
    END IF;
    UPDATE sys.account SET failed_logins = v_count, failed_since = v_since
    WHERE role_name = p_role;
    IF v_count < v_max THEN
        RETURN 'counted';
    END IF;
    v_until := p_at + make_interval(mins => sys.policy_int('policy.lockout_minutes'));
    IF v_until <= now() THEN
        UPDATE sys.account SET failed_logins = 0, failed_since = NULL WHERE role_name = p_role;
        RETURN 'expired';
    END IF;
    PERFORM sys.lock_internal(p_role, 'failed_logins',
        format('Đăng nhập sai %s lần liên tiếp (lần cuối lúc %s%s); tự mở khóa lúc %s hoặc '
               'khi quản trị viên mở khóa', v_count, sys.vn_time(p_at),
               CASE WHEN p_client IS NOT NULL THEN ' từ ' || host(p_client) ELSE '' END,
               sys.vn_time(v_until)),
        v_until);
    RETURN 'locked';
END
$fn$;

-- One successful authentication of p_role (from the server log).
CREATE FUNCTION admin.record_login(p_role name, p_at timestamptz, p_client inet)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v sys.account;
BEGIN
    IF p_role IS NULL OR p_at IS NULL THEN
        RAISE EXCEPTION 'Thiếu tên đăng nhập hoặc thời điểm.' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v FROM sys.account WHERE role_name = p_role FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    IF p_at < v.issued_at THEN
        RETURN 'stale';
    END IF;
    UPDATE sys.account
    SET last_login_at = greatest(last_login_at, p_at),
        failed_logins = CASE WHEN state = 'active' THEN 0 ELSE failed_logins END,
        failed_since = CASE WHEN state = 'active' THEN NULL ELSE failed_since END
    WHERE role_name = p_role;
    PERFORM sys.audit_security('LOGIN', p_role,
        jsonb_build_object('at', p_at, 'client', p_client));
    IF v.state = 'active' AND sys.lock_if_password_changed_outside(p_role) THEN
        RETURN 'locked';
    END IF;
    RETURN 'recorded';
END
$fn$;

-- The time-based rules, run by the agent every minute. Returns what it did.
CREATE FUNCTION admin.enforce_policies()
RETURNS TABLE (role_name name, action text, reason text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    v record;
    v_today date := (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    v_first interval := make_interval(days => sys.policy_int('policy.first_change_days'));
    v_unused interval := make_interval(days => sys.policy_int('policy.unused_days'));
    v_reason text;
    v_changes text[];
BEGIN
    -- Failed-login locks whose time is over.
    FOR v IN SELECT a.role_name FROM sys.account a
             WHERE a.state = 'locked' AND a.lock_kind = 'failed_logins'
               AND a.locked_until <= now()
             ORDER BY 1 LOOP
        IF sys.unlock_internal(v.role_name, 'lockout period over') THEN
            role_name := v.role_name; action := 'unlock'; reason := 'lockout period over';
            RETURN NEXT;
        END IF;
    END LOOP;

    FOR v IN
        SELECT a.role_name, x.kind, x.reason
        FROM sys.account a
        LEFT JOIN sys.contractor_project p ON p.code = a.contractor_project
        CROSS JOIN LATERAL (
            SELECT 'contractor_accepted' AS kind,
                   format('Dự án %s của nhà thầu đã được nghiệm thu ngày %s', p.code,
                          sys.vn_time(p.accepted_at)) AS reason
            WHERE p.state = 'nghiem_thu'
            UNION ALL
            SELECT 'access_expired',
                   format('Hết thời hạn truy cập (đến hết ngày %s)',
                          to_char(a.access_until, 'DD/MM/YYYY'))
            WHERE a.access_until < v_today
            UNION ALL
            SELECT 'first_change_overdue',
                   format('Không đổi mật khẩu tạm thời trong %s ngày kể từ khi được cấp (%s)',
                          sys.policy_int('policy.first_change_days'),
                          sys.vn_time(coalesce(a.password_issued_at, a.issued_at)))
            WHERE a.must_change_password
              AND greatest(coalesce(a.password_issued_at, a.issued_at), a.unlocked_at)
                  < now() - v_first
            UNION ALL
            SELECT 'unused',
                   format('Không sử dụng trong %s ngày (lần đăng nhập cuối: %s)',
                          sys.policy_int('policy.unused_days'),
                          coalesce(sys.vn_time(a.last_login_at), 'chưa bao giờ'))
            WHERE greatest(a.last_login_at, a.password_changed_at, a.password_issued_at,
                           a.issued_at, a.unlocked_at) < now() - v_unused
            LIMIT 1
        ) AS x
        WHERE a.state = 'active'
        ORDER BY a.role_name
    LOOP
        IF sys.lock_internal(v.role_name, v.kind, v.reason) THEN
            role_name := v.role_name; action := 'lock'; reason := v.reason;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- Passwords changed outside the API (ALTER ROLE … PASSWORD, psql's \password).
    -- Accounts made before this migration have no record yet: their verifier is taken as is.
    INSERT INTO sys.account_secret (role_name, password_verifier)
    SELECT a.role_name, p.rolpassword
    FROM sys.account a JOIN pg_catalog.pg_authid p ON p.rolname = a.role_name
    WHERE p.rolpassword IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM sys.account_secret s WHERE s.role_name = a.role_name);
    FOR v IN SELECT a.role_name
             FROM sys.account a
             JOIN sys.account_secret s ON s.role_name = a.role_name
             JOIN pg_catalog.pg_authid p ON p.rolname = a.role_name
             WHERE a.state = 'active' AND p.rolpassword IS DISTINCT FROM s.password_verifier
             ORDER BY 1 LOOP
        IF sys.lock_if_password_changed_outside(v.role_name) THEN
            role_name := v.role_name; action := 'lock'; reason := 'password changed outside the API';
            RETURN NEXT;
        END IF;
    END LOOP;

    -- The table is the truth: LOGIN/NOLOGIN, group roles, and no session of a role that
    -- is not active (e.g. its own session when it locked itself with wrong codes).
    FOR v IN SELECT a.role_name, a.state, r.rolcanlogin
             FROM sys.account a JOIN pg_catalog.pg_roles r ON r.rolname = a.role_name
             WHERE (a.state = 'active') <> r.rolcanlogin ORDER BY 1 LOOP
        EXECUTE format('ALTER ROLE %I %s', v.role_name,
                       CASE WHEN v.state = 'active' THEN 'LOGIN' ELSE 'NOLOGIN' END);
        role_name := v.role_name; action := 'repair';
        reason := CASE WHEN v.state = 'active' THEN 'LOGIN restored' ELSE 'NOLOGIN set' END;
        RETURN NEXT;
    END LOOP;
    -- Group roles granted or revoked by hand: only the accounts that drifted are touched.
    FOR v IN
        WITH desired AS (
            SELECT a.role_name, format('lr_%s_%s', r.subsystem, r.kind) AS grp
            FROM sys.account a JOIN sys.account_right r ON r.role_name = a.role_name
            WHERE a.state = 'active' AND NOT a.must_change_password
        ), actual AS (
            SELECT a.role_name, g.rolname::text AS grp
            FROM sys.account a
            JOIN pg_catalog.pg_roles u ON u.rolname = a.role_name
            JOIN pg_catalog.pg_auth_members m ON m.member = u.oid
            JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
            WHERE g.rolname IN (SELECT sys.group_roles())
        )
        SELECT d.role_name FROM ((SELECT * FROM desired EXCEPT SELECT * FROM actual)
                                 UNION ALL
                                 (SELECT * FROM actual EXCEPT SELECT * FROM desired)) AS d
        UNION
        SELECT a.role_name FROM sys.account a JOIN pg_catalog.pg_roles u ON u.rolname = a.role_name
        WHERE NOT pg_catalog.pg_has_role(u.oid, 'lr_person', 'MEMBER')
        ORDER BY 1
    LOOP
        v_changes := sys.sync_grants(v.role_name);
        IF v_changes <> '{}' THEN
            PERFORM sys.audit_security('RIGHTS_CHANGE', v.role_name,
                jsonb_build_object('repaired', v_changes));
            role_name := v.role_name; action := 'repair';
            reason := 'group roles ' || array_to_string(v_changes, ' ');
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR v IN SELECT a.role_name FROM sys.account a
             WHERE a.state <> 'active'
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity s
                           WHERE s.usename = a.role_name
                             AND s.pid <> pg_catalog.pg_backend_pid())
             ORDER BY 1 LOOP
        role_name := v.role_name; action := 'end_sessions';
        reason := format('%s session(s) of a %s account', sys.end_sessions(v.role_name),
                         (SELECT a.state FROM sys.account a WHERE a.role_name = v.role_name));
        RETURN NEXT;
    END LOOP;

    -- Second-factor records of sessions that are gone.
    DELETE FROM sys.mfa_session m
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                      WHERE a.pid = m.pid AND a.backend_start = m.backend_start);
END
$fn$;

-- The first administrator of a new central server (landrec admin bootstrap, run with the
-- owner's DSN): whole province, admin rights; returns the temporary password and the
-- otpauth:// URI of the second factor, each shown once.
CREATE FUNCTION admin.bootstrap_administrator(p_role text, p_full_name text,
                                              p_person_id_number text, p_unit text)
RETURNS TABLE (temporary_password text, totp_uri text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_admin name;
BEGIN
    SELECT a.role_name INTO v_admin FROM sys.account a
    JOIN sys.account_right r ON r.role_name = a.role_name
    WHERE a.state <> 'disabled' AND r.subsystem = 'admin' AND r.kind = 'administrator'
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Hệ thống đã có quản trị viên "%"; hãy dùng admin.create_account.',
                        v_admin USING ERRCODE = '22023';
    END IF;
    temporary_password := sys.create_account_internal(p_role, p_person_id_number, p_full_name,
        coalesce(p_unit, 'Quản trị hệ thống'), NULL, NULL, NULL,
        '{"admin": ["administrator"]}', NULL, true, NULL, NULL);
    totp_uri := sys.issue_totp_internal(p_role::name);
    RETURN NEXT;
END
$fn$;

------------------------------------------------------------------------------------------
-- Grants: persons call the three person functions; administrators the admin API; the
-- agent its three functions; nobody reads the secrets.
------------------------------------------------------------------------------------------
REVOKE ALL ON sys.account_secret, sys.password_history, sys.common_password, sys.mfa_session,
    sys.agent_log_position FROM PUBLIC;
GRANT SELECT ON sys.policy TO lr_person;

DO $grants$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE (n.nspname = 'admin')
           OR (n.nspname = 'sys' AND p.proname IN (
               'policy_int', 'audit_security', 'vn_time', 'scram_keys', 'scram_verifier',
               'password_matches', 'hotp', 'base32', 'otpauth_uri', 'password_problem',
               'password_reused', 'new_temp_password', 'group_roles', 'sync_grants',
               'end_sessions', 'record_verifier', 'set_password_internal', 'lock_internal',
               'unlock_internal', 'mfa_verified', 'is_administrator', 'require_admin',
               'is_last_admin', 'check_text', 'check_role_name', 'target_account',
               'parse_rights', 'rights_json', 'replace_rights_internal',
               'replace_areas_internal', 'create_account_internal', 'issue_totp_internal',
               'my_account', 'change_password', 'verify_totp', 'password_changed_outside',
               'lock_if_password_changed_outside'))
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$grants$;

GRANT EXECUTE ON FUNCTION sys.my_account(), sys.change_password(text, text),
    sys.verify_totp(text) TO lr_person;

GRANT USAGE ON SCHEMA admin TO lr_admin_administrator, lr_agent;
GRANT EXECUTE ON FUNCTION
    admin.create_account(text, text, text, text, text, text, text, jsonb, bigint[], boolean,
                         text, date),
    admin.set_rights(text, jsonb), admin.set_areas(text, bigint[], boolean),
    admin.lock_account(text, text), admin.unlock_account(text), admin.reset_password(text),
    admin.disable_account(text, text), admin.issue_totp(text),
    admin.create_project(text, text, text), admin.set_project_state(text, text),
    admin.set_policy(text, jsonb), admin.list_accounts()
    TO lr_admin_administrator;

GRANT EXECUTE ON FUNCTION admin.record_login_failure(name, timestamptz, inet, text),
    admin.record_login(name, timestamptz, inet), admin.enforce_policies() TO lr_agent;
GRANT SELECT (role_name) ON sys.account TO lr_agent;
GRANT SELECT, INSERT, UPDATE, DELETE ON sys.agent_log_position TO lr_agent;
