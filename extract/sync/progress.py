"""How a sync reports what it does: progress bars on a terminal, log lines otherwise.

``RichReporter`` draws one bar per table in flight (job state, files downloaded, landing)
and an overall bar; ``LogReporter`` writes one line per event through ``logging`` (plain or
JSON, see ``extract.logs``). Neither ever sees a URL, token or secret.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

from rich.markup import escape

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from extract.sync.results import TableResult

log = logging.getLogger("cd2.sync")


class Reporter(Protocol):
    def start(self, total_tables: int) -> None: ...
    def table_started(self, qname: str) -> None: ...
    def job_state(self, qname: str, status: str) -> None: ...
    def file_downloaded(self, qname: str, size: int) -> None: ...
    def landing(self, qname: str) -> None: ...
    def note(self, qname: str, message: str) -> None: ...
    def table_done(self, result: TableResult) -> None: ...
    def stop(self) -> None: ...


class LogReporter:
    """One log line per meaningful event (for cron, CI and files)."""

    def start(self, total_tables: int) -> None:
        log.info("sync started: %d tables", total_tables)

    def table_started(self, qname: str) -> None:
        log.debug("%s: started", qname)

    def job_state(self, qname: str, status: str) -> None:
        log.debug("%s: job %s", qname, status)

    def file_downloaded(self, qname: str, size: int) -> None:
        log.debug("%s: downloaded a file of %d bytes", qname, size)

    def landing(self, qname: str) -> None:
        log.debug("%s: landing", qname)

    def note(self, qname: str, message: str) -> None:
        log.warning("%s: %s", qname, message)

    def table_done(self, result: TableResult) -> None:
        if result.status == "ok":
            log.info(
                "%s: %s ok, %d rows (%d upserts, %d deletes), %.1f MB, %.1fs",
                result.qualified_name,
                result.kind,
                result.rows,
                result.upserts,
                result.deletes,
                result.bytes / 1e6,
                result.seconds,
            )
        elif result.status == "skipped":
            log.info("%s: skipped, %s", result.qualified_name, result.reason)
        else:
            log.error("%s: failed: %s", result.qualified_name, result.error)

    def stop(self) -> None:
        return None


class RichReporter:
    """Progress bars for an interactive terminal."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress: Progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._overall: TaskID | None = None
        self._lock = threading.Lock()

    def start(self, total_tables: int) -> None:
        self._progress.start()
        self._overall = self._progress.add_task("tables", total=total_tables, status="")

    def _task(self, qname: str) -> TaskID:
        with self._lock:
            if qname not in self._tasks:
                # names and errors from the API are data, not rich markup
                self._tasks[qname] = self._progress.add_task(escape(qname), total=None, status="starting")
            return self._tasks[qname]

    def table_started(self, qname: str) -> None:
        self._task(qname)

    def job_state(self, qname: str, status: str) -> None:
        self._progress.update(self._task(qname), status=f"job {status}")

    def file_downloaded(self, qname: str, size: int) -> None:
        self._progress.update(self._task(qname), advance=1, status="downloading")

    def landing(self, qname: str) -> None:
        self._progress.update(self._task(qname), status="landing")

    def note(self, qname: str, message: str) -> None:
        self._progress.console.print(f"[yellow]{escape(qname)}[/]: {escape(message)}")

    def table_done(self, result: TableResult) -> None:
        if result.status == "skipped":  # no bar: it never started
            if self._overall is not None:
                self._progress.update(self._overall, advance=1)
            return
        task = self._task(result.qualified_name)
        if result.status == "ok":
            status = f"[green]ok[/] {result.rows:,} rows"
        else:
            status = "[red]failed[/]"
            name, error = escape(result.qualified_name), escape(result.error or "")
            self._progress.console.print(f"[red]{name} failed:[/] {error}")
        self._progress.update(task, total=1, completed=1, status=status)
        self._progress.remove_task(task)
        if self._overall is not None:
            self._progress.update(self._overall, advance=1)

    def stop(self) -> None:
        self._progress.stop()
