"""The accounts list's text search (admin.account_page, migration 0021) is answered by a
trigram index and still matches what it matched before, LIKE wildcards taken literally."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from conftest import AdminEnv as Env
from conftest import admin_env, new_id

from app.admin import api

pytestmark = pytest.mark.store

SEARCH = "a.search_folded"


@pytest.fixture(scope="module")
def env(demo_db: str) -> Iterator[Env]:
    with admin_env(demo_db, with_parcels=False) as e:
        yield e


def create(env: Env, **kw) -> api.AccountDraft:
    values = dict(
        role_name=env.tracker.track(env.db, env.tracker.new_role_name("p")),
        person_id_number=new_id(),
        full_name="Trần Văn Bình",
        unit="Văn phòng đăng ký đất đai",
        rights={"cadastral": ["viewer"]},
        communes=list(env.communes[:1]),
    )
    values.update(kw)
    draft = api.AccountDraft(**values)
    env.run(api.create_account, draft)
    return draft


def roles(env: Env, text: str, **kw) -> list[str]:
    return [r.role_name for r in env.run(api.account_page, api.AccountFilter(text=text, **kw)).rows]


def test_text_search_matches_like_before_through_the_index(env: Env):
    tag = uuid.uuid4().hex[:8]
    unit = f"Chi nhánh VPĐK {tag}"
    plain = create(env, full_name="Lê Thị Thu Hương", unit=unit)
    odd = create(env, full_name="Đỗ Văn 50%_x", unit=unit)
    # Without diacritics, across the fields (name then ID), by ID, by user name, by unit.
    assert roles(env, "le thi thu huong " + plain.person_id_number[:4]) == [plain.role_name]
    assert roles(env, odd.person_id_number) == [odd.role_name]
    assert roles(env, plain.role_name.upper()) == [plain.role_name]
    assert sorted(roles(env, f"CHI NHÁNH vpđk {tag}")) == sorted([plain.role_name, odd.role_name])
    # LIKE's wildcards are plain characters: "50%_" finds only the name holding them.
    assert roles(env, f"50%_x {tag}") == []  # the name is followed by its ID, not the tag
    assert roles(env, "do van 50%_x") == [odd.role_name]
    assert roles(env, "do van 50x") == []
    assert roles(env, "thu%huong") == []
    assert env.run(api.account_page, api.AccountFilter(text="   ")).total >= 2  # no filter

    # The index answers the predicate the function uses (the stored folded column), and
    # the function needs no planner override: either plan reads folded text, none folds.
    with psycopg.connect(env.db) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                f"EXPLAIN SELECT a.role_name FROM sys.account a WHERE {SEARCH} LIKE '%thu huong%'"
            )
        )
        assert "account_search_trgm_idx" in plan
        conn.execute("RESET enable_seqscan")
        matches = "'sys.account_matches(text)'::regprocedure"
        config = conn.execute(f"SELECT proconfig FROM pg_proc WHERE oid = {matches}").fetchone()[0]
        assert not any(c.startswith("enable_seqscan") for c in config or [])
        body = conn.execute(f"SELECT pg_get_functiondef({matches})").fetchone()[0]
        assert "search_folded" in body and "fold_vi" not in body
        page_src = conn.execute(
            "SELECT prosrc FROM pg_proc WHERE oid = "
            "'admin.account_page(text,bigint,text,text,text,text,integer,integer)'::regprocedure"
        ).fetchone()[0]
        hits = conn.execute("SELECT sys.account_matches(%s)", ("le thi thu huong",)).fetchone()[0]
        assert plain.role_name in hits and odd.role_name not in hits
    assert "strpos" not in page_src and "sys.account_matches(v_text)" in page_src


def test_stored_search_text_follows_a_renamed_account(env: Env):
    tag = uuid.uuid4().hex[:8]
    draft = create(env, full_name="Hoàng Thị Ngọc Ánh", unit=f"Phòng {tag}")
    assert roles(env, f"hoang thi ngoc anh {draft.person_id_number}") == [draft.role_name]
    profile = api.AccountProfile(draft.person_id_number, "Hoàng Thị Ngọc Ánh Dương", f"Sở {tag}")
    changes = env.run(api.update_account, draft.role_name, profile)
    assert set(changes) == {"full_name", "unit"}  # the derived column is no "change"
    assert roles(env, f"phong {tag}") == []
    assert roles(env, f"ngoc anh duong {draft.person_id_number} so {tag}") == [draft.role_name]
