"""Which current-state models have nothing new to merge, so ``cd2 run`` can leave them out.

Each current-state model records, in its own transaction, the newest committed batch of its
table it has merged (post-hook ``cd2_current_state_record`` → ``cd2_meta.model_state``). A
model is *unchanged* when its relation exists and no committed batch after that one carries
rows, is a snapshot (an empty snapshot still empties the table) or brings a new schema version.
Leaving such a model out of ``dbt build`` cannot change any table: the SQL would merge nothing.

The code can change (a project upgrade, regenerated models, an edited mart or macro, another
pseudonym secret): the fingerprint of the whole project is stored by the on-run-end hook
``cd2_record_code_fingerprint`` after a build without errors, and when it differs every model is
built (``extract.round_plan`` plans the other layers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import duckdb

from extract.database import open_database
from extract.pseudonym import SECRET_ENV

# Everything dbt builds from (and the pinned dbt versions): a change in any of them can change any model.
FINGERPRINT_PATHS = (
    "models",
    "macros",
    "seeds",
    "snapshots",
    "tests",
    "dbt_project.yml",
    "profiles.yml",
    "requirements.txt",
)
FINGERPRINT_KEY = "current_state_fingerprint"


def code_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    # The pseudonym secret decides every user key in the marts. Only a keyed digest of it enters
    # the fingerprint (no more than the user keys themselves reveal).
    secret = os.environ.get(SECRET_ENV, "")
    digest.update(hmac.new(secret.encode(), b"cd2 code fingerprint", hashlib.sha256).digest())
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


def code_matches(db: Path, project_dir: Path, fingerprint: str | None = None) -> bool:
    """Whether the last build without errors into ``db`` was made from the project as it is now
    (``fingerprint``: the project's, when the caller has it already)."""
    if not db.exists():
        return False
    con = open_database(db, read_only=True, allow_foreign=True)
    try:
        stored = con.execute("SELECT value FROM cd2_meta.project_state WHERE key = ?", [FINGERPRINT_KEY]).fetchone()
    except duckdb.CatalogException:
        return False
    finally:
        con.close()
    return stored is not None and stored[0] == (fingerprint or code_fingerprint(project_dir))


def unchanged_models(db: Path, project_dir: Path, fingerprint: str | None = None) -> list[str]:
    """Current-state models (dbt names) with nothing new to merge; empty when in doubt."""
    if not code_matches(db, project_dir, fingerprint):
        return []
    con = open_database(db, read_only=True, allow_foreign=True)
    try:
        found = _merged_without_later(
            con,
            "m.namespace IN (SELECT DISTINCT namespace FROM cd2_meta.batches)",
            "b.kind = 'snapshot' OR coalesce(b.rows, 0) > 0 OR b.schema_version IS DISTINCT FROM m.schema_version",
        )
    finally:
        con.close()
    return found or []  # None: nothing recorded yet, build everything


def same_shape_models(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """Current-state models (dbt names) whose next merge keeps their columns: the relation exists,
    a merge is recorded and no committed batch after it brings another schema version. None when
    nothing is recorded yet (then no column set is known to hold)."""
    found = _merged_without_later(con, "m.batch_id IS NOT NULL", "b.schema_version IS DISTINCT FROM m.schema_version")
    return None if found is None else set(found)


def _merged_without_later(con: duckdb.DuckDBPyConnection, recorded: str, later: str) -> list[str] | None:
    """Current-state models (dbt names) whose relation exists, whose record in ``model_state``
    (alias ``m``) meets ``recorded``, and that have no committed batch (alias ``b``) after the one
    they merged meeting ``later``. The two conditions are the project's own SQL, never data.
    None when nothing is recorded yet."""
    try:
        rows = con.execute(
            f"""
            SELECT m.namespace, m.table_name
            FROM cd2_meta.model_state AS m
            JOIN information_schema.tables AS t
                ON t.table_schema = m.namespace AND t.table_name = m.table_name
                AND t.table_catalog = current_database()
            WHERE ({recorded}) AND NOT EXISTS (
                SELECT 1 FROM cd2_meta.batches AS b
                WHERE b.namespace = m.namespace AND b.table_name = m.table_name
                    AND b.status = 'committed' AND b.batch_id > coalesce(m.batch_id, -1)
                    AND ({later})
            )
            ORDER BY 1, 2
            """
        ).fetchall()
    except duckdb.CatalogException:
        return None
    return [model_name(ns, table) for ns, table in rows]


def dbt_vars(project_dir: Path, fingerprint: str | None = None) -> str:
    """``--vars`` for the build: the on-run-end hook stores the fingerprint when every node succeeded."""
    return json.dumps({"cd2_code_fingerprint": fingerprint or code_fingerprint(project_dir)})
