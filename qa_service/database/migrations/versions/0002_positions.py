"""Positions and events: the records, their order columns and the side tables reads filter on.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# As in tables.py at this revision (a migration never imports the current definitions).
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SORT_TEXT = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")

_INDEXES = [
    ("ix_pos_actors_article", "pos_actors", ["article_id"]),
    ("ix_pos_actors_name", "pos_actors", ["name"]),
    ("ix_pos_positions_article", "pos_positions", ["article_id"]),
    ("ix_pos_positions_order", "pos_positions", ["published", "id"]),
    ("ix_pos_events_article", "pos_events", ["article_id"]),
    ("ix_pos_events_order", "pos_events", ["yearless", "sort_date", "id"]),
    ("ix_pos_events_paragraph", "pos_events", ["paragraph_id"]),
    ("ix_pos_name_keys_words", "pos_name_keys", ["words"]),
    ("ix_pos_group_keys_words", "pos_group_keys", ["words"]),
    ("ix_pos_position_terms_term", "pos_position_terms", ["term", "pos"]),
    ("ix_pos_position_terms_pos", "pos_position_terms", ["pos"]),
    ("ix_pos_event_terms_term", "pos_event_terms", ["term", "own", "event"]),
    ("ix_pos_event_terms_event", "pos_event_terms", ["event"]),
    ("ix_pos_event_words_word", "pos_event_words", ["word", "event", "weight"]),
]


def upgrade() -> None:
    op.create_table(
        "pos_meta",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pos_articles",
        sa.Column("article_id", sa.Text(), primary_key=True),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("extractor", sa.Text(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("published", sa.Text()),
    )
    op.create_table(
        "pos_actors",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("role", sa.Text()),
    )
    op.create_table(
        "pos_positions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("published", _SORT_TEXT, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("paragraph_id", sa.Text(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("topic", sa.Text()),
        sa.Column("topic_lc", sa.Text()),
        sa.Column("stance_lc", sa.Text(), nullable=False),
    )
    op.create_table(
        "pos_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.Text(), nullable=False),
        sa.Column("sort_date", _SORT_TEXT, nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("paragraph_id", sa.Text(), nullable=False),
        sa.Column("yearless", sa.Integer(), nullable=False),
        sa.Column("desc_len", sa.Integer(), nullable=False),
        sa.Column("topic_lc", sa.Text()),
        sa.Column("desc_lc", sa.Text(), nullable=False),
        sa.Column("quote_lc", sa.Text(), nullable=False),
    )
    op.create_table(
        "pos_name_keys",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pos_group_keys",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("affiliation", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pos_actor_forms",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
    )
    op.create_table(
        "pos_position_terms",
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("pos", _ID, nullable=False),
    )
    op.create_table(
        "pos_event_terms",
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("event", _ID, nullable=False),
        sa.Column("own", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pos_position_words",
        sa.Column("pos", _ID, primary_key=True, autoincrement=False),
        sa.Column("word", sa.Text(), primary_key=True),
    )
    op.create_table(
        "pos_event_words",
        sa.Column("event", _ID, primary_key=True, autoincrement=False),
        sa.Column("word", sa.Text(), primary_key=True),
        sa.Column("weight", sa.Float(), nullable=False),
    )
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    for table in ("pos_event_words", "pos_position_words", "pos_event_terms", "pos_position_terms",
                  "pos_actor_forms", "pos_group_keys", "pos_name_keys", "pos_events", "pos_positions",
                  "pos_actors", "pos_articles", "pos_meta"):
        op.drop_table(table)
