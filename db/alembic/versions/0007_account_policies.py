"""Account policies, administrators' API, failed-login lockout, TOTP second factor.

Loads db/ref/common_passwords.txt into sys.common_password.

Revision ID: 0007
"""

from pathlib import Path

from alembic import op
from sqlalchemy import text

from app.store.sql_files import run_sql_file

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

COMMON_PASSWORDS = Path(__file__).resolve().parents[2] / "ref" / "common_passwords.txt"


def read_common_passwords() -> list[str]:
    words = []
    for line in COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines():
        word = line.strip().lower()
        if word and not word.startswith("#"):
            words.append(word)
    return sorted(set(words))


def upgrade() -> None:
    run_sql_file("0007_account_policies.sql")
    op.get_bind().execute(
        text("INSERT INTO sys.common_password (password) VALUES (:p) ON CONFLICT DO NOTHING"),
        [{"p": w} for w in read_common_passwords()],
    )


def downgrade() -> None:
    raise NotImplementedError("LandRec migrations are forward-only; restore a backup instead")
