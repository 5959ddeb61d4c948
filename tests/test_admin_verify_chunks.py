"""The audit chain's integrity check in server-side steps (admin.audit_verify_start /
_step / _cancel, migration 0022), as real roles in a scratch database of its own (the
tests tamper with its log as the owner, then put it back).

The chunked run must give exactly what the one-shot audit.verify gives over the same head
(intact, from a date, an edited entry in the middle, a deleted one), write the same
AUDIT_VERIFY event from the server, refuse non-administrators and other administrators'
runs, and drive the audit viewer's progress bar and "Hủy" button.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from conftest import AdminEnv, admin_env, scratch_database, verified_session
from PySide6.QtWidgets import QWidget

from app.admin import api
from app.bench.admin import populate
from app.plugin import PluginRegistry
from app.session import Session
from app.ui.context import UiContext
from app.ui.tasks import TaskRunner
from plugins.admin.views_audit import AuditViewer

pytestmark = pytest.mark.store

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ENTRIES = 3_000


@pytest.fixture(scope="module")
def vdb(owner_dsn: str) -> Iterator[str]:
    from app.store.migrate import migrate

    with scratch_database(owner_dsn, "verify") as dsn:
        migrate(dsn)
        populate(dsn, 30, ENTRIES, lambda _m: None)  # a valid chain over the last year
        yield dsn


@pytest.fixture(scope="module")
def env(vdb: str) -> Iterator[AdminEnv]:
    with admin_env(vdb, with_parcels=False) as e:
        yield e


def one_shot(db: str, since: datetime | None = None) -> tuple:
    """audit.verify as the owner: no event written, so the head stays where it is."""
    with psycopg.connect(db) as conn:
        return conn.execute("SELECT ok, entry_id, reason, checked FROM audit.verify(%s)",
                            (since,)).fetchone()  # fmt: skip


def last_event(db: str) -> tuple:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "SELECT actor, detail FROM audit.log WHERE action = 'AUDIT_VERIFY' "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()


def run_row(db: str, run_id: int) -> tuple:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "SELECT state, checked, steps, ok, reason FROM sys.audit_verify_run WHERE id = %s",
            (run_id,),
        ).fetchone()


def test_chunks_give_the_one_shot_result(env: AdminEnv) -> None:
    half_year = datetime.now(VN) - timedelta(days=180)
    tomorrow = datetime.now(VN) + timedelta(days=1)
    for since in (None, half_year, tomorrow):
        expected = one_shot(env.db, since)
        seen: list[api.VerifyProgress] = []
        result = env.run(api.audit_verify_chunks, since, limit=700, adapt=False,
                         progress=seen.append)  # fmt: skip
        assert (result.ok, result.entry_id, result.reason, result.checked) == expected
        assert result.integrity() == api.Integrity(*expected)
        # Progress after every step, counts rising by the step size, total fixed.
        checked = [p.checked for p in seen]
        assert checked == sorted(checked) and all(p.total == seen[0].total for p in seen)
        assert [p.done for p in seen] == [False] * (len(seen) - 1) + [True]
        assert all(b - a <= 700 for a, b in zip([0, *checked], checked, strict=False))
        # The server wrote the event, as admin.audit_verify does (plus the run number).
        actor, detail = last_event(env.db)
        assert actor == env.admin.role
        assert (detail["ok"], detail["entry_id"], detail["reason"], detail["checked"]) == expected
        assert detail["run"] == result.run_id
        assert run_row(env.db, result.run_id)[:2] == ("done", result.checked)
    # The whole chain: every entry from the first to the head, intact, in 3 000 / 700 steps.
    full = env.run(api.audit_verify_chunks, limit=700, adapt=False)
    assert full.ok and full.reason == "ok" and full.checked == full.total > ENTRIES
    assert run_row(env.db, full.run_id)[2] == -(-full.total // 700) + (full.total % 700 == 0)


def test_tampered_entry_found_as_the_one_shot_finds_it(env: AdminEnv) -> None:
    with psycopg.connect(env.db, autocommit=True) as owner:
        head = owner.execute("SELECT last_id FROM audit.chain_head").fetchone()[0]
        middle = head // 2
        original = owner.execute("SELECT detail, new_row FROM audit.log WHERE id = %s",
                                 (middle,)).fetchone()  # fmt: skip
        gone = owner.execute("SELECT * FROM audit.log WHERE id = %s", (middle + 400,)).fetchone()
        owner.execute("SET session_replication_role = replica")  # past the append-only trigger
        try:
            owner.execute(
                "UPDATE audit.log SET new_row = coalesce(new_row, '{}') || '{\"area\": 1}', "
                "detail = coalesce(detail, '{}') || '{\"x\": 1}' WHERE id = %s",
                (middle,),
            )
            # Edited in the middle: the one-shot (through admin.audit_verify) and the chunks
            # agree on entry, reason and entries read.
            shot = env.run(api.audit_verify)
            assert (shot.ok, shot.entry_id, shot.reason) == (False, middle, "edited")
            chunks = env.run(api.audit_verify_chunks, limit=333, adapt=False)
            assert chunks.integrity() == shot
            assert last_event(env.db)[1]["entry_id"] == middle
            # Deleted further on (the edit put back): both say "deleted" at the same id.
            owner.execute("UPDATE audit.log SET detail = %s, new_row = %s WHERE id = %s",
                          (*[psycopg.types.json.Jsonb(v) if v is not None else None
                             for v in original], middle))  # fmt: skip
            owner.execute("DELETE FROM audit.log WHERE id = %s", (middle + 400,))
            shot = env.run(api.audit_verify)
            assert (shot.ok, shot.entry_id, shot.reason) == (False, middle + 400, "deleted")
            assert env.run(api.audit_verify_chunks, limit=333, adapt=False).integrity() == shot
        finally:
            owner.execute("UPDATE audit.log SET detail = %s, new_row = %s WHERE id = %s",
                          (*[psycopg.types.json.Jsonb(v) if v is not None else None
                             for v in original], middle))  # fmt: skip
            if not owner.execute("SELECT 1 FROM audit.log WHERE id = %s",
                                 (middle + 400,)).fetchone():  # fmt: skip
                cols = [
                    d.name for d in owner.execute("SELECT * FROM audit.log LIMIT 0").description
                ]
                owner.execute(
                    f"INSERT INTO audit.log ({', '.join(cols)}) VALUES "
                    f"({', '.join(['%s'] * len(cols))})",
                    [psycopg.types.json.Jsonb(v) if isinstance(v, (dict, list)) else v
                     for v in gone],
                )  # fmt: skip
            owner.execute("SET session_replication_role = origin")
    assert env.run(api.audit_verify_chunks).ok  # put back whole


def test_cancel_writes_a_cancelled_event_and_claims_nothing(env: AdminEnv) -> None:
    asked = []
    result = env.run(api.audit_verify_chunks, limit=500, adapt=False,
                     progress=asked.append, cancelled=lambda: len(asked) >= 2)  # fmt: skip
    assert result.done and result.cancelled and result.ok is None
    assert result.integrity() is None and result.checked == 1_000
    assert run_row(env.db, result.run_id) == ("cancelled", 1_000, 2, None, None)
    actor, detail = last_event(env.db)
    assert actor == env.admin.role
    assert detail["reason"] == "cancelled" and detail["ok"] is None
    assert detail["checked"] == 1_000 and detail["run"] == result.run_id
    # A step on a cancelled run moves nothing and says so; cancelling again is a no-op.
    again = env.run(api.audit_verify_step, result.run_id, 500)
    assert (again.done, again.reason, again.checked) == (True, "cancelled", 1_000)
    assert env.run(api.audit_verify_cancel, result.run_id) is False
    # Bad step sizes are refused with a sentence.
    run = env.run(api.audit_verify_start)
    with pytest.raises(api.AdminError) as bad:
        env.run(api.audit_verify_step, run.run_id, 0)
    assert bad.value.sqlstate == "22023" and "mỗi bước" in bad.value.message
    assert env.run(api.audit_verify_cancel, run.run_id) is True


def test_only_the_starting_administrator_continues_a_run(env: AdminEnv, person_factory) -> None:
    run = env.run(api.audit_verify_start)
    step = env.run(api.audit_verify_step, run.run_id, 300)
    assert step.checked == 300 and not step.done
    other = env.tracker.administrator(env.db)
    session: Session = verified_session(env.db, other)
    try:
        for fn in (lambda c: api.audit_verify_step(c, run.run_id, 300),
                   lambda c: api.audit_verify_cancel(c, run.run_id)):  # fmt: skip
            with pytest.raises(api.AdminError) as refused:
                session.run(fn)
            assert refused.value.denied and "quản trị viên khác" in refused.value.message
        assert run_row(env.db, run.run_id)[:3] == ("running", 300, 1)
        # The owner of the run goes on where it was.
        assert env.run(api.audit_verify_step, run.run_id, 300).checked == 600
    finally:
        session.close()
    # A person without the administrator right is refused by the database itself.
    clerk = person_factory(env.db, rights={"cadastral": ["viewer"]}, whole_province=True)
    with psycopg.connect(clerk.dsn, autocommit=True) as conn:
        for sql, args in (("SELECT * FROM admin.audit_verify_start(NULL)", ()),
                          ("SELECT * FROM admin.audit_verify_step(%s, 100)", (run.run_id,)),
                          ("SELECT admin.audit_verify_cancel(%s)", (run.run_id,)),
                          ("SELECT * FROM sys.audit_verify_run", ())):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql, args)
    # An administrator whose second factor is not verified in this session: refused too.
    with psycopg.connect(other.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as no_mfa:
            conn.execute("SELECT * FROM admin.audit_verify_step(%s, 100)", (run.run_id,))
        assert "hai lớp" in no_mfa.value.diag.message_primary
    assert env.run(api.audit_verify_cancel, run.run_id) is True


# --- the audit viewer -----------------------------------------------------------------------
def make_viewer(qtbot, env: AdminEnv) -> AuditViewer:
    window = QWidget()
    qtbot.addWidget(window)
    ctx = UiContext(env.session, "vi", PluginRegistry(), window, TaskRunner(window))
    viewer = AuditViewer(ctx, window)
    viewer.verify_step = 150  # many short steps over the 3 000-entry log
    viewer.verify_adapt = False
    viewer.show()
    return viewer


def test_viewer_verifies_with_progress_and_cancel(qtbot, env: AdminEnv) -> None:
    viewer = make_viewer(qtbot, env)
    # 1. A run cancelled after its second step: stops at the next step, claims nothing.
    original = viewer._stepped

    def stepped(result) -> None:
        original(result)
        if len(viewer.verify_values) == 2:
            viewer.cancel_button.click()

    viewer._stepped = stepped  # type: ignore[method-assign]
    viewer.verify_button.click()
    assert not viewer.verify_button.isEnabled()
    assert viewer.verify_bar.isHidden()  # shown only after a second
    qtbot.waitUntil(lambda: viewer.verify_state == "cancelled", timeout=10_000)
    # The step on the wire when "Hủy" was clicked finished; no step after it.
    assert len(viewer.verify_values) == 3 and viewer.verify_values == sorted(viewer.verify_values)
    assert 0 < viewer.verify_values[-1] < 1000
    text = viewer.verify_label.text()
    assert text.startswith("Đã hủy kiểm tra sau 450 / ") and "toàn vẹn" not in text
    assert viewer.integrity is None and viewer.verify_button.isEnabled()
    assert viewer.verify_bar.isHidden() and viewer.cancel_button.isHidden()
    actor, detail = last_event(env.db)
    assert actor == env.admin.role
    assert (detail["reason"], detail["checked"]) == ("cancelled", 450)
    assert run_row(env.db, detail["run"])[:2] == ("cancelled", 450)

    # 2. A complete run: the bar appears after its delay, values rise to the end.
    viewer._stepped = original  # type: ignore[method-assign]
    viewer._show_progress.setInterval(30)
    expected = one_shot(env.db)
    viewer.verify_button.click()
    qtbot.waitUntil(lambda: viewer.verify_bar.isVisible(), timeout=5_000)
    assert viewer.cancel_button.isVisible() and viewer.verify_label.text().startswith(
        "Đã kiểm tra "
    )
    qtbot.waitUntil(lambda: viewer.verify_state == "done", timeout=20_000)
    values = viewer.verify_values
    assert len(values) >= ENTRIES // 150 and values == sorted(values) and values[-1] == 1000
    assert len(set(values)) > 10  # it moved
    r = viewer.integrity
    assert r is not None and (r.ok, r.entry_id, r.reason, r.checked) == expected
    n = f"{r.checked:,}".replace(",", ".")
    assert viewer.verify_label.text() == (
        f"Nhật ký toàn vẹn: đã kiểm tra {n} bản ghi (đến bản ghi số {r.entry_id})."
    )
    assert viewer.verify_bar.isHidden() and viewer.cancel_button.isHidden()

    # 3. Closed in the middle of a run: the run is cancelled on the server, not left open.
    viewer.verify_button.click()
    qtbot.waitUntil(lambda: len(viewer.verify_values) >= 1, timeout=5_000)
    run_id = viewer._run.run_id
    viewer.close()
    qtbot.waitUntil(lambda: run_row(env.db, run_id)[0] == "cancelled", timeout=5_000)


# --- the rights dialog's account chooser ----------------------------------------------------
def test_rights_dialog_finds_accounts_by_server_search(qtbot, env: AdminEnv, monkeypatch) -> None:
    from PySide6.QtTest import QTest

    from plugins.admin import views_rights
    from plugins.admin.views_rights import RightsDialog

    role = env.tracker.track(env.db, env.tracker.new_role_name("huong"))
    with psycopg.connect(env.db, autocommit=True) as owner:
        owner.execute(
            "SELECT sys.create_account_internal(%s, '079188001234', 'Đặng Thị Hường', "
            "'Chi nhánh VPĐK đất đai Bù Đăng', NULL, NULL, NULL, "
            '\'{"cadastral": ["viewer", "editor"]}\', NULL, true, NULL, NULL)',
            (role,),
        )
    asked: list[api.AccountFilter] = []
    real_page = api.account_page

    def counting(conn, f: api.AccountFilter) -> api.AccountPage:
        asked.append(f)
        return real_page(conn, f)

    monkeypatch.setattr(api, "account_page", counting)
    window = QWidget()
    qtbot.addWidget(window)
    ctx = UiContext(env.session, "vi", PluginRegistry(), window, TaskRunner(window))
    dialog = RightsDialog(ctx, None, window)
    dialog.show()
    dialog.load()
    # Opening asks for one short page (not every account): 20 shown of the 30+ accounts.
    qtbot.waitUntil(lambda: dialog.account_list.count() > 0, timeout=10_000)
    assert [(f.text, f.limit) for f in asked] == [(None, views_rights.SEARCH_LIMIT + 1)]
    assert dialog.account_list.count() == views_rights.SEARCH_LIMIT
    assert "gõ thêm để thu hẹp" in dialog.account_hint.text()

    # Typing a name without diacritics: one request after the burst of keys, one match.
    QTest.keyClicks(dialog.account_search, "dang thi huong")
    qtbot.waitUntil(lambda: len(asked) == 2 and dialog.account_list.count() == 1, timeout=5_000)
    qtbot.wait(views_rights.SEARCH_DELAY_MS + 100)
    assert [f.text for f in asked] == [None, "dang thi huong"]
    item = dialog.account_list.item(0)
    assert (
        item.text() == f"Đặng Thị Hường — {role} · Xem và cập nhật (Chi nhánh VPĐK đất đai Bù Đăng)"
    )
    assert dialog.account_hint.text() == "1 tài khoản khớp."
    # Choosing it loads its rights and area into the editor.
    assert dialog.choose(role)
    assert dialog.role() == role
    assert dialog.editor.boxes[("cadastral", "editor")].isChecked()
    assert dialog.editor.boxes[("cadastral", "viewer")].isChecked()
    assert not dialog.editor.boxes[("planning", "viewer")].isChecked()
    assert dialog.editor.whole.isChecked()
    assert "Đặng Thị Hường" in dialog.chosen_label.text()

    # Many matches: "nguyen van thu" (the 30 accounts "Nguyễn Văn Thử n") → 20 shown.
    dialog.account_search.clear()
    QTest.keyClicks(dialog.account_search, "nguyen van thu")
    qtbot.waitUntil(lambda: len(asked) == 3, timeout=5_000)
    qtbot.waitUntil(lambda: dialog.account_list.count() == views_rights.SEARCH_LIMIT, timeout=5_000)
    assert all("Nguyễn Văn Thử" in dialog.account_list.item(i).text()
               for i in range(dialog.account_list.count()))  # fmt: skip
    assert dialog.account_hint.text().startswith("30 tài khoản khớp; hiện 20 đầu tiên")
    assert dialog.role() == role  # the chosen account stays until another is chosen

    # Opened for a given account (from the accounts window): that one is chosen.
    asked.clear()
    other = RightsDialog(ctx, role, window)
    other.show()
    other.load()
    qtbot.waitUntil(lambda: other.role() == role, timeout=10_000)
    assert len(asked) == 1 and asked[0].text == role
    assert other.editor.whole.isChecked()
