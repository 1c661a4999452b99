"""cd2's settings: each declared once, resolved once, for every command.

Sources, later ones winning: built-in defaults → ``cd2.yml`` in the project directory (or the
file named by ``--config`` / ``$CD2_CONFIG``) → environment variables → command-line flags.
``resolve`` records where each value came from; ``cd2 config`` prints it. Credentials and
secrets are read from the environment (or a file named by a flag) only, never from
``cd2.yml``, so the file can be committed.

``cd2.yml`` keys (all optional)::

    db: data/cd2.duckdb            # $CD2_DB, --db
    lake: null                     # $CD2_LAKE, --lake; a folder: cd2 sync writes a Parquet lake there
                                   # (raw/<namespace>/<table>/batch_id=<N>/, cd2_meta/) instead of the db
    namespaces: [canvas, canvas_logs]  # $CD2_NAMESPACES, --namespace
    tables: all                    # or a list: [courses, enrollments, submissions]; $CD2_TABLES, --table
    format: jsonl                  # jsonl | parquet | csv | tsv; $CD2_FORMAT, --format
    csv_null: empty                # empty | "NULL" (quoted): how the API's CSV files write NULL in
                                   # text columns; $CD2_CSV_NULL, --csv-null (only for format: csv)
    concurrency: 4                 # $CD2_CONCURRENCY, --concurrency; tables downloading or
                                   # waiting to land at once (bounds the disk the downloads take)
    download_concurrency: 8        # $CD2_DOWNLOAD_CONCURRENCY, --download-concurrency
    max_jobs_in_flight: 40         # $CD2_MAX_JOBS_IN_FLIGHT, --max-jobs-in-flight; query jobs
                                   # created and not yet finished (extract/sync/runner.py)
    cadence: {}                    # $CD2_CADENCE, --cadence (pattern=interval,… or none); tables
                                   # synced only every so often, e.g. {canvas.roles: daily,
                                   # catalog.*: 12h} (extract/cadence.py; default: every round)
    auto_resnapshot: true          # $CD2_AUTO_RESNAPSHOT, --no-auto-resnapshot
    max_retries: 8                 # $CD2_MAX_RETRIES, --max-retries
    rate_limit: true               # $CD2_RATE_LIMIT, --no-rate-limit
    memory_limit: null             # $CD2_MEMORY_LIMIT, --memory-limit; DuckDB's cap for the sync and
                                   # dbt, e.g. 8GB or 50% (default: DuckDB's own, 80% of RAM)
    publish: true                  # $CD2_PUBLISH, --no-publish; the read copy for BI tools, replaced
                                   # whole at the end of each round: true (<db stem>.read.duckdb
                                   # beside the db), a path, or false (none)
    report: true                   # $CD2_REPORT, --no-report; the report site (<dbt target>/report)
                                   # after the docs site
    dbt:
      target: null                 # $CD2_TARGET, --target; a profiles.yml target (default: local,
                                   # DuckDB); a postgres one builds over dap syncdb's tables, no sync
      select: null                 # e.g. "staging marts" (default: everything)
      threads: 2
      docs: true                   # --no-docs; build the static docs site after dbt build
      skip_unchanged: true         # --build-all; build only models whose inputs changed
      unit_tests: false            # --unit-tests; dbt's unit tests in the round too (make test runs them)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from extract.cadence import Cadence, cadence_from_text
from extract.config_values import (
    BOOL,
    CADENCE,
    COUNT,
    CSV_NULLS,
    FORMAT,
    FORMATS,
    MEMORY,
    NAMES,
    PATH,
    PUBLISH,
    TABLES,
    TEXT,
    ConfigError,
    as_list,
    checked_memory_limit,
    from_env,
    from_file,
    read_yaml,
    table_names,
    typed,
)
from extract.pseudonym import SECRET_ENV

CONFIG_FILE = "cd2.yml"
CONFIG_ENV = "CD2_CONFIG"
DB_ENV = "CD2_DB"  # profiles.yml reads it too
LAKE_ENV = "CD2_LAKE"  # profiles.yml reads it too (the spark target)
MEMORY_LIMIT_ENV = "CD2_MEMORY_LIMIT"  # profiles.yml reads it too
TARGET_ENV = "CD2_TARGET"  # profiles.yml reads it too
# Keys refused in cd2.yml by name: the file is meant to be committed.
SECRET_KEYS = {
    "client_id",
    "client_secret",
    "dap_client_id",
    "dap_client_secret",
    "password",
    "token",
    "pseudonym_secret",
}
DEFAULT_ORIGIN = "default"


@dataclass(frozen=True)
class Declared:
    """How one setting is given: its type, environment variable and flag (``None``: there is none)."""

    kind: str
    about: str
    flag: str | None = None
    flag_value: Any = None  # a flag that takes no value sets this (e.g. --no-docs: False)
    env: str | None = None
    in_file: bool = True
    secret: bool = False


def how(kind: str, about: str, **ways: Any) -> dict[str, Declared]:
    """A settings field's ``metadata``: its ``Declared`` ways in (the default is the field's)."""
    return {"setting": Declared(kind, about, **ways)}


@dataclass
class DbtSettings:
    # profiles.yml reads CD2_TARGET too; a postgres target builds over the tables of dap syncdb
    target: str | None = field(
        default=None,
        metadata=how(
            TEXT,
            "dbt target of profiles.yml (default: local, DuckDB); a postgres target builds the models over "
            "the tables Instructure's dap syncdb keeps, with no sync",
            env=TARGET_ENV,
            flag="--target",
        ),
    )
    select: str | None = field(default=None, metadata=how(TEXT, "dbt node selection, e.g. 'staging marts'"))
    threads: int = field(default=2, metadata=how(COUNT, "dbt threads"))
    docs: bool = field(default=True, metadata=how(BOOL, "build the docs site", flag="--no-docs", flag_value=False))
    skip_unchanged: bool = field(
        default=True,
        metadata=how(BOOL, "build only the models whose inputs changed", flag="--build-all", flag_value=False),
    )
    # dbt's advice: unit tests check the models' logic on fixed rows, not the data, so they belong
    # in development and CI (`make test` runs them all), not in every scheduled round.
    unit_tests: bool = field(
        default=False,
        metadata=how(BOOL, "run dbt's unit tests in the round too", flag="--unit-tests", flag_value=True),
    )


@dataclass
class RunConfig:
    """Every resolved setting (``origins``: where each came from, by dotted name)."""

    db: Path = field(default=Path("data/cd2.duckdb"), metadata=how(PATH, "the DuckDB file", env=DB_ENV, flag="--db"))
    lake: Path | None = field(
        default=None,
        metadata=how(
            PATH,
            "a folder: cd2 sync writes a Parquet lake there (for Spark, Databricks, Trino) instead of the DuckDB file",
            env=LAKE_ENV,
            flag="--lake",
        ),
    )
    namespaces: list[str] = field(
        default_factory=lambda: ["canvas", "canvas_logs"],
        metadata=how(NAMES, "namespaces to sync (repeat or comma-separate)", env="CD2_NAMESPACES", flag="--namespace"),
    )
    tables: list[str] | str = field(
        default="all", metadata=how(TABLES, "tables (comma-separated), or 'all'", env="CD2_TABLES", flag="--table")
    )
    format: str = field(default="jsonl", metadata=how(FORMAT, "job file format", env="CD2_FORMAT", flag="--format"))
    csv_null: str = field(
        default="empty",
        metadata=how(
            TEXT,
            "how the API's CSV files write NULL in text columns: empty (an unquoted empty field) or NULL",
            env="CD2_CSV_NULL",
            flag="--csv-null",
        ),
    )
    concurrency: int = field(
        default=4,
        metadata=how(
            COUNT,
            "tables downloading or waiting to land at once (bounds the disk the downloads take)",
            env="CD2_CONCURRENCY",
            flag="--concurrency",
        ),
    )
    download_concurrency: int = field(
        default=8,
        metadata=how(COUNT, "parallel downloads", env="CD2_DOWNLOAD_CONCURRENCY", flag="--download-concurrency"),
    )
    # 40 jobs polled every 10 s at most are 240 of the 500 status calls a minute allows, and keep job
    # creation (5 a minute) busy while jobs take up to 8 minutes on average (extract/sync/runner.py).
    max_jobs_in_flight: int = field(
        default=40,
        metadata=how(
            COUNT,
            "query jobs created and not yet finished, at most",
            env="CD2_MAX_JOBS_IN_FLIGHT",
            flag="--max-jobs-in-flight",
        ),
    )
    cadence: Cadence = field(
        default_factory=Cadence,
        metadata=how(
            CADENCE,
            "sync some tables only every so often: pattern=interval, comma-separated (e.g. canvas.roles=daily,"
            "catalog.*=12h), or none; intervals Nh, Nd, hourly, daily, weekly",
            env="CD2_CADENCE",
            flag="--cadence",
        ),
    )
    auto_resnapshot: bool = field(
        default=True,
        metadata=how(
            BOOL,
            "snapshot again on SnapshotRequired / OutOfRange (false: fail instead)",
            env="CD2_AUTO_RESNAPSHOT",
            flag="--no-auto-resnapshot",
            flag_value=False,
        ),
    )
    max_retries: int = field(
        default=8, metadata=how(COUNT, "attempts per API call", env="CD2_MAX_RETRIES", flag="--max-retries")
    )
    rate_limit: bool = field(
        default=True,
        metadata=how(
            BOOL,
            "throttle to the API's documented limits (false: for the bundled fake API)",
            env="CD2_RATE_LIMIT",
            flag="--no-rate-limit",
            flag_value=False,
        ),
    )
    memory_limit: str | None = field(
        default=None,
        metadata=how(
            MEMORY,
            "DuckDB's memory cap for the sync and dbt, e.g. 8GB or 50% (default: DuckDB's own, 80% of RAM)",
            env=MEMORY_LIMIT_ENV,
            flag="--memory-limit",
        ),
    )
    publish: Path | bool = field(
        default=True,
        metadata=how(
            PUBLISH,
            "the read copy for BI tools and notebooks: true (beside the db), a path, or false (none)",
            env="CD2_PUBLISH",
            flag="--no-publish",
            flag_value=False,
        ),
    )
    report: bool = field(
        default=True,
        metadata=how(
            BOOL,
            "write the learning-analytics report site (<dbt target>/report) after the docs site",
            env="CD2_REPORT",
            flag="--no-report",
            flag_value=False,
        ),
    )
    allow_foreign_db: bool = field(
        default=False,
        metadata=how(
            BOOL,
            "write into a DuckDB file that holds tables but no cd2_meta schema (refused by default)",
            flag="--allow-foreign-db",
            flag_value=True,
            in_file=False,
        ),
    )
    dbt: DbtSettings = field(default_factory=DbtSettings)
    base_url: str | None = field(
        default=None,
        metadata=how(TEXT, "DAP API URL (default: Instructure's)", env="DAP_API_URL", flag="--base-url", in_file=False),
    )
    client_id: str | None = field(
        default=None, metadata=how(TEXT, "DAP client id", env="DAP_CLIENT_ID", flag="--client-id", in_file=False)
    )
    client_secret: str | None = field(
        default=None,
        repr=False,
        metadata=how(
            TEXT,
            "DAP client secret (the flag names a file holding it, - for standard input)",
            env="DAP_CLIENT_SECRET",
            flag="--client-secret-file",
            in_file=False,
            secret=True,
        ),
    )
    pseudonym_secret: str | None = field(
        default=None,
        repr=False,
        metadata=how(TEXT, "key of the marts' user_key HMAC", env=SECRET_ENV, in_file=False, secret=True),
    )
    source: str = "defaults"  # the cd2.yml read, if any
    origins: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def table_list(self) -> list[str] | None:
        """None means every table the API offers."""
        if self.tables == "all" or self.tables == ["all"]:
            return None
        return [str(t) for t in self.tables]

    def origin(self, name: str) -> str:
        """Where the setting ``name`` (dotted, e.g. ``dbt.docs``) came from."""
        return self.origins.get(name, DEFAULT_ORIGIN)


def declared_settings() -> Iterator[tuple[str, Declared]]:
    """Every setting by dotted name (``dbt.threads``), in declaration order."""
    yield from _declared(RunConfig, "")


def _declared(cls: type, prefix: str) -> Iterator[tuple[str, Declared]]:
    for f in fields(cls):
        if "setting" in f.metadata:
            yield prefix + f.name, f.metadata["setting"]
        elif f.name == "dbt":
            yield from _declared(DbtSettings, f"{prefix}{f.name}.")


def declared(name: str) -> Declared:
    return dict(declared_settings())[name]


def value_of(config: RunConfig, name: str) -> Any:
    target: Any = config
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _set(config: RunConfig, name: str, value: Any, origin: str) -> None:
    *parents, last = name.split(".")
    target: Any = config
    for part in parents:
        target = getattr(target, part)
    setattr(target, last, value)
    config.origins[name] = origin


def resolve(
    project_dir: Path = Path(),
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
) -> RunConfig:
    """The settings: defaults ← cd2.yml ← environment ← ``flags`` (by dotted name, values already
    typed by the parser). ``config_file`` (``--config``) wins over ``$CD2_CONFIG`` and
    ``<project_dir>/cd2.yml``. Raises ``ConfigError`` naming the key and where it came from."""
    env = dict(os.environ if environ is None else environ)
    config = RunConfig()
    path = _config_path(project_dir, env, config_file)
    if path.is_file():
        raw = read_yaml(path)
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        _from_mapping(config, raw, str(path))
        config.source = str(path)
    elif path.exists():
        raise ConfigError(f"{path} is not a file")
    elif config_file is not None:
        raise ConfigError(f"--config names {path}, which does not exist")
    elif env.get(CONFIG_ENV):
        raise ConfigError(f"{CONFIG_ENV} points to {path}, which does not exist")
    for name, how in declared_settings():
        if how.env and env.get(how.env):
            _set(config, name, from_env(how.kind, how.env, env[how.env]), f"env {how.env}")
    for name, value in (flags or {}).items():
        how = declared(name)
        if how.kind == NAMES:
            value = [n for item in value for n in as_list(item, how.flag or name)]
        elif how.kind == TABLES:
            value = table_names(value, how.flag or name)
        elif how.kind == CADENCE:
            value = cadence_from_text(value, how.flag or name)
        _set(config, name, value, f"flag {how.flag}")
    validate(config)
    return config


def load(project_dir: Path = Path(), environ: Mapping[str, str] | None = None) -> RunConfig:
    """The settings without flags (``resolve``)."""
    return resolve(project_dir, environ)


def _config_path(project_dir: Path, env: Mapping[str, str], config_file: Path | None) -> Path:
    if config_file is not None:
        return config_file
    return Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else project_dir / CONFIG_FILE


def _from_mapping(config: RunConfig, raw: dict[Any, Any], origin: str) -> None:
    secrets = sorted(str(k) for k in raw if str(k).lower() in SECRET_KEYS)
    if secrets:
        raise ConfigError(
            f"{origin}: credentials and secrets are read from the environment only "
            f"(DAP_CLIENT_ID, DAP_CLIENT_SECRET, {SECRET_ENV}), not the file: remove {secrets[0]}"
        )
    _check_keys(raw, _file_keys(RunConfig), origin)
    for key, value in raw.items():
        where = f"{origin}: {key}"
        if key == "dbt":
            if not isinstance(value, dict):
                raise ConfigError(f"{where} must be a mapping ({', '.join(_file_keys(DbtSettings))})")
            _check_keys(value, _file_keys(DbtSettings), where)
            for dbt_key, dbt_value in value.items():
                name = f"dbt.{dbt_key}"
                _set(config, name, from_file(f"{where}.{dbt_key}", dbt_value, declared(name).kind), origin)
        else:
            _set(config, key, from_file(where, value, declared(key).kind), origin)


def _file_keys(cls: type) -> list[str]:
    """The keys cd2.yml may hold at this level: the settings allowed in the file, and ``dbt``."""
    return [
        f.name for f in fields(cls) if f.name == "dbt" or ("setting" in f.metadata and f.metadata["setting"].in_file)
    ]


def _check_keys(raw: dict[Any, Any], known: list[str], where: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")


def validate(config: RunConfig) -> None:
    """The checks across layers, each error naming where the bad value came from."""

    def origin(name: str) -> str:
        return "" if config.origin(name) == DEFAULT_ORIGIN else f"{config.origin(name)}: "

    if config.format not in FORMATS:
        raise ConfigError(f"{origin('format')}format must be jsonl, parquet, csv or tsv, not {config.format!r}")
    if config.csv_null not in CSV_NULLS:
        # YAML reads an unquoted NULL as its null
        hint = ' (in cd2.yml write "NULL", quoted)' if config.csv_null is None else ""
        raise ConfigError(f"{origin('csv_null')}csv_null must be empty or NULL{hint}, not {config.csv_null!r}")
    for name in ("concurrency", "download_concurrency", "max_jobs_in_flight", "max_retries", "dbt.threads"):
        typed(f"{origin(name)}{name}", value_of(config, name), COUNT)
    if config.memory_limit is not None:
        try:
            config.memory_limit = checked_memory_limit(str(config.memory_limit))
        except ConfigError as exc:
            raise ConfigError(f"{origin('memory_limit')}{exc}") from None
    if config.lake is not None and config.lake.exists() and not config.lake.is_dir():
        raise ConfigError(f"{origin('lake')}lake: {config.lake} is a file; the lake is a folder")
    if isinstance(config.publish, Path) and config.publish.resolve() == config.db.resolve():
        raise ConfigError(f"publish: {config.publish} is the database itself; give the read copy another path")
