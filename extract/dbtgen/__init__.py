"""Generators of the dbt files that exist once per CD2 table (sources, current state, staging, docs).

``extract.codegen`` collects their output; each module writes one kind of file:

* ``sources``: ``models/staging/<ns>/_<ns>__sources.yml``
* ``current_state``: ``models/current_state/<ns>/<ns>__<table>.sql`` and their YAML
* ``staging``: ``models/staging/<ns>/stg_<ns>__<table>.sql`` and their YAML
* ``catalog``: ``macros/generated/cd2_catalog.sql`` (tables, keys, landing types for the macros)
* ``docs``: ``models/staging/canvas/_canvas__docs.md``
"""

from __future__ import annotations

from extract.dbtgen import catalog, current_state, docs, naming, pii, sources, staging
from extract.dbtgen.render import GENERATED_MARKER, GeneratedFile
from extract.schema import TableSchema

# Folders that only hold generated files (and hand-written files without the generated marker).
GENERATED_DIRS = (
    "models/current_state/canvas",
    "models/current_state/canvas_logs",
    "models/staging/canvas",
    "models/staging/canvas_logs",
    "macros/generated",
)


def dbt_files(schemas: list[TableSchema]) -> list[GeneratedFile]:
    naming.check_names(schemas)
    pii.check_policy({s.qualified_name: s for s in schemas})
    return [
        catalog.catalog_macro(schemas),
        *sources.files(schemas),
        *current_state.files(schemas),
        *staging.files(schemas),
        *docs.files(),
    ]


__all__ = ["GENERATED_DIRS", "GENERATED_MARKER", "GeneratedFile", "dbt_files"]
