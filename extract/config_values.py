"""How a setting's value of each kind is read: from ``cd2.yml`` (checked, never coerced: ``"no"``
is not a boolean), from an environment variable's text, and the checks both share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from extract.cadence import cadence_from_mapping, cadence_from_text
from extract.config_error import ConfigError

FORMATS = ("jsonl", "parquet", "csv", "tsv")
CSV_NULLS = ("empty", "NULL")  # how the API's CSV files write NULL: an unquoted empty field, or the bare word

# The kinds of value a setting takes (``from_file`` and ``from_env`` read each).
PATH, NAMES, TABLES, FORMAT, COUNT, BOOL, MEMORY, PUBLISH, TEXT, CADENCE = (
    "path",
    "names",
    "tables",
    "format",
    "positive integer",
    "boolean",
    "memory size",
    "publish",
    "string",
    "cadence",
)


def from_file(where: str, value: Any, kind: str) -> Any:
    """A cd2.yml value of ``kind``, checked, never coerced (``"no"`` is not a boolean)."""
    if kind == PATH:
        return Path(typed(where, value, PATH))
    if kind == NAMES:
        return as_list(value, where)
    if kind == TABLES:
        return table_names(value, where)
    if kind == PUBLISH:
        if isinstance(value, bool) or (isinstance(value, str) and value.strip() and "\0" not in value):
            return value if isinstance(value, bool) else Path(value)
        raise ConfigError(f"{where} must be true, false or a path, not {value!r}")
    if kind == FORMAT:
        return typed(where, value, TEXT)
    if kind == CADENCE:
        return cadence_from_mapping(value, where)
    return typed(where, value, kind)


def from_env(kind: str, variable: str, text: str) -> Any:
    """An environment variable's text as a value of the setting's kind."""
    if kind == PATH:
        return Path(text)
    if kind == NAMES:
        return as_list(text, variable)
    if kind == TABLES:
        return table_names(text, variable)
    if kind == COUNT:
        try:
            return typed(variable, int(text.strip()), kind)
        except ValueError:
            raise ConfigError(f"{variable} must be a positive integer, not {text!r}") from None
    if kind == CADENCE:
        return cadence_from_text(text, variable)
    if kind in (BOOL, PUBLISH):
        flag = {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower())
        if flag is None and kind == BOOL:
            raise ConfigError(f"{variable} must be true or false, not {text!r}")
        return Path(text) if flag is None else flag
    return text


def table_names(value: Any, where: str) -> list[str] | str:
    return "all" if value == "all" else as_list(value, where)


def typed(where: str, value: Any, kind: str) -> Any:
    """``value`` if it is of ``kind``; else a ConfigError naming the key, the value and what is expected."""
    if value is None and kind in (TEXT, MEMORY):
        return None
    ok = {
        TEXT: isinstance(value, str),
        PATH: isinstance(value, str) and bool(value.strip()) and "\0" not in value,
        BOOL: isinstance(value, bool),
        COUNT: isinstance(value, int) and not isinstance(value, bool) and value >= 1,
        MEMORY: isinstance(value, str) and bool(value.strip()),
    }[kind]
    if not ok:
        hint = {
            BOOL: " (true or false, unquoted)",
            MEMORY: " such as 8GB or 50% (quoted if it could read as a number)",
            PATH: " (a file path)",
        }.get(kind, "")
        raise ConfigError(f"{where} must be a {kind}{hint}, not {value!r}")
    return value


def as_list(value: Any, where: str = "value") -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    raise ConfigError(f"{where} must be a list of names or a comma-separated string, not {value!r}")


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


def checked_memory_limit(value: str) -> str:
    """``value`` if DuckDB accepts it as ``memory_limit`` (asked of DuckDB itself, in memory)."""
    import duckdb

    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"memory_limit {value!r} is not a size DuckDB accepts (e.g. 8GB, 50%): {reason}") from None
    return value
