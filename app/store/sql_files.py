"""Run the SQL files of db/sql from Alembic revisions (the SQL is the source of truth)."""

from __future__ import annotations

from alembic import op

from app.config import DB_DIR


def run_sql_file(name: str, substitutions: dict[str, str] | None = None) -> None:
    sql = (DB_DIR / "sql" / name).read_text(encoding="utf-8")
    for key, value in (substitutions or {}).items():
        sql = sql.replace(key, value)
    # Straight to psycopg: without parameters it sends the script as is ('%' included).
    op.get_bind().connection.driver_connection.execute(sql)
