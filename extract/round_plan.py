"""Which models a ``cd2 run`` round builds: those whose inputs changed since they were last built.

A model is *fresh* (left out of the round, with its tests) when building it again could not
change it:

* a current-state model: nothing new to merge (``extract.unchanged``: no committed batch with rows,
  no snapshot, no new schema version since the batch it merged);
* any other model: its relation exists (ephemeral models have none), it is not *pending* (see
  below), it reads no source directly (a source such as ``cd2_meta.table_state``, behind
  ``int_core__as_of``, can change without a batch), and every model or seed it reads is fresh.

Everything else is built, and dbt's eager test selection runs every test that touches a built
model, including a relationship test from a built model to a fresh one.

*Pending*: a model chosen for a round stays due until it is built without error. ``cd2 run``
writes the round's models to ``cd2_meta.round_pending`` before dbt starts, and the on-run-end
hook ``cd2_record_round_built`` removes those that succeeded; a model that failed, was skipped
after a failure upstream, or whose round was killed is built again next round even when its
inputs did not change again.

*Standing views*: a view whose inputs changed need not be created again: it is a query, and it
reads its inputs as they are whenever it is read. The round leaves it standing and runs only its
tests, unless its columns could change: it is new or pending, it reads a source itself, or a
current-state model upstream merges a batch of another schema version (``same_shape_models``).
The code cannot change in a selective round (see below). What follows a standing view is built
as if the view had been.

*Now*: ``int_core__as_of`` reads the watermarks, so it changes every round; a model that reads
it only for its stamp or its local day counts it as unchanged while that holds
(``extract/round_now.py``), and a left-out model downstream of it is restamped before dbt starts.

The whole project counts as code (``extract.unchanged.code_fingerprint``): after any change to
models, macros, seeds, tests, the project file or the pseudonym secret, every model is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from extract.database import open_database
from extract.round_now import NOW_MODEL, Now, Stamped, bucket_of, built_with, create_table, read_now, same_bucket
from extract.unchanged import same_shape_models

CURRENT_STATE_TAG = "cd2_current_state"
PENDING_TABLE = "cd2_meta.round_pending"
BUILT_KINDS = ("model", "seed", "snapshot")


@dataclass(frozen=True)
class Node:
    """What the plan needs of one dbt node."""

    unique_id: str
    kind: str  # model, seed, snapshot
    name: str
    schema: str
    relation: str  # identifier in the database (dbt's alias)
    ephemeral: bool
    current_state: bool
    parents: tuple[str, ...]  # unique ids: models, seeds, snapshots, sources
    now_bucket: str | None = None  # meta cd2_now (extract/round_now.py)
    view: bool = False


@dataclass
class RoundPlan:
    """``build``: names of the models, seeds and snapshots to build; None: build everything."""

    build: list[str] | None
    fresh: list[str] = field(default_factory=list)  # left out: nothing they read changed
    standing: list[str] = field(default_factory=list)  # views whose inputs changed: only their tests run
    why_everything: str | None = None
    now: Now | None = None  # the round's now (int_core__as_of after the sync)
    built_now: dict[str, Now] = field(default_factory=dict)  # the now each model was last built with
    stamped: list[Stamped] = field(default_factory=list)  # left out, downstream of now: restamp

    @property
    def selective(self) -> bool:
        return self.build is not None


def nodes_of(manifest: Any) -> dict[str, Node]:
    """The buildable nodes of a parsed dbt manifest (``dbt parse``'s result)."""
    found: dict[str, Node] = {}
    for unique_id, node in manifest.nodes.items():
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        if kind not in BUILT_KINDS or not node.config.enabled:
            continue
        found[unique_id] = Node(
            unique_id=unique_id,
            kind=kind,
            name=node.name,
            schema=node.schema,
            relation=node.alias or node.name,
            ephemeral=node.config.materialized == "ephemeral",
            current_state=CURRENT_STATE_TAG in node.tags,
            parents=tuple(getattr(node.depends_on, "nodes", ())),  # a seed depends on macros only
            now_bucket=bucket_of(getattr(node.config, "meta", None) or {}, node.name),
            view=node.config.materialized == "view",
        )
    return found


def fresh_nodes(
    nodes: Mapping[str, Node],
    unchanged_current_state: Iterable[str],
    existing: set[tuple[str, str]],
    pending: set[str],
    now: Now | None = None,
    built_now: Mapping[str, Now] | None = None,
) -> set[str]:
    """Unique ids of the nodes a round can leave out (see the module's docstring).
    ``existing``: (schema, relation) pairs in the database, lower case; ``pending``: node names;
    ``now``: the round's now; ``built_now``: the now each model was last built with."""
    unchanged = set(unchanged_current_state)
    built_now = built_now or {}
    memo: dict[str, bool] = {}
    after_now = downstream_of_now(nodes)

    def parent_fresh(node: Node, parent: str) -> bool:
        reader = parent in nodes and nodes[parent].name == NOW_MODEL
        if reader:  # now moved; the model says whether that can change its rows
            return same_bucket(node.now_bucket, built_now.get(node.name), now)
        return fresh(parent)

    def fresh(unique_id: str) -> bool:
        if unique_id in memo:
            return memo[unique_id]
        memo[unique_id] = False  # a cycle (none in dbt) or a source reads as changed
        node = nodes.get(unique_id)
        if node is None:  # a source, or a node the plan does not know: changed
            return False
        if node.current_state:
            result = node.name in unchanged
        else:
            result = (
                node.name not in pending
                and (node.ephemeral or (node.schema.lower(), node.relation.lower()) in existing)
                # a stamp can be brought up to date only from the now it was built with
                and (unique_id not in after_now or node.name in built_now)
                and all(parent_fresh(node, parent) for parent in node.parents)
            )
        memo[unique_id] = result
        return result

    return {unique_id for unique_id in nodes if fresh(unique_id)}


def standing_views(
    nodes: Mapping[str, Node],
    changed: Iterable[str],
    existing: set[tuple[str, str]],
    pending: set[str],
    same_shape: set[str],
) -> set[str]:
    """Unique ids of the ``changed`` views a round can leave standing (see the module's
    docstring). ``same_shape``: names of the current-state models whose columns the round keeps."""
    memo: dict[str, bool] = {}

    def shape_kept(unique_id: str) -> bool:
        """Whether the columns of every current-state model at or above the node hold."""
        if unique_id not in memo:
            memo[unique_id] = False
            node = nodes.get(unique_id)
            if node is None:  # a source read by a model other than a current-state one: the project's own tables
                memo[unique_id] = True
            elif node.current_state:
                memo[unique_id] = node.name in same_shape
            else:
                memo[unique_id] = all(shape_kept(parent) for parent in node.parents)
        return memo[unique_id]

    standing: set[str] = set()
    for unique_id in changed:
        node = nodes[unique_id]
        if (
            node.view
            and node.name not in pending
            and (node.schema.lower(), node.relation.lower()) in existing
            and all(parent in nodes for parent in node.parents)  # a view over a source is created again
            and shape_kept(unique_id)
        ):
            standing.add(unique_id)
    return standing


def downstream_of_now(nodes: Mapping[str, Node]) -> set[str]:
    """Unique ids of the nodes that read ``int_core__as_of``, directly or through other nodes."""
    memo: dict[str, bool] = {}

    def reads_now(unique_id: str) -> bool:
        if unique_id not in memo:
            memo[unique_id] = False
            node = nodes.get(unique_id)
            if node is not None:
                memo[unique_id] = any(
                    parent in nodes and (nodes[parent].name == NOW_MODEL or reads_now(parent))
                    for parent in node.parents
                )
        return memo[unique_id]

    return {unique_id for unique_id in nodes if reads_now(unique_id)}


def plan_round(db: Path, manifest: Any, unchanged_current_state: list[str], code_matches: bool) -> RoundPlan:
    """The round's plan for the DuckDB file ``db``. Everything is built when the stored code
    fingerprint differs (``code_matches`` False) or the file holds no record of earlier builds."""
    if not code_matches:
        return RoundPlan(None, why_everything="the project's code or settings changed since the last build")
    if not db.exists():
        return RoundPlan(None, why_everything="nothing built yet")
    nodes = nodes_of(manifest)
    con = open_database(db, read_only=True, allow_foreign=True)
    try:
        existing = {
            (schema.lower(), name.lower())
            for schema, name in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database()"
            ).fetchall()
        }
        pending = _pending(con)
        same_shape = same_shape_models(con)
        now_node = next((node for node in nodes.values() if node.name == NOW_MODEL), None)
        now = read_now(con, now_node.schema, now_node.relation) if now_node else None
        built_now = built_with(con)
    finally:
        con.close()
    if pending is None:
        return RoundPlan(None, why_everything="no record of which models are due (a first selective round)")
    fresh = fresh_nodes(nodes, unchanged_current_state, existing, pending, now, built_now)
    changed = [uid for uid, node in nodes.items() if uid not in fresh and not node.ephemeral]
    standing = standing_views(nodes, changed, existing, pending, same_shape) if same_shape is not None else set()
    build = sorted(nodes[uid].name for uid in changed if uid not in standing)
    after_now = downstream_of_now(nodes)
    stamped = [
        Stamped(node.name, node.schema, node.relation)
        for uid, node in sorted(nodes.items())
        if uid in fresh and uid in after_now and not node.ephemeral
    ]
    return RoundPlan(
        build,
        fresh=sorted(nodes[uid].name for uid in fresh),
        standing=sorted(nodes[uid].name for uid in standing),
        now=now,
        built_now=built_now,
        stamped=stamped,
    )


def _pending(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    try:
        return {name for (name,) in con.execute(f"SELECT model FROM {PENDING_TABLE}").fetchall()}
    except duckdb.CatalogException:
        return None


def mark_pending(db: Path, models: Iterable[str]) -> None:
    """Record ``models`` as due before dbt builds them (the on-run-end hook clears those built)."""
    names = sorted(set(models))
    con = open_database(db, allow_foreign=True)
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS cd2_meta")
        con.execute(f"CREATE TABLE IF NOT EXISTS {PENDING_TABLE} (model VARCHAR PRIMARY KEY, since TIMESTAMP)")
        create_table(con)  # the now each model is built with, recorded by the same hook
        if names:
            con.executemany(
                f"INSERT OR IGNORE INTO {PENDING_TABLE} VALUES (?, CAST(now() AS TIMESTAMP))", [[n] for n in names]
            )
    finally:
        con.close()
