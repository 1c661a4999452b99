"""Whether the docs site of the last round still describes the project, so a round can keep it.

The static site is dbt's manifest (the project's code and descriptions) and catalog (each
relation's columns and types; DuckDB gives no row counts). Between rounds the code is unchanged
unless the project's fingerprint changed, and the columns change only with a new schema version
of a synced table or a table synced for the first time. The site is therefore keyed by the code
fingerprint and every synced table's schema version, stored beside the site after ``dbt docs
generate`` succeeded; a round whose key matches keeps the site (DECISIONLOG.md, "A round keeps
the docs site when nothing it shows changed").
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from extract.database import open_database
from extract.unchanged import code_fingerprint

SITE = "static_index.html"
KEY_FILE = "cd2_docs_key.txt"


def docs_key(db: Path, project_dir: Path, fingerprint: str | None = None) -> str | None:
    """The key of the site a docs step would build now; None when it cannot be known
    (``fingerprint``: the project's, when the caller has it already)."""
    if not db.exists():
        return None
    con = open_database(db, read_only=True, allow_foreign=True)
    try:
        versions = con.execute(
            "SELECT namespace, table_name, schema_version FROM cd2_meta.table_state ORDER BY 1, 2"
        ).fetchall()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    digest = hashlib.sha256((fingerprint or code_fingerprint(project_dir)).encode())
    for namespace, table, version in versions:
        digest.update(f"\n{namespace}.{table}:{version}".encode())
    return digest.hexdigest()


def site_is_current(target: Path, key: str | None) -> bool:
    """Whether ``target`` holds a site built under ``key``."""
    if key is None or not (target / SITE).is_file():
        return False
    try:
        return (target / KEY_FILE).read_text(encoding="utf-8").strip() == key
    except FileNotFoundError:
        return False


def record_site(target: Path, key: str | None) -> None:
    """After a successful docs step: the site in ``target`` was built under ``key``."""
    if key is None:
        forget_site(target)
        return
    (target / KEY_FILE).write_text(key + "\n", encoding="utf-8")


def forget_site(target: Path) -> None:
    """Before a docs step: a site half rewritten must not pass for current."""
    (target / KEY_FILE).unlink(missing_ok=True)
