"""Size profiles of the synthetic institution.

A profile fixes the scale (courses, users, activity) and the clock: ``start`` is the store's
initial ``now`` (mid-way through the current term, so some work is past due and some is not).
Everything else (terms, course mix, enrollments per course …) is derived from these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Profile:
    name: str
    start: datetime
    courses: int  # all courses, every term and kind
    users: int  # people with a login (test students and other institutions come on top)
    colleges: int
    departments_per_college: int
    programs_per_department: int  # a fourth account level under some departments
    students_per_course: int  # mean roster size of a current-term course
    assignments_per_course: int
    web_logs: int  # rows of web_logs in the initial state
    web_log_days: int  # how far back the initial web_logs reach (beyond the 30-day retention)
    generic_rows: int  # rows of each table without a dedicated generator
    memory_limit: str = "2GB"
    on_disk: bool = False  # generate in a DuckDB file rather than in memory (for data well above memory_limit)
    threads: int = 2
    past_terms: int = 2
    time_zone: str = "America/New_York"

    @property
    def description(self) -> str:
        return (
            f"{self.name}: ~{self.courses} courses, ~{self.users} users, "
            f"~{self.web_logs} web_logs rows, start {self.start.isoformat()}Z"
        )


START = datetime(2024, 10, 21, 16, 0, 0)

PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        name="tiny",
        start=START,
        courses=20,
        users=150,
        colleges=2,
        departments_per_college=2,
        programs_per_department=1,
        students_per_course=26,
        assignments_per_course=7,
        web_logs=20_000,
        web_log_days=40,
        generic_rows=12,
        memory_limit="1GB",
    ),
    "demo": Profile(
        name="demo",
        start=START,
        courses=300,
        users=3_000,
        colleges=4,
        departments_per_college=4,
        programs_per_department=1,
        students_per_course=48,
        assignments_per_course=11,
        web_logs=1_000_000,
        web_log_days=40,
        generic_rows=150,
        memory_limit="2GB",
    ),
    "large": Profile(
        name="large",
        start=START,
        courses=5_000,
        users=50_000,
        colleges=8,
        departments_per_college=6,
        programs_per_department=2,
        students_per_course=80,
        assignments_per_course=8,
        web_logs=30_000_000,
        web_log_days=40,
        generic_rows=2_000,
        memory_limit="4GB",
        on_disk=True,
        past_terms=3,
    ),
}


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown synthetic profile {name!r}; choose one of {sorted(PROFILES)}") from None
