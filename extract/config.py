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
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{origin}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    for key, value in raw.items():
        if key == "dbt":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: 'dbt' must be a mapping")
            dbt_known = {f.name for f in fields(DbtSettings)}
            if set(value) - dbt_known:
                raise ConfigError(f"{origin}: unknown dbt keys {sorted(set(value) - dbt_known)}")
            for dbt_key, dbt_value in value.items():
                setattr(config.dbt, dbt_key, dbt_value)
        elif key == "db":
            config.db = Path(value)
        elif key == "namespaces":
            config.namespaces = _as_list(value)
        elif key == "tables":
            config.tables = value if value == "all" else _as_list(value)
        else:
            setattr(config, key, value)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ConfigError(f"expected a list or a comma-separated string, got {value!r}")


def load(project_dir: Path = Path(), environ: dict[str, str] | None = None) -> RunConfig:
    env = dict(os.environ if environ is None else environ)
    config = RunConfig()
    path = Path(env["CD2_CONFIG"]) if env.get("CD2_CONFIG") else project_dir / CONFIG_FILE
    if path.exists():
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        _from_mapping(config, raw, str(path))
        config.source = str(path)
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
    validate(config)
    return config


def validate(config: RunConfig) -> None:
    if config.format not in ("jsonl", "parquet", "csv", "tsv"):
        raise ConfigError(f"format must be jsonl, parquet, csv or tsv, not {config.format!r}")
    for name in ("concurrency", "download_concurrency"):
        if not isinstance(getattr(config, name), int) or getattr(config, name) < 1:
            raise ConfigError(f"{name} must be a positive integer")
    if not isinstance(config.dbt.threads, int) or config.dbt.threads < 1:
        raise ConfigError("dbt.threads must be a positive integer")
    if config.memory_limit is not None:
        config.memory_limit = checked_memory_limit(str(config.memory_limit))


def checked_memory_limit(value: str) -> str:
    """``value`` if DuckDB accepts it as ``memory_limit`` (asked of DuckDB itself, in memory)."""
    import duckdb

    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as exc:
        raise ConfigError(f"memory_limit {value!r}: not a size DuckDB accepts (e.g. 8GB, 50%): {exc}") from None
    return value


def duckdb_settings(memory_limit: str | None) -> dict[str, str]:
    """The ``config`` for ``duckdb.connect`` of the extractor's read-write connections."""
    return {"memory_limit": memory_limit} if memory_limit else {}
