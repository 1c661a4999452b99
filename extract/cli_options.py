"""The flags the ``cd2`` commands share, built from the settings' declarations (``extract.config``).

A setting's flag is declared once, with its type, default and environment variable; every command
that takes it gets the same flag, and ``given_settings`` hands the values given on the command line
to ``extract.config.resolve`` (a flag not given is not a value: the lower layers apply).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from extract.config import Declared, declared
from extract.config_values import COUNT, CSV_NULLS, FORMAT, FORMATS, NAMES, PATH
from extract.failures import EXIT_USAGE

SECRETS_HELP = (
    "Secrets are never passed as flag values (visible in `ps`): the client secret comes from "
    "$DAP_CLIENT_SECRET or --client-secret-file (a file, or - for standard input)."
)
# The synthetic institution sizes (extract.synth.PROFILES); listed here so that building the
# parser does not import the generator.
PROFILE_NAMES = ("tiny", "demo", "large")
SETTING_DEST = "setting:"  # argparse dest of a setting's flag: "setting:<dotted name>"
SYNC_SETTINGS = (
    "db",
    "lake",
    "namespaces",
    "tables",
    "format",
    "csv_null",
    "concurrency",
    "download_concurrency",
    "max_jobs_in_flight",
    "cadence",
    "auto_resnapshot",
    "max_retries",
    "rate_limit",
    "memory_limit",
    "allow_foreign_db",
)
API_SETTINGS = ("base_url", "client_id", "client_secret")


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (the cause and where to look), not the whole usage block. No
    abbreviated flags: ``--client-secret`` must not be taken for ``--client-secret-file``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message}; see `{self.prog} --help`\n")


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


class _RefusedSecretFlag(argparse.Action):
    """``--client-secret VALUE`` is refused by name, with where the secret goes instead."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        parser.error("there is no --client-secret flag (`ps` would show its value to every user): " + SECRETS_HELP)


def add_setting_flags(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """The flags of the settings ``names``, as declared; the help names the default's other sources."""
    for name in names:
        how = declared(name)
        if how.flag is None:
            continue
        sources = ([f"${how.env}"] if how.env else []) + ([f"{name} in cd2.yml"] if how.in_file else [])
        about = how.about if how.flag_value is None else f"{name} = {str(how.flag_value).lower()}: {how.about}"
        help_text = about + (f" [also {', '.join(sources)}]" if sources else "")
        help_text = help_text.replace("%", "%%")  # argparse formats help with %
        kwargs = {"dest": SETTING_DEST + name, "default": None, "help": help_text, **_parsing(name, how)}
        parser.add_argument(how.flag, **kwargs)
        if name == "client_secret":
            add_refused_secret_flag(parser)


def _parsing(name: str, how: Declared) -> dict[str, Any]:
    """How argparse reads the flag of a setting of this kind."""
    if how.flag_value is not None:
        return {"action": "store_const", "const": how.flag_value}
    if how.kind == FORMAT:
        return {"choices": FORMATS}
    if name == "csv_null":
        return {"choices": CSV_NULLS}
    metavar = {"metavar": str(how.flag).lstrip("-").replace("-", "_").upper()}
    if how.kind == NAMES:
        return {"action": "append", **metavar}
    if how.kind == COUNT:
        return {"type": positive_int, **metavar}
    if how.kind == PATH or name == "client_secret":  # the client secret's flag names a file
        return {"type": Path, **metavar}
    return metavar


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, help="settings file (default: $CD2_CONFIG or cd2.yml in the project)"
    )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-format", choices=("plain", "json"), default="plain", help="log line format")
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bars (auto: only on a terminal)",
    )


def add_synth_options(parser: argparse.ArgumentParser, default_profile: str) -> None:
    parser.add_argument("--profile", choices=PROFILE_NAMES, default=default_profile, help="institution size")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where generated institutions are cached (default: $CD2_SYNTH_DIR or .cache/synth)",
    )


def add_refused_secret_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-secret", nargs="?", action=_RefusedSecretFlag, help=argparse.SUPPRESS)


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, by dotted name (the client secret flag: the path of its file)."""
    return {
        key.removeprefix(SETTING_DEST): value
        for key, value in vars(args).items()
        if key.startswith(SETTING_DEST) and value is not None
    }
