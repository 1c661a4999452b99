"""One documented configuration for ``cd2 run`` (and defaults for ``cd2 sync``).

Sources, later ones winning: built-in defaults → ``cd2.yml`` in the project directory (or the
file named by ``$CD2_CONFIG``) → environment variables → command-line flags. Credentials for
the real API are read from the environment only (``DAP_API_URL``, ``DAP_CLIENT_ID``,
``DAP_CLIENT_SECRET``), never from the file, so the file can be committed.

``cd2.yml`` keys (all optional)::

    db: data/cd2.duckdb            # $CD2_DB
    namespaces: [canvas, canvas_logs]
    tables: all                    # or a list: [courses, enrollments, submissions]
    format: jsonl                  # jsonl | parquet | csv | tsv
    concurrency: 4
    download_concurrency: 8
    auto_resnapshot: true
    memory_limit: null             # $CD2_MEMORY_LIMIT; DuckDB's cap for the sync and dbt, e.g. 8GB
                                   # or 50% (default: DuckDB's own, 80% of RAM; beyond it, it spills)
    publish: true                  # $CD2_PUBLISH; the read copy for BI tools, replaced whole at the
                                   # end of each round: true (<db stem>.read.duckdb beside the db),
                                   # a path, or false (none)
    dbt:
      select: null                 # e.g. "staging marts" (default: everything)
      threads: 2
      docs: true                   # build the static docs site after dbt build
      skip_unchanged: true         # leave out current-state models with nothing new to merge
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = "cd2.yml"
MEMORY_LIMIT_ENV = "CD2_MEMORY_LIMIT"  # profiles.yml reads it too
SECRET_KEYS = {"client_id", "client_secret", "dap_client_id", "dap_client_secret", "password", "token"}


class ConfigError(ValueError):
    """The configuration file or an environment variable has an invalid value."""


@dataclass
class DbtSettings:
    select: str | None = None
    threads: int = 2
    docs: bool = True
    skip_unchanged: bool = True


@dataclass
class RunConfig:
    db: Path = Path("data/cd2.duckdb")
    namespaces: list[str] = field(default_factory=lambda: ["canvas", "canvas_logs"])
    tables: list[str] | str = "all"
    format: str = "jsonl"
    concurrency: int = 4
    download_concurrency: int = 8
    auto_resnapshot: bool = True
    memory_limit: str | None = None
    publish: Path | bool = True
    dbt: DbtSettings = field(default_factory=DbtSettings)
    source: str = "defaults"

    @property
    def table_list(self) -> list[str] | None:
        """None means every table the API offers."""
        if self.tables == "all" or self.tables == ["all"]:
            return None
        return [str(t) for t in self.tables]


def _from_mapping(config: RunConfig, raw: dict[str, Any], origin: str) -> None:
    lowered = {str(k).lower() for k in raw}
    if lowered & SECRET_KEYS:
        raise ConfigError(f"{origin}: credentials are read from DAP_CLIENT_ID / DAP_CLIENT_SECRET only, not the file")
    known = {f.name for f in fields(RunConfig)} - {"source"}
    unknown = sorted(str(k) for k in set(raw) - known)
    if unknown:
        raise ConfigError(f"{origin}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")
    for key, value in raw.items():
        where = f"{origin}: {key}"
        if key == "dbt":
            if not isinstance(value, dict):
                raise ConfigError(f"{where} must be a mapping (select, threads, docs, skip_unchanged)")
            dbt_known = {f.name for f in fields(DbtSettings)}
            dbt_unknown = sorted(str(k) for k in set(value) - dbt_known)
            if dbt_unknown:
                raise ConfigError(
                    f"{where}: unknown key {dbt_unknown[0]!r}; known keys: {', '.join(sorted(dbt_known))}"
                )
            for dbt_key, dbt_value in value.items():
                setattr(config.dbt, dbt_key, _typed(f"{where}.{dbt_key}", dbt_value, _DBT_TYPES[dbt_key]))
        elif key == "db":
            config.db = Path(_typed(where, value, "path"))
        elif key == "namespaces":
            config.namespaces = _as_list(value, where)
        elif key == "tables":
            config.tables = "all" if value == "all" else _as_list(value, where)
        elif key == "publish":
            config.publish = value if isinstance(value, bool) else Path(_typed(where, value, "path"))
        else:
            setattr(config, key, _typed(where, value, _TYPES[key]))


# The type of each scalar key; the file's values are checked against it, never coerced.
_TYPES = {
    "format": "string",
    "concurrency": "positive integer",
    "download_concurrency": "positive integer",
    "auto_resnapshot": "boolean",
    "memory_limit": "memory size",
}
_DBT_TYPES = {"select": "string", "threads": "positive integer", "docs": "boolean", "skip_unchanged": "boolean"}


def _typed(where: str, value: Any, kind: str) -> Any:
    """``value`` if it is of ``kind``; else a ConfigError naming the key, the value and what is expected."""
    if value is None and kind in ("string", "memory size"):
        return None
    ok = {
        "string": isinstance(value, str),
        "path": isinstance(value, str) and bool(value.strip()) and "\0" not in value,
        "boolean": isinstance(value, bool),
        "positive integer": isinstance(value, int) and not isinstance(value, bool) and value >= 1,
        "memory size": isinstance(value, str) and bool(value.strip()),
    }[kind]
    if not ok:
        hint = {
            "boolean": " (true or false, unquoted)",
            "memory size": " such as 8GB or 50% (quoted if it could read as a number)",
            "path": " (a file path)",
        }.get(kind, "")
        raise ConfigError(f"{where} must be a {kind}{hint}, not {value!r}")
    return value


def _as_list(value: Any, where: str = "value") -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    raise ConfigError(f"{where} must be a list of names or a comma-separated string, not {value!r}")


def load(project_dir: Path = Path(), environ: dict[str, str] | None = None) -> RunConfig:
    env = dict(os.environ if environ is None else environ)
    config = RunConfig()
    path = Path(env["CD2_CONFIG"]) if env.get("CD2_CONFIG") else project_dir / CONFIG_FILE
    if path.is_file():
        raw = _read_yaml(path)
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        _from_mapping(config, raw, str(path))
        config.source = str(path)
    elif path.exists():
        raise ConfigError(f"{path} is not a file")
    elif env.get("CD2_CONFIG"):
        raise ConfigError(f"CD2_CONFIG points to {path}, which does not exist")
    if env.get("CD2_DB"):
        config.db = Path(env["CD2_DB"])
    if env.get("CD2_TABLES"):
        config.tables = "all" if env["CD2_TABLES"] == "all" else _as_list(env["CD2_TABLES"])
    if env.get("CD2_NAMESPACES"):
        config.namespaces = _as_list(env["CD2_NAMESPACES"])
    if env.get("CD2_FORMAT"):
        config.format = env["CD2_FORMAT"]
    if env.get(MEMORY_LIMIT_ENV):
        config.memory_limit = env[MEMORY_LIMIT_ENV]
    if env.get("CD2_PUBLISH"):
        value = env["CD2_PUBLISH"]
        flag = {"true": True, "1": True, "false": False, "0": False}.get(value.strip().lower())
        config.publish = Path(value) if flag is None else flag
    validate(config)
    return config


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


def validate(config: RunConfig) -> None:
    if config.format not in ("jsonl", "parquet", "csv", "tsv"):
        raise ConfigError(f"format must be jsonl, parquet, csv or tsv, not {config.format!r}")
    for name in ("concurrency", "download_concurrency"):
        _typed(name, getattr(config, name), "positive integer")
    _typed("dbt.threads", config.dbt.threads, "positive integer")
    if config.memory_limit is not None:
        config.memory_limit = checked_memory_limit(str(config.memory_limit))
    if isinstance(config.publish, Path) and config.publish.resolve() == config.db.resolve():
        raise ConfigError(f"publish: {config.publish} is the database itself; give the read copy another path")


def checked_memory_limit(value: str) -> str:
    """``value`` if DuckDB accepts it as ``memory_limit`` (asked of DuckDB itself, in memory)."""
    import duckdb

    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"memory_limit {value!r} is not a size DuckDB accepts (e.g. 8GB, 50%): {reason}") from None
    return value


def duckdb_settings(memory_limit: str | None) -> dict[str, str]:
    """The ``config`` for ``duckdb.connect`` of the extractor's read-write connections."""
    return {"memory_limit": memory_limit} if memory_limit else {}
