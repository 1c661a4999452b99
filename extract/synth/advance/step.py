"""The context of one advance: clock window, salted randomness, current truth, staged changes.

The current state is read from the store's truth (``cur.<table>`` views, the busiest ones
materialised). ``adv.*`` holds derived relations the producers share: current courses,
their active students and teachers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import duckdb

from extract.synth.advance.changes import ChangeSet
from extract.synth.behavior import diligence_sql, fade_at_sql
from extract.synth.context import ts_sql
from extract.synth.ids import IdRegistry, id_base, model_name, qualified_name
from extract.synth.profiles import Profile
from extract.synth.rand import Rand
from extract.synth.store import Store

# truth relations read several times per advance are materialised once
MATERIALISED = ("courses", "enrollment_terms", "enrollments", "assignments", "submissions", "scores", "users")


def install_state(con: duckdb.DuckDBPyConnection, store: Store, until: datetime) -> None:
    """``cur.<table>``: the live rows now, with the columns of the schema in force at ``until``
    (nothing is committed after now yet, so only pending bumps make a difference)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS cur")
    for qname in store.tables():
        table = model_name(qname)
        kind = "TABLE" if table in MATERIALISED else "VIEW"
        con.execute(f"CREATE OR REPLACE {kind} cur.{table} AS {store.truth_sql(qname, until)}")


@dataclass
class Step:
    con: duckdb.DuckDBPyConnection
    store: Store
    profile: Profile
    rand: Rand
    registry: IdRegistry
    changes: ChangeSet
    lo: datetime
    hi: datetime
    index: int  # how many commits came before this one

    @property
    def hours(self) -> float:
        return (self.hi - self.lo).total_seconds() / 3600

    @property
    def lo_sql(self) -> str:
        return ts_sql(self.lo)

    @property
    def hi_sql(self) -> str:
        return ts_sql(self.hi)

    @property
    def start_sql(self) -> str:
        return ts_sql(self.profile.start)

    def sql(self, statement: str) -> None:
        self.con.execute(statement)

    def scalar(self, query: str) -> object:
        rows = self.con.execute(query).fetchall()
        return rows[0][0] if rows else None

    def event(self, tag: str, *keys: str) -> str:
        """A time uniform in (lo, hi]."""
        span = max(1, round((self.hi - self.lo).total_seconds() * 1_000_000) - 1)
        return f"({self.lo_sql} + to_microseconds(1 + CAST(floor({self.rand.u(tag, *keys)} * {span}) AS BIGINT)))"

    def clamp(self, expr: str) -> str:
        """``expr`` moved into (lo, hi]."""
        return f"least(greatest({expr}, {self.lo_sql} + INTERVAL 1 MILLISECOND), {self.hi_sql})"

    def chance(self, per_hour: float | str, tag: str, *keys: str) -> str:
        """True with the probability that an event of rate ``per_hour`` happens in this window."""
        return f"({self.rand.u(tag, *keys)} < 1 - exp(-({per_hour}) * {self.hours}))"

    def quota(self, per_hour: float, candidates: int, minimum: int = 0) -> int:
        """How many of ``candidates`` change in this window (at least ``minimum`` if any exist)."""
        if candidates <= 0:
            return 0
        expected = candidates * (1 - math.exp(-per_hour * self.hours))
        return min(candidates, max(minimum, round(expected)))

    def next_id(self, table: str) -> int:
        """One past the largest id ever used by ``table`` (deleted ids are never reused)."""
        value = self.scalar(f"SELECT max(id) FROM ({self.store.changes_sql(qualified_name(table))})")
        return int(value) + 1 if value is not None else id_base(table)

    def diligence(self, user_id: str) -> str:
        return diligence_sql(Rand(self.store.seed), user_id)

    def fade_at(self, user_id: str) -> str:
        return fade_at_sql(Rand(self.store.seed), user_id, self.start_sql)


def install_shared(step: Step) -> None:
    """``adv.course`` (current courses), ``adv.student`` (their active students), ``adv.teacher``."""
    step.sql("CREATE SCHEMA IF NOT EXISTS adv")
    lo, hi = step.lo_sql, step.hi_sql
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.course AS
        SELECT c.id AS course_id, c.account_id, t.start_at AS term_start, t.end_at AS term_end
        FROM cur.courses c JOIN cur.enrollment_terms t ON t.id = c.enrollment_term_id
        WHERE c.workflow_state = 'available' AND t.start_at <= {hi} AND t.end_at > {lo}
          AND (c.conclude_at IS NULL OR c.conclude_at > {lo} OR NOT coalesce(c.restrict_enrollments_to_course_dates,
              false))
    """)
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.student AS
        SELECT e.user_id, e.course_id, min(e.id) AS enrollment_id, min(e.course_section_id) AS section_id,
               bool_or(e.type = 'StudentViewEnrollment') AS is_test,
               {step.diligence("e.user_id")} AS diligence, {step.fade_at("e.user_id")} AS fade_at
        FROM cur.enrollments e JOIN adv.course c ON c.course_id = e.course_id
        WHERE e.workflow_state = 'active' AND e.type IN ('StudentEnrollment', 'StudentViewEnrollment')
        GROUP BY e.user_id, e.course_id
    """)
    step.sql("""
        CREATE OR REPLACE TABLE adv.teacher AS
        SELECT e.course_id, min(e.user_id) AS teacher_id FROM cur.enrollments e JOIN adv.course c USING (course_id)
        WHERE e.workflow_state = 'active' AND e.type IN ('TeacherEnrollment', 'TaEnrollment') GROUP BY ALL
    """)
