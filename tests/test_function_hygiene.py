"""Every SECURITY DEFINER function of the schema, whichever migration wrote it, keeps the
rules that make definer functions safe (DESIGN P2: "never SECURITY DEFINER without SET
search_path"): a fixed search_path with pg_catalog first and pg_temp last, no schema in it
that a person may create objects in, and no EXECUTE for PUBLIC (grants go to lr_* roles).
A later migration that forgets one of them fails here."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.store

SCHEMAS = ("api", "admin", "sys", "audit", "hist", "cad", "doc", "doc_blob", "ref", "price",
           "plan", "inv")  # fmt: skip


def definer_functions(dsn: str) -> list[tuple[str, list[str] | None, bool]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT format('%%s.%%s(%%s)', n.nspname, p.proname,"
            "              pg_get_function_identity_arguments(p.oid)),"
            "       p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE')"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.prosecdef AND n.nspname = ANY (%s) ORDER BY 1",
            (list(SCHEMAS),),
        ).fetchall()


def search_path(config: list[str] | None) -> list[str] | None:
    for setting in config or []:
        if setting.startswith("search_path="):
            return [s.strip().strip('"') for s in setting.split("=", 1)[1].split(",")]
    return None


def test_definer_functions_fix_a_safe_search_path(migrated_db: str):
    functions = definer_functions(migrated_db)
    assert len(functions) > 150  # the API is there: the checks below are not vacuous
    unset = [name for name, config, _ in functions if search_path(config) is None]
    assert unset == []
    badly_ordered = [
        (name, path)
        for name, config, _ in functions
        if (path := search_path(config))[0] != "pg_catalog" or path[-1] != "pg_temp"
    ]
    assert badly_ordered == []  # pg_temp not listed would be searched first
    schemas = {s for _, config, _ in functions for s in search_path(config) if s != "pg_temp"}
    with psycopg.connect(migrated_db) as conn:
        writable = [
            (role, schema)
            for (role,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname ~ '^lr_'")
            for schema in sorted(schemas)
            if conn.execute(
                "SELECT has_schema_privilege(%s, %s, 'CREATE')", (role, schema)
            ).fetchone()[0]
        ]
    assert writable == []  # nobody can plant a look-alike object on that path


# The row-level-security helpers answer only about the caller, so any role may ask (0004):
# a role outside the account model then sees no rows instead of an error.
ABOUT_THE_CALLER = [
    "sys.has_right(p_subsystem text, p_kind text)",
    "sys.my_units()",
    "sys.sees_whole_province()",
]


def test_no_definer_function_is_executable_by_public(migrated_db: str):
    public = [name for name, _, executable in definer_functions(migrated_db) if executable]
    assert public == ABOUT_THE_CALLER
