"""Builders of the initial (base) state, one module per domain.

Each module exposes ``build(ctx)`` that materialises its model tables ``m.<table>`` (and the
helper relations ``h.*`` later builders need). ``STEPS`` is the order they run in; the id
ranges of the generic tables are registered before the first step (``generic.plan``).
"""

from __future__ import annotations

from collections.abc import Callable

from extract.synth.base import (
    content,
    courses,
    coursework,
    discussions,
    enrollments,
    generic,
    grading,
    groups,
    org,
    people,
    weblogs,
)
from extract.synth.context import GenContext

STEPS: list[tuple[str, Callable[[GenContext], None]]] = [
    ("accounts, terms and roles", org.build),
    ("courses and sections", courses.build),
    ("users and logins", people.build),
    ("enrollments", enrollments.build),
    ("groups", groups.build),
    ("assignments and overrides", coursework.build),
    ("submissions and scores", grading.build),
    ("discussions", discussions.build),
    ("pages, files, modules, tools and outcomes", content.build),
    ("other tables", generic.build),
    ("web_logs", weblogs.build),
]

plan = generic.plan
