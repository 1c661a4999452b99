"""Complete, schema-valid row images from a partial description.

A table is described by a *source* query (one row per output row, exposing at least the
primary key) and a dict of SQL *values* for the columns the domain logic cares about. Every
other column gets a schema-driven default: enum members (rarely ``__dap_unspecified__``),
foreign keys that resolve (polymorphic ``*_id``/``*_type`` pairs agree), messy text, nulls
where allowed, ``max_length`` respected, nested STRUCT/LIST values. The result is one SELECT
with exactly the table's columns, cast to their DuckDB types, plus ``meta_ts``.

The same builder completes rows while advancing: columns present in the source pass through,
so only columns added by a schema bump get defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from extract.schema import ENUM_UNKNOWN, Column, TableSchema
from extract.synth.ids import TYPE_TABLES, IdRegistry, referenced_model
from extract.synth.rand import Rand, sql_literal

# columns that hold a planned time (may lie in the future) rather than an event time
_SCHEDULE_WORDS = ("due", "unlock", "lock_at", "start", "end", "conclude", "expires", "valid_until", "todo")
_ACTIVE_STATES = ("active", "available", "published", "registered", "accepted", "complete", "completed")
_TIME_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London"]
_LOCALES = ["en", "en", "en", "en-GB", "es", "fr", "zh-Hans", "ar"]

UNSPECIFIED_RATE = 0.01
MESSY_RATE = 0.04
MARKER_RATE = 0.01


@dataclass(frozen=True)
class BuildEnv:
    """What defaults depend on: the connection, the seed's randomness, the id registry, the clock."""

    con: duckdb.DuckDBPyConnection
    rand: Rand
    registry: IdRegistry
    clock: str  # SQL TIMESTAMP: no default event time lies after it


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_columns(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    return list(con.sql(f"SELECT * FROM ({source}) LIMIT 0").columns)


def snake_type(type_sql: str) -> str:
    """'CourseSection' -> 'course_section' (how Canvas spells context codes)."""
    return f"lower(regexp_replace(replace({type_sql}, '::', '_'), '([a-z])([A-Z])', '\\1_\\2', 'g'))"


def free_text(rand: Rand, tag: str, key: str, *, kind: str = "sentence", marker: bool = False) -> str:
    """Ordinary text (``kind``: phrase, sentence or html), sometimes messy, sometimes (where
    allowed) a truncation placeholder."""
    h = rand.h(tag, key)
    clean = {
        "phrase": f"syn_phrase({h}, 2 + CAST({h} % 3 AS BIGINT))",
        "sentence": f"syn_sentence({h}, 4 + CAST({h} % 8 AS BIGINT))",
        "html": f"syn_html({h}, 1 + CAST({h} % 3 AS BIGINT))",
    }[kind]
    out = f"CASE WHEN {rand.chance(MESSY_RATE, tag + ':messy', key)} THEN syn_messy({rand.h(tag + ':m', key)}) "
    if marker:
        out += f"WHEN {rand.chance(MARKER_RATE, tag + ':marker', key)} THEN syn_marker({rand.h(tag + ':mk', key)}) "
    return out + f"ELSE {clean} END"


class RowBuilder:
    """Builds the full-row SELECT for one table (see the module docstring)."""

    def __init__(
        self,
        env: BuildEnv,
        schema: TableSchema,
        source: str,
        values: dict[str, str] | None = None,
        *,
        meta_ts: str | None = None,
        pick_nullable_fks: bool = True,
        fill: frozenset[str] = frozenset(),
        sparse: bool = False,
    ) -> None:
        self.env = env
        self.rand = env.rand
        self.schema = schema
        self.source = source
        self.values = dict(values or {})
        self.meta_ts = meta_ts
        self.pick_nullable_fks = pick_nullable_fks
        self.fill = fill  # source columns whose NULLs get a default (columns added by a schema bump)
        self.sparse = sparse  # nullable columns without a value stay NULL (except ``fill`` ones)
        self.present = set(source_columns(env.con, source))
        missing_keys = [k for k in schema.primary_key if k not in self.present and k not in self.values]
        if missing_keys:
            raise ValueError(f"{schema.qualified_name}: the source must provide the key {missing_keys}")
        unknown = set(self.values) - {c.name for c in schema.columns}
        if unknown:
            raise ValueError(f"{schema.qualified_name}: values for unknown columns {sorted(unknown)}")
        self.key = ", ".join(
            f"src.{quote(k)}" if k in self.present else f"({self.values[k]})" for k in schema.primary_key
        )
        self.tag = schema.name
        self._columns = {c.name: c for c in schema.columns}
        self._resolved: dict[str, str] = {}

    # ---- public -------------------------------------------------------------------------------
    def select_sql(self) -> str:
        parts = []
        for column in self.schema.columns:
            expr = self.resolve(column.name)
            if column.type == "string" and column.max_length and column.format is None:
                expr = f"left({expr}, {column.max_length})"
            parts.append(f"CAST({expr} AS {column.duckdb_type()}) AS {quote(column.name)}")
        parts.append(f"CAST({self.meta_ts or self._default_meta_ts()} AS TIMESTAMP) AS meta_ts")
        return f"SELECT {', '.join(parts)} FROM ({self.source}) AS src"

    def resolve(self, name: str) -> str:
        """The SQL of column ``name``: given value, source passthrough, or default."""
        if name not in self._resolved:
            if name in self.values:
                expr = f"({self.values[name]})"
            elif name in self.present and name in self.fill:
                expr = f"coalesce(src.{quote(name)}, {self._filled(self._columns[name])})"
            elif name in self.present:
                expr = f"src.{quote(name)}"
            else:
                expr = self._default(self._columns[name])
            self._resolved[name] = expr
        return self._resolved[name]

    # ---- defaults -----------------------------------------------------------------------------
    def _default_meta_ts(self) -> str:
        lag = self.rand.int_between(1_000, 4 * 3_600_000, f"{self.tag}.meta_lag", self.key)
        anchor = None
        for name in ("updated_at", "created_at"):
            if name in self._columns:
                anchor = self.resolve(name)
                break
        if anchor is None:
            anchor = f"{self.env.clock} - INTERVAL 30 DAY"
        return (
            f"least({self.env.clock}, coalesce({anchor}, {self.env.clock} - INTERVAL 30 DAY) + to_milliseconds({lag}))"
        )

    def _filled(self, column: Column) -> str:
        """A value (never NULL) for a column a schema bump added."""
        return self._value(column, f"{self.tag}.{column.name}", self.key)

    def _default(self, column: Column) -> str:
        name = column.name
        if name in self.fill:
            return self._filled(column)
        if self.sparse and column.nullable:
            return "NULL"
        special = self._special(column)
        if special is not None:
            return special
        if len(column.references) > 1:
            return self._polymorphic_id(column)
        if column.references:
            return self._foreign_key(column)
        expr = self._value(column, f"{self.tag}.{name}", self.key)
        rate = self._null_rate(column)
        if column.nullable and rate > 0:
            expr = f"CASE WHEN {self.rand.chance(rate, f'{self.tag}.{name}:null', self.key)} THEN NULL ELSE {expr} END"
        return expr

    def _special(self, column: Column) -> str | None:
        r, k, name = self.rand, self.key, column.name
        clock = self.env.clock
        if name == "created_at" and column.type == "string":
            return r.ts_between(
                f"({clock} - INTERVAL 400 DAY)", f"({clock} - INTERVAL 1 DAY)", f"{self.tag}.created", k
            )
        if name == "updated_at" and "created_at" in self._columns:
            return r.ts_between(self.resolve("created_at"), clock, f"{self.tag}.updated", k)
        if name == "deleted_at":
            if "workflow_state" in self._columns:
                return f"CASE WHEN {self.resolve('workflow_state')} = 'deleted' THEN {self._event_time()} END"
            return "CAST(NULL AS TIMESTAMP)"
        if name == "context_code" and "context_type" in self._columns and "context_id" in self._columns:
            return f"{snake_type(self.resolve('context_type'))} || '_' || CAST({self.resolve('context_id')} AS VARCHAR)"
        if name.endswith("_type") and column.enum and self._type_targets(column):
            return self._type_choice(column)
        return None

    def _event_time(self) -> str:
        if "updated_at" in self._columns:
            return self.resolve("updated_at")
        return self.env.clock

    def _type_targets(self, column: Column) -> dict[str, str]:
        """For a polymorphic discriminator: type value -> referenced table, limited to its id column's refs."""
        id_column = self._columns.get(column.name[: -len("_type")] + "_id")
        if id_column is None or not id_column.references:
            return {}
        ref_tables = {referenced_model(ref) for ref in id_column.references}
        return {
            value: TYPE_TABLES[value]
            for value in column.enum or ()
            if value in TYPE_TABLES and TYPE_TABLES[value] in ref_tables
        }

    def _type_choice(self, column: Column) -> str:
        targets = list(self._type_targets(column))
        weights = [6 if t == "Course" else 1 for t in targets]
        return self.rand.pick(targets, f"{self.tag}.{column.name}", self.key, weights=weights)

    def _polymorphic_id(self, column: Column) -> str:
        type_name = column.name[: -len("_id")] + "_type"
        type_column = self._columns.get(type_name)
        targets = self._type_targets(type_column) if type_column is not None else {}
        index = self.rand.h(f"{self.tag}.{column.name}", self.key)
        if not targets:
            return self.env.registry.lookup(referenced_model(column.references[0]), index)
        type_sql = self.resolve(type_name)
        cases = " ".join(
            f"WHEN {sql_literal(value)} THEN {self.env.registry.lookup(table, index)}"
            for value, table in targets.items()
        )
        return f"CASE {type_sql} {cases} END"

    def _foreign_key(self, column: Column) -> str:
        table = referenced_model(column.references[0])
        lookup = self.env.registry.lookup(table, self.rand.h(f"{self.tag}.{column.name}", self.key))
        if not column.nullable:
            return lookup
        if not self.pick_nullable_fks:
            return "CAST(NULL AS BIGINT)"
        return (
            f"CASE WHEN {self.rand.chance(0.3, f'{self.tag}.{column.name}:null', self.key)} THEN NULL ELSE {lookup} END"
        )

    def _null_rate(self, column: Column) -> float:
        name = column.name
        if name in ("migration_id", "integration_id", "lti_context_id", "sis_batch_id"):
            return 0.8
        if name.startswith("sis_") or "turnitin" in name:
            return 0.5
        return 0.15

    # ---- scalar values by type and name ------------------------------------------------------------
    def _value(self, column: Column, tag: str, k: str) -> str:
        r = self.rand
        if column.type == "object":
            return self._struct(column, tag, k)
        if column.type == "array":
            return self._array(column, tag, k)
        if column.enum:
            return self._enum(column, tag, k)
        if column.type == "boolean":
            return f"({r.h(tag, k)} % 4 = 0)"
        if column.type == "integer":
            return self._integer(column, tag, k)
        if column.type == "number":
            if column.is_decimal:
                bound = 10 ** ((column.precision or 18) - (column.scale or 0)) - 1
                return f"round({r.u(tag, k)} * {min(bound, 100)}, {column.scale or 0})"
            return self._float(column, tag, k)
        fmt = column.format
        if fmt == "date-time":
            return self._timestamp(column, tag, k)
        if fmt == "date":
            return f"CAST({self._timestamp(column, tag, k)} AS DATE)"
        if fmt == "uuid":
            return r.uuid(tag, k)
        if fmt == "ipv4-or-ipv6":
            return ip_address(r, tag, k)
        return self._string(column, tag, k)

    def _enum(self, column: Column, tag: str, k: str) -> str:
        members = [m for m in column.enum or () if m != ENUM_UNKNOWN]
        r = self.rand
        if column.name == "workflow_state":
            preferred = next((s for s in _ACTIVE_STATES if s in members), members[0])
            weights = [85 if m == preferred else (6 if m == "deleted" else 1) for m in members]
            choice = r.pick(members, tag, k, weights=weights)
        else:
            choice = r.pick(members, tag, k)
        if ENUM_UNKNOWN in (column.enum or ()):
            unknown = r.chance(UNSPECIFIED_RATE, tag + ":unspecified", k)
            return f"CASE WHEN {unknown} THEN '{ENUM_UNKNOWN}' ELSE {choice} END"
        return choice

    def _integer(self, column: Column, tag: str, k: str) -> str:
        r, name = self.rand, column.name
        if name == "position":
            return r.int_between(1, 30, tag, k)
        if name == "depth":
            return r.int_between(0, 3, tag, k)
        if "count" in name:
            return r.int_between(0, 40, tag, k)
        if name in ("attempt", "version") or name.endswith("_version"):
            return r.int_between(1, 3, tag, k)
        if "quota" in name or name == "size":
            return r.int_between(1_000, 500_000_000, tag, k)
        if column.format == "int16":
            return r.int_between(0, 100, tag, k)
        return r.int_between(0, 1_000, tag, k)

    def _float(self, column: Column, tag: str, k: str) -> str:
        u = self.rand.u(tag, k)
        name = column.name
        if "percent" in name:
            return f"round({u}, 2)"
        if "weight" in name:
            return f"round({u} * 50)"
        return f"round({u} * 100, 1)"

    def _timestamp(self, column: Column, tag: str, k: str) -> str:
        r = self.rand
        created = self.resolve("created_at") if "created_at" in self._columns and column.name != "created_at" else None
        anchor = created or f"({self.env.clock} - INTERVAL 200 DAY)"
        if any(word in column.name for word in _SCHEDULE_WORDS):
            return r.ts_between(f"({anchor} - INTERVAL 30 DAY)", f"({anchor} + INTERVAL 120 DAY)", tag, k)
        return r.ts_between(anchor, self.env.clock, tag, k)

    def _string(self, column: Column, tag: str, k: str) -> str:
        r, name = self.rand, column.name
        h = r.h(tag, k)
        if column.encoded_json:
            return f"'{{\"' || syn_word({h}) || '\": ' || CAST({h} % 100 AS VARCHAR) || '}}'"
        if name in ("uuid", "lti_context_id") or name.endswith("_uuid"):
            return r.token(40, tag, k)
        if name in ("url", "domain") or name.endswith(("_url", "redirect_uri")):
            path = f"syn_word(hash({h}, 1)) || '/' || CAST({h} % 10000 AS VARCHAR)"
            return f"'https://' || syn_word({h}) || '.example.edu/' || {path}"
        if name.startswith("sis_") or name == "integration_id":
            return f"'SIS-' || upper({r.token(8, tag, k)})"
        if name == "migration_id":
            return f"'mastercourse_1_1_' || {r.token(32, tag, k)}"
        if name.endswith("time_zone"):
            return r.pick(_TIME_ZONES, tag, k)
        if name.endswith("locale"):
            return r.pick(_LOCALES, tag, k)
        if name in ("email", "path"):
            return f"lower(syn_word({h})) || '.' || CAST({h} % 1000 AS VARCHAR) || '@example.edu'"
        if name == "workflow_state":
            return "'active'"
        if name == "sortable_name":
            return f"syn_last({h}) || ', ' || syn_first(hash({h}, 1))"
        if name in ("name", "title", "display_name", "short_name", "label", "subject", "filename"):
            return free_text(r, tag, k, kind="phrase", marker=column.truncation_marker)
        if column.truncation_marker or column.max_length is None:
            kind = "html" if name in ("description", "body", "message") else "sentence"
            return free_text(r, tag, k, kind=kind, marker=column.truncation_marker)
        return f"syn_phrase({h}, 2)"

    def _struct(self, column: Column, tag: str, k: str) -> str:
        fields = []
        for prop in column.properties or ():
            value = self._value(prop, f"{tag}.{prop.name}", k)
            if prop.nullable:
                value = f"CASE WHEN {self.rand.chance(0.5, f'{tag}.{prop.name}:null', k)} THEN NULL ELSE {value} END"
            fields.append(f"{quote(prop.name)} := {value}")
        if not fields:
            return "NULL"
        return f"struct_pack({', '.join(fields)})"

    def _array(self, column: Column, tag: str, k: str) -> str:
        item = column.items or Column(name="", type="string")
        n = self.rand.int_between(0 if column.nullable else 1, 3, tag + ":len", k)
        element = self._value(item, tag + "[]", f"{k}, _i")  # each element hashes on its index
        return f"list_transform(range({n}), lambda _i: {element})"


def ip_address(rand: Rand, tag: str, key: str, ipv6_share: float = 0.15) -> str:
    """An IPv4 address, or (sometimes) an IPv6 one, as text; always a valid address (the official
    client rejects a row with an invalid one)."""
    h = rand.h(tag, key)
    v4 = (
        f"concat_ws('.', CAST(({h} % 223) + 1 AS VARCHAR), CAST(({h} >> 8) % 256 AS VARCHAR), "
        f"CAST(({h} >> 16) % 256 AS VARCHAR), CAST(({h} >> 24) % 254 + 1 AS VARCHAR))"
    )
    v6 = f"'2001:db8:' || printf('%x', ({h} >> 4) % 65536) || '::' || printf('%x', ({h} >> 20) % 65535 + 1)"  # 1..ffff
    return f"CASE WHEN {rand.chance(ipv6_share, tag + ':v6', key)} THEN {v6} ELSE {v4} END"
