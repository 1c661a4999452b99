"""Which current-state models have nothing new to merge, so ``cd2 run`` can leave them out.

Each current-state model records, in its own transaction, the newest committed batch of its
table it has merged (post-hook ``cd2_current_state_record`` → ``cd2_meta.model_state``). A
model is *unchanged* when its relation exists and no committed batch after that one carries
rows, is a snapshot (an empty snapshot still empties the table) or brings a new schema version.
Leaving such a model out of ``dbt build`` cannot change any table: the SQL would merge nothing.

The current-state code itself can change (a project upgrade, regenerated models): the
fingerprint of that code is stored by the on-run-end hook ``cd2_record_code_fingerprint`` after
a build without errors, and when it differs every model is built.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from extract.database import open_database

FINGERPRINT_PATHS = ("macros/current_state", "macros/generated", "models/current_state", "dbt_project.yml")
FINGERPRINT_KEY = "current_state_fingerprint"


def code_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for entry in FINGERPRINT_PATHS:
        path = project_dir / entry
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(file.relative_to(project_dir).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def model_name(namespace: str, table: str) -> str:
    return f"{namespace}__{table}"


def unchanged_models(db: Path, project_dir: Path) -> list[str]:
    """Current-state models (dbt names) with nothing new to merge; empty when in doubt."""
    if not db.exists():
        return []
    con = open_database(db, read_only=True, allow_foreign=True)
    try:
        stored = con.execute("SELECT value FROM cd2_meta.project_state WHERE key = ?", [FINGERPRINT_KEY]).fetchone()
        if stored is None or stored[0] != code_fingerprint(project_dir):
            return []
        rows = con.execute(
            """
            SELECT m.namespace, m.table_name
            FROM cd2_meta.model_state AS m
            JOIN information_schema.tables AS t
                ON t.table_schema = m.namespace AND t.table_name = m.table_name
                AND t.table_catalog = current_database()
            WHERE m.namespace IN (SELECT DISTINCT namespace FROM cd2_meta.batches)
            AND NOT EXISTS (
                SELECT 1 FROM cd2_meta.batches AS b
                WHERE b.namespace = m.namespace AND b.table_name = m.table_name
                    AND b.status = 'committed' AND b.batch_id > coalesce(m.batch_id, -1)
                    AND (b.kind = 'snapshot' OR coalesce(b.rows, 0) > 0
                         OR b.schema_version IS DISTINCT FROM m.schema_version)
            )
            ORDER BY 1, 2
            """
        ).fetchall()
    except duckdb.CatalogException:
        return []  # nothing recorded yet: build everything
    finally:
        con.close()
    return [model_name(ns, table) for ns, table in rows]


def dbt_vars(project_dir: Path) -> str:
    """``--vars`` for the build: the on-run-end hook stores the fingerprint when every node succeeded."""
    return json.dumps({"cd2_code_fingerprint": code_fingerprint(project_dir)})
