"""Administrators see backups and restores (migration 0026): the report, the age of the
newest backup, and the warnings when the daily backup or the 6-monthly scan backup is
overdue."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import _dsn_for, admin_env, scratch_database
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.admin import api, forms
from app.plugin import PluginRegistry
from app.store import backup
from app.ui.context import UiContext
from app.ui.tasks import TaskRunner

pytestmark = pytest.mark.store

NOW = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)  # 10:00 Vietnam time


def status(**kw) -> api.BackupStatus:
    values = dict(
        last_backup_at=None, last_backup=None, last_backup_with_scans=None,
        last_full_backup_at=None, last_restore_at=None,
    )  # fmt: skip
    values.update(kw)
    return api.BackupStatus(**values)


def test_notice_says_when_a_backup_is_overdue():
    text, warning = forms.backup_notice(status(), NOW)
    assert warning and text.startswith("Chưa có bản sao lưu nào được ghi trong nhật ký")
    late = NOW - dt.timedelta(hours=30)
    text, warning = forms.backup_notice(
        status(last_backup_at=late, last_backup="b", last_full_backup_at=late), NOW
    )
    assert warning
    assert text.startswith("Bản sao lưu gần nhất lúc 24/11/2026 04:00, cách đây 30 giờ")
    fresh = NOW - dt.timedelta(hours=8)
    old_full = NOW - dt.timedelta(days=200)
    text, warning = forms.backup_notice(
        status(last_backup_at=fresh, last_backup="b", last_full_backup_at=old_full), NOW
    )
    assert warning and "Tệp hồ sơ quét chưa được sao lưu trong 6 tháng" in text
    assert "(lần gần nhất: 09/05/2026 10:00)" in text  # the last full backup, Vietnam time
    text, warning = forms.backup_notice(
        status(last_backup_at=fresh, last_backup="landrec-x", last_full_backup_at=fresh), NOW
    )
    assert not warning and text == "Bản sao lưu gần nhất: 25/11/2026 02:00 (landrec-x)."
    text, _ = forms.backup_notice(status(), NOW, lang="en")
    assert text.startswith("No backup has ever been logged")


def make_ctx(qtbot, session) -> UiContext:
    window = QWidget()
    qtbot.addWidget(window)
    return UiContext(session, "vi", PluginRegistry(), window, TaskRunner(window))


def open_backup_report(qtbot, ctx):
    from plugins.admin.views_reports import show_reports

    dialog = show_reports(ctx)
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled(), timeout=10_000)
    dialog.report.setCurrentIndex(dialog.report.findData("backups"))
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "dòng" in dialog.status.text(), timeout=10_000)
    return dialog


@pytest.fixture
def migrated_db(owner_dsn: str) -> Iterator[str]:
    """A newly migrated database of this test's own (0.8 s): no backup logged in it yet."""
    from app.store.migrate import migrate

    with scratch_database(owner_dsn, "bkreport") as dsn:
        migrate(dsn)
        yield dsn


def test_backups_and_restores_reach_the_report(qtbot, migrated_db: str, tmp_path: Path):
    key = tmp_path / "key"
    key.write_text("một cụm mật khẩu đủ dài cho sao lưu")
    key.chmod(0o600)
    dest = tmp_path / "backups"
    dest.mkdir()
    today = forms.vn_today()
    with admin_env(migrated_db, with_parcels=False) as env:
        assert env.run(api.backup_status).last_backup_at is None
        m = backup.take_backup(migrated_db, dest, key)
        names, rows = env.run(api.run_report, "backups", today, today)
        mine = [dict(zip(names, r, strict=True)) for r in rows if r[2] == m.name]
        assert len(mine) == 1
        row = mine[0]
        assert row["action"] == "BACKUP" and row["with_scans"] is True
        assert float(row["size_mb"]) == round(m.dump_bytes / 1e6, 1)
        assert row["audit_head"] == m.audit_last_id and row["destination"] == str(dest)
        got = env.run(api.backup_status)
        assert got.last_backup == m.name and got.last_full_backup_at == got.last_backup_at

        ctx = make_ctx(qtbot, env.session)
        dialog = open_backup_report(qtbot, ctx)
        assert dialog.notice.isVisibleTo(dialog) and dialog.notice.property("warning") is False
        assert dialog.notice.text().startswith("Bản sao lưu gần nhất: ")
        assert dialog.notice.text().endswith(f"({m.name}).")
        cells = dialog.model.cells[0]
        header = dialog.model.headers
        assert cells[header.index("Việc")] == "Sao lưu"
        assert cells[header.index("Gồm tệp quét")] == "Có"
        assert cells[header.index("Dung lượng (MB)")] == forms.format_decimal(row["size_mb"])
        dialog.close()

        # Only administrators with a verified second factor read it (the database checks).
        with (
            psycopg.connect(env.admin.dsn) as conn,  # no second factor in this session
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute("SELECT * FROM admin.report_backups(current_date, current_date)")

    # Restored elsewhere: the restored store's administrators see the RESTORE, and the
    # warning that no backup of the restored store exists yet.
    restored = f"restored_{uuid.uuid4().hex[:10]}"
    try:
        backup.restore_backup(
            dest / f"{m.name}.json", key, migrated_db, restored,
            reason="Kiểm tra phục hồi định kỳ", by="Lê Văn Cường",
        )  # fmt: skip
        with admin_env(_dsn_for(migrated_db, restored), with_parcels=False) as env:
            names, rows = env.run(api.run_report, "backups", today, today)
            kinds = [dict(zip(names, r, strict=True)) for r in rows]
            assert [(k["action"], k["backup"]) for k in kinds] == [("RESTORE", m.name)]
            assert kinds[0]["reason"] == "Kiểm tra phục hồi định kỳ"
            assert kinds[0]["authorised_by"] == "Lê Văn Cường"
            assert kinds[0]["audit_head"] == m.audit_last_id
            got = env.run(api.backup_status)
            assert got.last_restore_at is not None and got.last_backup_at is None
            dialog = open_backup_report(qtbot, make_ctx(qtbot, env.session))
            assert dialog.notice.property("warning") is True
            assert dialog.notice.text().startswith("Chưa có bản sao lưu nào")
            assert dialog.model.cells[0][dialog.model.headers.index("Việc")] == "Phục hồi"
            dialog.close()
    finally:
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
