"""The served app's start-up: the index's look-ups warmed, then the heap frozen for the collector
(heap.py): a full collection over 0.7 million start-up objects held every request for 0.5 s."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator

import pytest

from qa_service.api.app import settle
from qa_service.config import Settings
from qa_service.errors import DependencyUnavailable


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # later tests' garbage stays collectable


class Warmable:
    def __init__(self, error: Exception | None = None) -> None:
        self.warmed = 0
        self.frozen_when_warmed: list[int] = []
        self.error = error

    def warm_up(self) -> None:
        self.warmed += 1
        self.frozen_when_warmed.append(gc.get_freeze_count())
        if self.error is not None:
            raise self.error


def test_settle_warms_then_freezes(thawed: None, tmp_path) -> None:
    service = Warmable()
    settle(service, Settings(index_dir=tmp_path))  # type: ignore[arg-type]
    assert service.warmed == 1 and service.frozen_when_warmed == [0]  # warmed first, then frozen
    assert gc.get_freeze_count() > 0


def test_settle_can_be_turned_off(thawed: None, tmp_path) -> None:
    service = Warmable()
    settle(service, Settings(index_dir=tmp_path, freeze_heap=False))  # type: ignore[arg-type]
    assert service.warmed == 0
    assert gc.get_freeze_count() == 0


def test_a_failed_warm_up_is_logged_and_start_up_goes_on(thawed: None, tmp_path, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="qa_service.api.app"):
        settle(Warmable(RuntimeError("broken")), Settings(index_dir=tmp_path))  # type: ignore[arg-type]
    assert "warming the index's look-ups failed" in caplog.text
    assert gc.get_freeze_count() > 0


def test_an_unavailable_dependency_during_warm_up_keeps_the_built_service(thawed: None, tmp_path, caplog) -> None:
    # Raising would make the app build everything again; the service is kept and /readyz reports Chroma.
    with caplog.at_level(logging.WARNING, logger="qa_service.api.app"):
        settle(Warmable(DependencyUnavailable("Chroma", "connection refused")), Settings(index_dir=tmp_path))  # type: ignore[arg-type]
    assert "warming the index's look-ups failed: Chroma is unavailable" in caplog.text
    assert gc.get_freeze_count() > 0


def test_warm_up_builds_what_the_first_question_would(sample_service, embedder) -> None:
    """A fresh service over the real sample index: its actor directory and the positions layer's
    name keys exist after warm_up, before any question."""
    from qa_service.service import build_service

    fresh = build_service(sample_service.settings, embedder=embedder)
    assert fresh.judge.actors is not None and fresh.judge.actors._index is None
    assert fresh.positions._keys is None
    conversations = len(fresh.conversations.recent(limit=500))
    fresh.warm_up()
    assert fresh.judge.actors._index is not None
    assert len(fresh.judge.actors._index.records) > 0
    assert fresh.positions._keys is not None
    assert len(fresh.conversations.recent(limit=500)) == conversations  # nothing stored
