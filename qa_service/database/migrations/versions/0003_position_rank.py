"""pos_position_rank: each position's date and words in a narrow row, for ranking an actor's positions.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pos_position_rank",
        sa.Column("pos", _ID, primary_key=True, autoincrement=False),
        sa.Column("published", sa.Text(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
    )
    # The positions stored before: their words from pos_position_words (in any order; read as a set).
    joined = "string_agg(w.word, ' ')" if op.get_bind().dialect.name == "postgresql" else "group_concat(w.word, ' ')"
    op.execute(
        "INSERT INTO pos_position_rank (pos, published, words) "
        f"SELECT p.id, p.published, COALESCE((SELECT {joined} FROM pos_position_words w WHERE w.pos = p.id), '') "
        "FROM pos_positions p"
    )


def downgrade() -> None:
    op.drop_table("pos_position_rank")
