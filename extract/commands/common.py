"""What several commands share: their resolved settings, the API client, the progress reporter."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from extract import config as cfg
from extract import redact
from extract.cli_options import given_settings
from extract.failures import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from extract.dap.client import DapClient
    from extract.sync.progress import Reporter

CONFIG_FIX = "fix the value (`cd2 config` shows every setting and where it came from)"


def settings_for(args: argparse.Namespace) -> cfg.RunConfig:
    """The command's settings: defaults ← cd2.yml ← environment ← its flags (``extract.config``)."""
    flags = given_settings(args)
    if "client_secret" in flags:
        flags["client_secret"] = read_secret_file(flags["client_secret"])
    try:
        settings = cfg.resolve(getattr(args, "project_dir", None) or Path(), None, flags, getattr(args, "config", None))
    except cfg.ConfigError as exc:
        raise UsageError(str(exc), CONFIG_FIX) from None
    redact.register(settings.client_secret, settings.pseudonym_secret)
    return settings


def read_secret_file(path: Path) -> str:
    """The first line of ``path`` (``-``: standard input), stripped; a clear error if unreadable or empty."""
    try:
        text = sys.stdin.readline() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the client secret file {path}: {exc.strerror or exc}", "check --client-secret-file"
        ) from None
    lines = text.splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise UsageError(f"the client secret file {path} is empty", "put the secret on its first line")
    return secret


def api_client(settings: cfg.RunConfig) -> DapClient:
    """A DAP API client with the settings' credentials, retries and rate limits."""
    from extract.dap.auth import Credentials
    from extract.dap.client import DapClient
    from extract.dap.transport import RetryPolicy

    credentials = Credentials.from_env(settings.base_url, settings.client_id, settings.client_secret)
    return DapClient(
        credentials,
        retry=RetryPolicy(max_attempts=settings.max_retries),
        limits=None if settings.rate_limit else {},
    )


def progress_reporter(console: Console, progress: str, *, quiet_logs: bool = False) -> Reporter:
    """Bars on a terminal (or with ``always``), else log lines. ``quiet_logs``: while bars are drawn,
    only warnings are logged."""
    from extract.sync.progress import LogReporter, RichReporter

    use_bars = progress == "always" or (progress == "auto" and console.is_terminal)
    if use_bars and quiet_logs:
        logging.getLogger().setLevel(logging.WARNING)
    return RichReporter(console) if use_bars else LogReporter()
