"""What a sync reports: one ``TableResult`` per table and the ``SyncReport`` of the whole run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from extract import redact
from extract.landing.batch import DiskFullError, checkpoint


@dataclass
class TableResult:
    qualified_name: str
    status: str  # ok | failed | skipped (not due by its cadence; ``reason`` says when it is)
    kind: str | None = None
    reason: str | None = None
    rows: int = 0
    upserts: int = 0
    deletes: int = 0
    bytes: int = 0
    files: int = 0
    seconds: float = 0.0
    batch_id: int | None = None
    schema_version: int | None = None
    watermark: str | None = None
    error: str | None = None
    error_type: str | None = None
    advice: str | None = None  # what to do; the summary prints each distinct advice once


@dataclass
class SyncReport:
    results: list[TableResult] = field(default_factory=list)
    seconds: float = 0.0
    # The last step failed (a full disk): DuckDB's checkpoint (the batches are safe in the
    # write-ahead log and replayed on the next open) or the lake's cd2_meta files (rebuilt from the
    # batch records next time); either way the run is not done.
    checkpoint_error: str | None = None

    @property
    def failed(self) -> list[TableResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def skipped(self) -> list[TableResult]:
        """Tables left out of the round because their cadence says they are not due yet."""
        return [r for r in self.results if r.status == "skipped"]

    @property
    def ok(self) -> bool:
        return not self.failed and self.checkpoint_error is None

    def failure_lines(self) -> list[str]:
        """The summary's lines about what failed: a line per failed table, each piece of advice
        once however many tables it concerns, the final checkpoint's failure."""
        lines = [
            f"  failed {redact.one_line(r.qualified_name)}: {r.error_type}: {redact.one_line(r.error)}"
            for r in self.failed
        ]
        advice_count: dict[str, int] = {}
        for result in self.failed:
            if result.advice:
                advice_count[result.advice] = advice_count.get(result.advice, 0) + 1
        lines += [f"  {advice} ({n} table{'s' if n > 1 else ''})" for advice, n in advice_count.items()]
        if self.checkpoint_error:
            lines.append(f"  the sync's last step failed: {self.checkpoint_error}")
        return lines

    def checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        """The DuckDB file's final checkpoint (see ``finish``)."""
        self.finish(lambda: checkpoint(con))

    def finish(self, last_step: Callable[[], None]) -> None:
        """The destination's last step (DuckDB's checkpoint, the lake's ``cd2_meta`` files); its
        failure (a full disk) is kept in the report (after the tables' results) instead of being
        raised past them."""
        try:
            last_step()
        except DiskFullError as exc:
            self.checkpoint_error = exc.line()
