"""Generators of the dbt files that exist once per CD2 table (sources, current state, staging, docs).

``extract.codegen`` collects their output; each module writes one kind of file:

* ``sources``: ``models/current_state/<ns>/_<ns>__sources.yml``, the raw tables with the facts
  the current-state macros read (key, whether history is kept, landing column types)
* ``current_state``: ``models/current_state/<ns>/<ns>__<table>.sql``, their YAML and the
  tombstone log ``models/current_state/cd2/cd2__deleted_rows.sql``
* ``staging``: ``models/staging/<ns>/stg_<ns>__<table>.sql`` and their YAML
* ``markers``: ``macros/generated/cd2_value_markers.sql`` (truncation placeholders, unknown enum)
* ``docs``: ``models/staging/canvas/_canvas__docs.md``

Every namespace of the schemas gets its folders (``models/current_state/<ns>``,
``models/staging/<ns>``); no namespace is named in the code.
"""

from __future__ import annotations

from extract.dbtgen import current_state, docs, markers, naming, pii, sources, staging
from extract.dbtgen.render import GENERATED_MARKER, GeneratedFile
from extract.schema import TableSchema

# Generated files live in these folders and their namespace subfolders (beside hand-written files,
# which lack the generated marker).
GENERATED_ROOTS = (naming.CURRENT_STATE_DIR, naming.STAGING_DIR)
GENERATED_DIRS = ("macros/generated",)


def dbt_files(schemas: list[TableSchema]) -> list[GeneratedFile]:
    naming.check_names(schemas)
    pii.check_policy({s.qualified_name: s for s in schemas})
    return [
        markers.markers_macro(),
        *sources.files(schemas),
        *current_state.files(schemas),
        *staging.files(schemas),
        *docs.files(schemas),
    ]


__all__ = ["GENERATED_DIRS", "GENERATED_MARKER", "GENERATED_ROOTS", "GeneratedFile", "dbt_files"]
