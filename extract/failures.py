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

import errno

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


def describe_failure(exc: BaseException) -> tuple[int, str | None]:
    """The exit code and the one line for an exception that ended a command."""
    import duckdb

    from extract.config import ConfigError
    from extract.dap import errors
    from extract.dap.auth import ApiUnreachableError
    from extract.landing.diskfull import DiskFullError
    from extract.names import UnsafeNameError, UnsafePathError

    if isinstance(exc, SystemExit):
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_FAILED)
        return code, None if isinstance(exc.code, int | None) else str(exc.code)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted; what had committed stays, a re-run goes on from there"
    if isinstance(exc, CliError):
        return exc.exit_code, exc.line()
    if isinstance(exc, ConfigError):
        return EXIT_USAGE, f"{exc}; fix the value"
    if isinstance(exc, errors.AuthenticationError):
        return EXIT_CANNOT_START, f"{exc}; check DAP_CLIENT_ID and the client secret"
    if isinstance(exc, errors.AccountError):
        return EXIT_CANNOT_START, f"the DAP API refused the account: {exc}; ask your Canvas admin or Instructure"
    if isinstance(exc, ApiUnreachableError):
        return EXIT_CANNOT_START, f"{exc}; check DAP_API_URL and the network"
    if isinstance(exc, errors.ServerError | errors.RateLimitedError):
        return EXIT_CANNOT_START, f"the DAP API did not answer usefully: {exc}; check DAP_API_URL, try again later"
    if isinstance(exc, errors.NotFoundError | errors.ValidationError):
        return EXIT_USAGE, f"the DAP API says: {exc}; check the namespace and table names (`cd2 list`)"
    if isinstance(exc, errors.DapError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, UnsafePathError):
        return EXIT_USAGE, f"{exc}; put the DuckDB file in a folder of its own (--db / CD2_DB)"
    if isinstance(exc, UnsafeNameError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, DiskFullError):
        return EXIT_FAILED, exc.line()
    if isinstance(exc, duckdb.Error):
        return EXIT_FAILED, f"DuckDB: {' '.join(str(exc).split())}; run again with --debug for details"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return EXIT_FAILED, f"the disk is full ({exc.filename or 'writing'}); free space and run again"
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return EXIT_CANNOT_START, f"{exc.strerror or exc}{where}; check the path and its permissions"
    return EXIT_INTERNAL, (
        f"unexpected error {type(exc).__name__}: {exc}; run again with --debug and report the traceback"
    )
