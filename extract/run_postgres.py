"""``cd2 run --target <a postgres target>``: the models over the tables ``dap syncdb`` keeps.

The sync is Instructure's ``dap syncdb``, which the user schedules before this; this round is
the rest of ``cd2 run``: ``dbt parse``, ``dbt build`` and the static docs site, against the
PostgreSQL database of that target, in ``dap_syncdb`` source mode (the postgres target's
default: staging reads ``canvas.<table>`` as dap keeps it). Freshness comes from dap's own meta
table. The summary and the exit codes are ``cd2 run``'s. dbt's on-run-start hook
(``cd2_check_dap_tables``) refuses to build anything when a table the run reads is missing or
at an older schema version. The pseudonym secret reaches PostgreSQL as a session setting in
libpq's ``PGOPTIONS`` (``extract.postgres.secret_options``), never as SQL.
"""

from __future__ import annotations

import os
from pathlib import Path

from extract.config import TARGET_ENV, RunConfig
from extract.postgres import connect, connection_settings, dap_freshness, secret_options
from extract.run import RunSummary, build_and_document, parse_project

PGOPTIONS_ENV = "PGOPTIONS"


def hand_target_to_dbt(target: str, secret: str | None) -> None:
    """The environment dbt reads for this round: the target (profiles.yml's CD2_TARGET) and the
    secret in PGOPTIONS, for every connection dbt-postgres opens (libpq reads it)."""
    os.environ[TARGET_ENV] = target
    if secret:
        os.environ[PGOPTIONS_ENV] = secret_options(secret, os.environ.get(PGOPTIONS_ENV))


def run_over_dap(config: RunConfig, project_dir: Path = Path()) -> RunSummary:
    """One round on PostgreSQL: freshness, parse, build, docs. Raises ``CannotStartError`` when
    the database cannot be reached (before dbt starts)."""
    assert config.dbt.target is not None
    summary = RunSummary()
    connection = connect(connection_settings())
    try:
        summary.freshness = dap_freshness(connection)
    finally:
        connection.close()
    hand_target_to_dbt(config.dbt.target, config.pseudonym_secret)
    parsed, manifest = parse_project(project_dir, config.db, write_manifest=not config.dbt.docs)
    summary.dbt.append(parsed)
    if not parsed.ok:
        return summary
    build_and_document(summary, config, project_dir, manifest)
    return summary
