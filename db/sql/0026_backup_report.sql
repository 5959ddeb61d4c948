-- Revision 0026: backups and restores for administrators.
--
-- `landrec backup run` writes a BACKUP event and `landrec backup restore` a RESTORE event
-- into the audit chain (app/store/backup.py). The regulations ask for a daily backup and
-- for every restore to be logged: administrators review both here, and see at a glance
-- when the newest backup was taken.

-- The period's backups and restores, newest first.
CREATE FUNCTION admin.report_backups(p_from date, p_to date)
RETURNS TABLE (logged_at timestamptz, action text, backup text, size_mb numeric,
               with_scans boolean, host text, destination text, audit_head bigint,
               actor text, reason text, authorised_by text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    p record;
BEGIN
    PERFORM sys.require_admin();
    p := sys.report_period(p_from, p_to);
    RETURN QUERY
    SELECT l.logged_at, l.action, l.target,
           round((l.detail ->> 'bytes')::numeric / 1e6, 1),
           (l.detail ->> 'with_scans')::boolean,
           l.detail ->> 'host', l.detail ->> 'destination',
           coalesce((l.detail ->> 'audit_last_id')::bigint,
                    (l.detail ->> 'audit_head_at_backup')::bigint),
           l.actor::text, l.detail ->> 'reason', l.detail ->> 'authorised_by'
    FROM audit.log l
    WHERE l.action IN ('BACKUP', 'RESTORE')
      AND l.logged_at >= p.since AND l.logged_at < p.until
    ORDER BY l.logged_at DESC, l.id DESC;
END
$fn$;

-- The newest backup and restore ever logged (NULLs when there is none).
CREATE FUNCTION admin.backup_status(
    OUT last_backup_at timestamptz, OUT last_backup text, OUT last_backup_with_scans boolean,
    OUT last_full_backup_at timestamptz, OUT last_restore_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM sys.require_admin();
    SELECT l.logged_at, l.target, (l.detail ->> 'with_scans')::boolean
    INTO last_backup_at, last_backup, last_backup_with_scans
    FROM audit.log l WHERE l.action = 'BACKUP' ORDER BY l.id DESC LIMIT 1;  -- chain order
    SELECT max(l.logged_at) INTO last_full_backup_at
    FROM audit.log l WHERE l.action = 'BACKUP' AND (l.detail ->> 'with_scans')::boolean;
    SELECT max(l.logged_at) INTO last_restore_at FROM audit.log l WHERE l.action = 'RESTORE';
END
$fn$;

REVOKE ALL ON FUNCTION admin.report_backups(date, date), admin.backup_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admin.report_backups(date, date), admin.backup_status()
TO lr_admin_administrator;
