"""Queries first: bulk ingest steps aside while a query is being answered.

Ingest (spaCy parsing, chunking, bulk encoding) and queries share the process's CPU and
its GIL. A CPU-bound ingest thread makes every GIL hand-back of a query's encoder wait up
to the switch interval, so a search during a large upload took about 3x its idle time.
The ingester calls `pause()` between small steps; while a query is running it waits (GIL
released) for at most `max_pause_s`, so a query waits behind at most one step and the
ingest still gets a share of the CPU under a steady stream of queries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class QueryFirst:
    def __init__(self, max_pause_s: float = 0.25) -> None:
        self.max_pause_s = max_pause_s
        self._cond = threading.Condition()
        self._active = 0

    @contextmanager
    def query(self) -> Iterator[None]:
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if not self._active:
                    self._cond.notify_all()

    def pause(self) -> float:
        """Wait while queries run (at most `max_pause_s`); returns the seconds waited."""
        if not self._active:  # the common case, without the lock
            return 0.0
        started = time.monotonic()
        with self._cond:
            self._cond.wait_for(lambda: not self._active, timeout=self.max_pause_s)
        return time.monotonic() - started
