"""``macros/generated/cd2_value_markers.sql``: the values CD2 writes in place of data.

The staging macros (``macros/staging/cd2_staging_values.sql``) turn them into nulls: the
placeholders of oversized values and the enum member for a value outside the documented list.
"""

from __future__ import annotations

from pathlib import Path

from extract.dbtgen.render import GeneratedFile, sql_header, sql_string
from extract.schema import ENUM_UNKNOWN, TRUNCATION_MARKERS

PATH = "macros/generated/cd2_value_markers.sql"


def markers_macro() -> GeneratedFile:
    markers = ", ".join(sql_string(m) for m in TRUNCATION_MARKERS)
    text = (
        sql_header("The values CD2 writes in place of data")
        + "\n{% macro cd2_truncation_markers() %}\n"
        + f"    {{{{ return([{markers}]) }}}}\n"
        + "{% endmacro %}\n\n"
        + "{% macro cd2_enum_unknown() %}\n"
        + f"    {{{{ return({sql_string(ENUM_UNKNOWN)}) }}}}\n"
        + "{% endmacro %}\n"
    )
    return GeneratedFile(Path(PATH), text)
