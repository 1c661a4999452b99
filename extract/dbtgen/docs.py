"""``models/staging/canvas/_canvas__docs.md``: doc blocks for text shared by many columns and models."""

from __future__ import annotations

from pathlib import Path

from extract.dbtgen import describe, descriptions, naming
from extract.dbtgen.render import GENERATED_NOTE, GeneratedFile
from extract.schema import ENUM_UNKNOWN, TRUNCATION_MARKERS, TableSchema, namespaces_of

PATH = "models/staging/canvas/_canvas__docs.md"

LOAD_COLUMNS: dict[str, str] = {
    "_meta_ts": "CD2's `meta.ts` of this version of the row: when the change was committed to the CD2 data "
    "lake (UTC). It is not when the change happened in Canvas.",
    "_meta_action": "CD2's `meta.action`: `U` for an upsert (the row's new values), `D` for a hard delete (the "
    "key only; every value column is null).",
    "_batch_id": "The `cd2 sync` batch that landed this version of the row (`cd2_meta.batches.batch_id`). "
    "Batch ids increase with every committed batch.",
    "_loaded_at": "When `cd2 sync` committed the batch that landed this version of the row (UTC).",
    "_schema_version": "Version of the CD2 table schema this version of the row was landed with.",
}

BLOCKS: dict[str, str] = {
    "cd2__raw_table": "Append-only change log landed by `cd2 sync`: every version of every row CD2 sent "
    "(snapshot rows, incremental upserts and hard deletes), with the load metadata `_meta_ts`, "
    "`_meta_action`, `_batch_id`, `_loaded_at` and `_schema_version`. Columns are added when CD2 "
    "publishes a new schema version, never dropped.",
    "cd2__current_state_model": "Built incrementally from the raw change log by `cd2_current_state`: the "
    "latest version of each key by `_meta_ts`, hard deletes (`meta.action = 'D'`) removed, and the whole "
    "table replaced by a new snapshot when CD2 re-snapshots it (keys absent from the snapshot are gone). "
    "Soft deletes (`workflow_state = 'deleted'`) stay. Table and column names are CD2's own; nested values "
    "are JSON. `--full-refresh` rebuilds the same rows from the raw change log. Built in `cd2` mode only "
    "(DuckDB): in `dap_syncdb` mode the tables `dap syncdb` keeps are the current state and this layer is "
    'disabled (DECISIONLOG.md, "Two source modes").',
    "cd2__staging_model": "Reads the table's current state (the current-state model in `cd2` mode; in "
    "`dap_syncdb` mode the table `dap syncdb` keeps, where the per-row load metadata is null and "
    "`_schema_version` is the table's version in dap's `instructure_dap.table_sync`); the key "
    "is renamed to `<entity>_id`, nested JSON "
    f"is typed, `{ENUM_UNKNOWN}` enum values and truncation placeholders ("
    + ", ".join(f"`{m}`" for m in TRUNCATION_MARKERS)
    + ") are null (with an `is_<column>_truncated` flag), and soft deletes are flagged `is_deleted`. "
    "Columns tagged `meta.pii` hold personal data: marts leave them out.",
    "cd2__is_deleted": "Whether the row is soft-deleted in Canvas (`workflow_state = 'deleted'`). Such rows "
    "stay in CD2; filter them out unless you need them.",
}


# What a namespace holds, for the ones known; any other gets the generic sentence alone.
NAMESPACES: dict[str, str] = {
    "canvas": "Canvas LMS itself: courses, people, enrollments, coursework, grades and content.",
    "canvas_logs": "Canvas's request log (`web_logs`); the API keeps 30 days, this project keeps what it landed.",
    "catalog": "Canvas Catalog (course storefront and registration), which an institution buys separately; "
    "the API answers for it only when the institution has Catalog.",
    "new_quizzes": "New Quizzes, the quiz engine that replaces classic quizzes.",
}


def source_block(namespace: str) -> str:
    return f"cd2__source_{naming.source_name(namespace)}"


def source_text(namespace: str) -> str:
    known = f" {NAMESPACES[namespace]}" if namespace in NAMESPACES else ""
    return (
        f"The `{namespace}` namespace of Canvas Data 2 as landed by `cd2 sync`: one append-only change-log "
        f"table per CD2 table.{known} Only the current-state models read these tables."
    )


def _block(name: str, text: str) -> str:
    return f"{{% docs {name} %}}\n{text}\n{{% enddocs %}}\n"


def docs_file(namespaces: list[str]) -> GeneratedFile:
    blocks = [_block(name, text) for name, text in BLOCKS.items()]
    blocks += [_block(source_block(ns), source_text(ns)) for ns in namespaces]
    blocks += [_block(describe.load_doc_block(name), text) for name, text in LOAD_COLUMNS.items()]
    blocks += [_block(describe.common_doc_block(name), text) for name, text in descriptions.COMMON_COLUMNS.items()]
    header = f"<!-- Doc blocks shared by the CD2 sources and models: {GENERATED_NOTE}. -->\n\n"
    return GeneratedFile(Path(PATH), header + "\n".join(blocks))


def files(schemas: list[TableSchema]) -> list[GeneratedFile]:
    return [docs_file(namespaces_of(schemas))]
