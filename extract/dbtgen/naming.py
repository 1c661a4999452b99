"""Names of the dbt objects generated per CD2 table: models, relations, entities and keys.

The entity of a table is the singular of its CD2 name, i.e. the Canvas model it stores
(``quizzes`` → ``quiz``). Staging renames the primary key ``id`` to ``<entity>_id``.
"""

from __future__ import annotations

from extract.landing.tables import LOAD_COLUMNS
from extract.names import check_name
from extract.schema import TableSchema

# Plurals the suffix rules below get wrong, and tables whose Canvas model name is itself plural.
SINGULAR_OVERRIDES: dict[str, str] = {
    "quizzes": "quiz",
    "custom_gradebook_column_data": "custom_gradebook_column_datum",
    "quiz_statistics": "quiz_statistics",  # Canvas model Quizzes::QuizStatistics
    "usage_rights": "usage_rights",  # Canvas model UsageRights
}

# Columns that must be renamed in staging because the table's renamed key takes their name.
COLUMN_RENAMES: dict[tuple[str, str], str] = {
    # the parent group: the group's own key becomes learning_outcome_group_id
    ("learning_outcome_groups", "learning_outcome_group_id"): "parent_learning_outcome_group_id",
}

# Tables whose history is kept: snapshots are partial (web_logs: the last 30 days), never a reload.
HISTORY_TABLES = frozenset({"canvas_logs.web_logs"})

CURRENT_STATE_DIR = "models/current_state"
STAGING_DIR = "models/staging"
STAGING_SCHEMA = "staging"


def singular(table: str) -> str:
    """The singular of a CD2 table name (only its last word is inflected)."""
    if table in SINGULAR_OVERRIDES:
        return SINGULAR_OVERRIDES[table]
    head, _, last = table.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last.endswith("ies"):
        return f"{prefix}{last[:-3]}y"
    if last.endswith(("sses", "ches", "shes", "xes")):
        return f"{prefix}{last[:-2]}"
    if last.endswith("s") and not last.endswith("ss"):
        return f"{prefix}{last[:-1]}"
    return table


def is_history(schema: TableSchema) -> bool:
    return schema.qualified_name in HISTORY_TABLES


def current_state_model(schema: TableSchema) -> str:
    """Model name of the current-state table, e.g. ``canvas__submissions`` (relation ``canvas.submissions``)."""
    return f"{schema.namespace}__{schema.name}"


def staging_model(schema: TableSchema) -> str:
    return f"stg_{schema.namespace}__{schema.name}"


def source_name(namespace: str) -> str:
    return f"raw_{namespace}"


def dap_source_name(namespace: str) -> str:
    """The source of the namespace's tables as dap syncdb maintains them (macros/sources/)."""
    return f"dap_{namespace}"


def staging_key(schema: TableSchema) -> str:
    """The primary-key column in staging: ``<entity>_id`` (kept when it is already named that way)."""
    (key,) = schema.primary_key
    if key != "id":
        return key
    return f"{singular(schema.name)}_id"


def staging_name(schema: TableSchema, column: str) -> str:
    """A CD2 column's name in staging: the primary key, and any column it would collide with, are renamed."""
    if column in schema.primary_key:
        return staging_key(schema)
    return COLUMN_RENAMES.get((schema.name, column), column)


def truncation_flag(column: str) -> str:
    return f"is_{column}_truncated"


def check_names(schemas: list[TableSchema]) -> None:
    """Fail when a name is not a safe CD2 name (``UnsafeNameError``: names become file paths,
    model names and SQL in the generated files), or when a renamed key or a derived flag would
    collide with an existing column."""
    for schema in schemas:
        check_name("namespace", schema.namespace)
        check_name("table", schema.name)
        for name in (*(c.name for c in schema.columns), *schema.primary_key):
            check_name("column", name, schema.qualified_name)
        # the current-state macros tell a table's CD2 columns from the load columns by name
        landed = {c.name for c in schema.columns} & {name for name, _ in LOAD_COLUMNS}
        if landed:
            raise ValueError(f"{schema.qualified_name}: columns named like a load column: {sorted(landed)}")
        if len(schema.primary_key) != 1:
            raise ValueError(f"{schema.qualified_name}: composite keys are not supported ({schema.primary_key})")
        names = [staging_name(schema, c.name) for c in schema.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{schema.qualified_name}: staging column names collide: {sorted(names)}")
        for column in schema.columns:
            if column.may_be_truncated and truncation_flag(column.name) in names:
                raise ValueError(f"{schema.qualified_name}: {truncation_flag(column.name)} collides with a column")
        if "is_deleted" in names:
            raise ValueError(f"{schema.qualified_name}: is_deleted collides with a column")
