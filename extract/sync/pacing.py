"""The gates of a sync's plan, shared by its table threads (see ``extract.sync.runner``).

* **Turns**: each table's first job is created in the plan's order: a table waits until every
  table before it has posted its first job (or dropped out), then posts, and the turn passes.
  Jobs posted again (a new snapshot, a damaged file, an expired job) take no turn.
* **Jobs in flight**: at most ``max_jobs`` jobs between their POST and their end (complete or
  failed); the table whose turn it is waits for a slot, holding its turn.
* **Files**: at most ``max_tables_with_files`` tables between their first download and the end of
  their landing (their files are on disk), so the disk the downloads take stays bounded. A slot is
  taken after the job completes and before its object URLs are asked for (a waiting table holds
  no URL that could expire), and released when its files are removed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

UNBOUNDED = 1 << 30


class Pacer:
    def __init__(
        self,
        order: Sequence[str] = (),
        max_jobs: int = UNBOUNDED,
        max_tables_with_files: int = UNBOUNDED,
        on_turn: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._order = list(order)
        self._next = 0  # the first table in the order that has not passed its turn
        self._passed: set[str] = set()
        self._turn_started: dict[str, float] = {}
        self._turns = threading.Condition()
        self._jobs = threading.Semaphore(max_jobs)
        self._files = threading.Semaphore(max_tables_with_files)
        self._holding_files: set[str] = set()
        self._files_lock = threading.Lock()
        self._on_turn = on_turn
        self._clock = clock

    # ---- turns and jobs --------------------------------------------------------------------------
    @contextmanager
    def job(self, qname: str) -> Iterator[None]:
        """A slot for one job of ``qname``, from before its POST to its end (the block's end). The
        table's first job waits for its turn first; call ``posted`` once the POST has returned."""
        self._wait_turn(qname)
        self._jobs.acquire()
        try:
            yield
        finally:
            self._jobs.release()
            self.posted(qname)

    def posted(self, qname: str) -> None:
        """``qname`` has posted its first job (or will post none: it is done, or failed before): the
        next table's turn. Idempotent."""
        with self._turns:
            if qname in self._passed:
                return
            self._passed.add(qname)
            while self._next < len(self._order) and self._order[self._next] in self._passed:
                self._next += 1
            self._turns.notify_all()

    leave = posted

    def turn_started(self, qname: str) -> float | None:
        """When ``qname``'s turn came (``clock``), None before."""
        with self._turns:
            return self._turn_started.get(qname)

    def _wait_turn(self, qname: str) -> None:
        with self._turns:
            if qname in self._passed or qname not in self._order:
                return
            self._turns.wait_for(lambda: self._order[self._next] == qname)
            first = qname not in self._turn_started
            self._turn_started.setdefault(qname, self._clock())
        if first and self._on_turn is not None:
            self._on_turn(qname)

    # ---- files on disk -----------------------------------------------------------------------------
    def hold_files(self, qname: str) -> None:
        """Wait for a files slot for ``qname`` (at once if it holds one already)."""
        with self._files_lock:
            if qname in self._holding_files:
                return
        self._files.acquire()
        with self._files_lock:
            self._holding_files.add(qname)

    def release_files(self, qname: str) -> None:
        """Give back ``qname``'s files slot, if it holds one."""
        with self._files_lock:
            if qname not in self._holding_files:
                return
            self._holding_files.discard(qname)
        self._files.release()
