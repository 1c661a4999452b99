"""Exit codes and the one-line errors of the ``cd2`` commands.

Every user-facing failure is one line naming the cause and the fix; the traceback only with
``--debug``. The exit code tells the scheduler what happened:

====  ==========================================================================================
0     everything asked for was done
1     the command ran, but some tables (or dbt nodes) failed; the rest landed; re-run to finish
2     usage: bad flags, a bad ``cd2.yml`` value, an input file that does not fit (nothing changed)
3     could not start: the database is locked, not the project's, unreadable or missing; no
      credentials; the API unreachable or refusing the credentials (nothing changed)
4     an unexpected error (a bug): run again with ``--debug`` for the traceback and report it
130   interrupted (Ctrl-C); what had committed stays committed, a re-run goes on from there
====  ==========================================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANNOT_START = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure to report as one line (``cause; fix``) with an exit code, no traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, cause: str, fix: str | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.fix = fix

    def line(self) -> str:
        return f"{self.cause}; {self.fix}" if self.fix else self.cause


class UsageError(CliError):
    """Bad flags, configuration or input: nothing was changed."""

    exit_code = EXIT_USAGE


class CannotStartError(CliError):
    """The command could not begin its work (lock, database, credentials, API): nothing was changed."""

    exit_code = EXIT_CANNOT_START


class DatabaseBusyError(CannotStartError):
    """Another process has the database open (a cd2 writer, a BI tool, a notebook): readers can
    turn to the copy published for them."""
