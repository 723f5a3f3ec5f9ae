"""Every table of the service's own state, in one MetaData (what the migrations create).

Migrations under migrations/versions/ are written by hand from these definitions; a test
checks that the database they build matches this MetaData (alembic's compare_metadata).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql

metadata = MetaData()

# --- conversations, feedback, Slack event ids, upload jobs (migration 0001) ---
# Times are Unix seconds (Float); JSON is kept as Text (the stores encode it, both dialects read it).

conversations = Table(
    "conversations", metadata,
    Column("id", Text, primary_key=True),
    Column("updated", Float, nullable=False),  # last turn: eviction drops the oldest, pages list newest first
    Column("title", Text),  # the first question
    Index("ix_conversations_updated", "updated"),
)

conversation_turns = Table(
    "conversation_turns", metadata,
    Column("conversation_id", Text, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("role", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("extra", Text),  # JSON object of extra keys (e.g. the standalone question)
)

# The full record of an answer (citations, closest paragraphs), beside its assistant turn.
conversation_answers = Table(
    "conversation_answers", metadata,
    Column("conversation_id", Text, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", Text, nullable=False),  # JSON
)

# Answers the Slack bot posted, and the votes on them.
feedback_answers = Table(
    "feedback_answers", metadata,
    Column("answer_id", Text, primary_key=True),
    Column("created", Float, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("abstained", Boolean, nullable=False),
    Column("citations", Text, nullable=False),  # JSON list
    Column("channel", Text),
    Column("thread_ts", Text),
    Column("user", Text),
)

feedback_ratings = Table(
    "feedback_ratings", metadata,
    Column("answer_id", Text, ForeignKey("feedback_answers.answer_id", ondelete="CASCADE"), primary_key=True),
    Column("user", Text, primary_key=True),
    Column("rating", Text, nullable=False),
    Column("created", Float, nullable=False),  # the export orders by it
    CheckConstraint("rating IN ('helpful', 'not_helpful')", name="ck_feedback_ratings_rating"),
    Index("ix_feedback_ratings_created", "created"),
)

# Slack event ids already answered (a retry reaching any replica is dropped), pruned after a TTL.
seen_events = Table(
    "seen_events", metadata,
    Column("event_id", Text, primary_key=True),
    Column("seen", Float, nullable=False),
    Index("ix_seen_events_seen", "seen"),
)

# Background upload jobs: the queue and worker are in one process, the record is here so any
# replica answers GET /api/jobs/{id}; `owner` refreshes `heartbeat` while the job is alive.
jobs = Table(
    "jobs", metadata,
    Column("job_id", Text, primary_key=True),
    Column("filename", Text, nullable=False),
    Column("replace", Boolean, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("created", Float, nullable=False),
    Column("started", Float),
    Column("finished", Float),
    Column("status", Text, nullable=False),
    Column("articles_done", Integer, nullable=False),
    Column("articles_total", Integer, nullable=False),
    Column("chunks_done", Integer, nullable=False),
    Column("chunks_total", Integer, nullable=False),
    Column("result", Text),  # JSON of the ingest's report, once it ran to its end
    Column("error", Text),  # JSON {type, qa, message}, when it raised
    Column("owner", Text, nullable=False),  # the process running it
    Column("heartbeat", Float, nullable=False),
    CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_status"),
    Index("ix_jobs_created", "created"),
)

# --- positions and events (migration 0002) ---
# Prefixed pos_: one namespace with the tables above (index names too, per schema on PostgreSQL).
# The records stay JSON in `data`; the other columns and the side tables hold what reads filter
# and order on. Ids grow in insertion order: ties in every listing go to the entry stored first.

# BIGINT identity on PostgreSQL (a re-ingest takes new ids); on SQLite the rowid alias, which a
# BIGINT primary key would not be.
PosId = BigInteger().with_variant(Integer(), "sqlite")
# Columns listings are ordered by (ISO dates) compare byte-wise on PostgreSQL too, as on SQLite,
# whatever the database's locale.
SortText = Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")

# key "generation": bumped by every write, read per request by the answering chain's caches.
pos_meta = Table(
    "pos_meta", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Integer, nullable=False),
)

pos_articles = Table(
    "pos_articles", metadata,
    Column("article_id", Text, primary_key=True),
    Column("content_hash", Text, nullable=False),
    Column("extractor", Text, nullable=False),
    Column("title", Text),
    Column("published", Text),
)

pos_actors = Table(
    "pos_actors", metadata,
    Column("id", PosId, primary_key=True, autoincrement=True),
    Column("article_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("data", Text, nullable=False),  # ActorRecord JSON
    Column("kind", Text, nullable=False),
    Column("role", Text),
    Index("ix_pos_actors_article", "article_id"),
    Index("ix_pos_actors_name", "name"),
)

pos_positions = Table(
    "pos_positions", metadata,
    Column("id", PosId, primary_key=True, autoincrement=True),
    Column("article_id", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("keys", Text, nullable=False),  # JSON list of the actor's match keys
    Column("published", SortText, nullable=False),  # "" when undated: first, as NULL was on SQLite
    Column("data", Text, nullable=False),  # Position JSON
    Column("paragraph_id", Text, nullable=False),
    Column("start", Integer, nullable=False),
    Column("topic", Text),
    Column("topic_lc", Text),
    Column("stance_lc", Text, nullable=False),
    Index("ix_pos_positions_article", "article_id"),
    Index("ix_pos_positions_order", "published", "id"),
)

pos_events = Table(
    "pos_events", metadata,
    Column("id", PosId, primary_key=True, autoincrement=True),
    Column("article_id", Text, nullable=False),
    Column("sort_date", SortText, nullable=False),
    Column("keys", Text, nullable=False),  # JSON list: the event's actors, their aliases and affiliations
    Column("data", Text, nullable=False),  # Event JSON
    Column("paragraph_id", Text, nullable=False),
    Column("yearless", Integer, nullable=False),  # 1: "--12-03", listed after the dated ones
    Column("desc_len", Integer, nullable=False),
    Column("topic_lc", Text),
    Column("desc_lc", Text, nullable=False),
    Column("quote_lc", Text, nullable=False),
    Index("ix_pos_events_article", "article_id"),
    Index("ix_pos_events_order", "yearless", "sort_date", "id"),
    Index("ix_pos_events_paragraph", "paragraph_id"),
)

# For find_actors, one row per distinct (key, name), counted over the actor rows holding it, so a
# name every article mentions is still one row: name keys (names, aliases, surname), affiliations,
# and each name's merged record (first row's kind, aliases in order of appearance).
pos_name_keys = Table(
    "pos_name_keys", metadata,
    Column("key", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("words", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_pos_name_keys_words", "words"),
)

pos_group_keys = Table(
    "pos_group_keys", metadata,
    Column("key", Text, primary_key=True),
    Column("affiliation", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("words", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_pos_group_keys_words", "words"),
)

pos_actor_forms = Table(
    "pos_actor_forms", metadata,
    Column("name", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("aliases", Text, nullable=False),  # JSON list
)

# Every whole-word span of an entry's actor keys: "rutte" and "mark rutte" for "mark rutte".
pos_position_terms = Table(
    "pos_position_terms", metadata,
    Column("term", Text, nullable=False),
    Column("pos", PosId, nullable=False),
    Index("ix_pos_position_terms_term", "term", "pos"),
    Index("ix_pos_position_terms_pos", "pos"),
)

# own = 1: the span is of the event's own actors (not of their aliases or affiliations).
pos_event_terms = Table(
    "pos_event_terms", metadata,
    Column("term", Text, nullable=False),
    Column("event", PosId, nullable=False),
    Column("own", Integer, nullable=False),
    Index("ix_pos_event_terms_term", "term", "own", "event"),
    Index("ix_pos_event_terms_event", "event"),
)

# Content words: of a position's topic and stance, of an event's description and date (weight 1)
# and its sentence (0.5 more).
pos_position_words = Table(
    "pos_position_words", metadata,
    Column("pos", PosId, primary_key=True, autoincrement=False),
    Column("word", Text, primary_key=True),
)

# What best_position ranks a position by (its date, its topic and stance words), in a narrow row of its
# own: read through pos_positions' wide rows and pos_position_words, an actor's 2,000 positions took 19 ms.
pos_position_rank = Table(
    "pos_position_rank", metadata,
    Column("pos", PosId, primary_key=True, autoincrement=False),
    Column("published", Text, nullable=False),
    Column("words", Text, nullable=False),  # space-separated
)

pos_event_words = Table(
    "pos_event_words", metadata,
    Column("event", PosId, primary_key=True, autoincrement=False),
    Column("word", Text, primary_key=True),
    Column("weight", Float, nullable=False),
    Index("ix_pos_event_words_word", "word", "event", "weight"),
)
