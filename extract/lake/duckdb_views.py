"""A lake read by DuckDB: ``raw_<namespace>.<table>`` and ``cd2_meta.*`` as views over its files.

The views have the columns and types of the DuckDB file's tables (JSON read back as JSON, the
``batch_id`` partition folded into ``_batch_id``), so what reads one reads the other: ``cd2 status``
over a lake, the tests that prove a lake equal to a DuckDB sync, and anyone's notebook.
"""

from __future__ import annotations

import duckdb

from extract.lake import meta
from extract.lake.layout import PARTITION_KEY, LakeLayout
from extract.lake.state import LakeState
from extract.lake.writer import lake_type
from extract.landing.tables import LOAD_COLUMNS, META_SCHEMA, quote, raw_schema_name
from extract.names import quote_literal


def create_lake_views(con: duckdb.DuckDBPyConnection, layout: LakeLayout, *, materialize: bool = False) -> list[str]:
    """Create the raw views (tables with ``materialize``) and the ``cd2_meta`` tables in ``con``;
    returns the raw tables' qualified names."""
    state = LakeState.load(layout)
    kind = "TABLE" if materialize else "VIEW"
    created: list[str] = []
    for namespace, table in layout.tables():
        columns = state.landed_columns(namespace, table)
        if not columns:
            continue  # no committed batch yet
        files = layout.table_dir(namespace, table) / f"{PARTITION_KEY}=*" / "*.parquet"
        items = [
            f"CAST({quote(name)} AS {landed}) AS {quote(name)}" if lake_type(landed) != landed else quote(name)
            for name, landed in columns
        ]
        schema = quote(raw_schema_name(namespace))
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(
            f"CREATE OR REPLACE {kind} {schema}.{quote(table)} AS SELECT {', '.join(items)}, "
            f"{', '.join(name for name, _ in LOAD_COLUMNS)} FROM read_parquet({quote_literal(str(files))}, "
            "hive_partitioning = false, union_by_name = true)"
        )
        created.append(f"{namespace}.{table}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    # from the batch records (the truth), not the cd2_meta files (which a crash may leave behind)
    for name, arrow_table in meta.meta_tables(layout, state.records()).items():
        view = f"cd2_lake_meta_{name}"
        con.register(view, arrow_table)
        try:
            select = {
                "batches": "SELECT * EXCLUDE (columns_json)",
                "schema_versions": "SELECT * REPLACE (CAST(schema_json AS JSON) AS schema_json)",
            }.get(name, "SELECT *")
            con.execute(f"CREATE OR REPLACE TABLE {META_SCHEMA}.{name} AS {select} FROM {view}")
        finally:
            con.unregister(view)
    return created
