"""Per-table cadence: tables that rarely change are synced only every so often.

In ``cd2.yml`` (``$CD2_CADENCE`` / ``--cadence`` take ``pattern=interval,…``, or ``none``)::

    cadence:
      canvas.course_account_associations: daily
      canvas.roles: 24h
      catalog.*: 12h

A key is a qualified name (``namespace.table``) or a glob over qualified names (``*``, ``?``,
``[…]``); an exact name wins over a glob, else the first glob that matches, in the order written.
An interval is ``Nh`` or ``Nd`` (N a positive number), ``hourly``, ``daily`` or ``weekly``.
A table no key matches is synced in every round.

The due rule: a table is due when it was never synced, when its last attempt failed, or when its
last success is at least its interval less an eighth of it old (``SLACK``). The slack keeps a
schedule whose rounds come every interval, a little early or late, or that lands the table late
in its round, from skipping a round: a ``4h`` table is due after 3 h 30 min, ``daily`` after 21 h,
``weekly`` after 6 days 3 h.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from extract.config_error import ConfigError

SLACK = 1 / 8  # of the interval: how much younger than its interval a table may be and still be due
NAMED_INTERVALS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7)}
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)\s*([hd])$")
# namespace.table, each part CD2's name characters or glob characters
_PATTERN = re.compile(r"^[A-Za-z0-9_*?\[\]!-]+\.[A-Za-z0-9_*?\[\]!-]+$")
NO_CADENCE = "none"
HINT = "such as 12h, 2d, daily or weekly"


@dataclass(frozen=True)
class Rule:
    pattern: str
    interval: timedelta
    text: str  # as written, for display

    @property
    def is_glob(self) -> bool:
        return any(c in self.pattern for c in "*?[")

    def matches(self, qname: str) -> bool:
        return fnmatch.fnmatchcase(qname, self.pattern) if self.is_glob else qname == self.pattern

    @property
    def hours(self) -> float:
        return self.interval.total_seconds() / 3600


@dataclass(frozen=True)
class Cadence:
    """The cadence setting: rules in the order written; empty syncs every table in every round."""

    rules: tuple[Rule, ...] = ()

    def rule_for(self, qname: str) -> Rule | None:
        exact = [r for r in self.rules if not r.is_glob and r.matches(qname)]
        return exact[0] if exact else next((r for r in self.rules if r.matches(qname)), None)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __str__(self) -> str:
        return ",".join(f"{r.pattern}={r.text}" for r in self.rules) or NO_CADENCE


def due_after(rule: Rule, last_success_at: datetime) -> datetime:
    """When a table last synced at ``last_success_at`` is due again."""
    return last_success_at + rule.interval * (1 - SLACK)


def is_due(rule: Rule | None, last_success_at: datetime | None, last_status: str | None, now: datetime) -> bool:
    """Whether the round at ``now`` syncs the table (the rule in the module's docstring)."""
    if rule is None or last_success_at is None or last_status != "ok":
        return True
    return now >= due_after(rule, last_success_at)


def parse_interval(text: Any, where: str) -> tuple[timedelta, str]:
    """``text`` as an interval and its shown form; a ConfigError naming ``where`` otherwise."""
    if isinstance(text, str):
        shown = text.strip().lower()
        if shown in NAMED_INTERVALS:
            return NAMED_INTERVALS[shown], shown
        found = _INTERVAL.match(shown)
        if found and float(found.group(1)) > 0:
            number = float(found.group(1))
            unit = timedelta(hours=1) if found.group(2) == "h" else timedelta(days=1)
            return unit * number, f"{number:g}{found.group(2)}"
    hint = f" (write {text}h for hours)" if isinstance(text, int | float) and not isinstance(text, bool) else ""
    raise ConfigError(f"{where} must be an interval {HINT}, not {text!r}{hint}")


def _rule(pattern: Any, interval: Any, where: str) -> Rule:
    if not isinstance(pattern, str) or not _PATTERN.match(pattern.strip()):
        raise ConfigError(
            f"{where}: key {pattern!r} must be a qualified table name namespace.table or a glob over them "
            "(e.g. canvas.roles, catalog.*)"
        )
    pattern = pattern.strip()
    delta, text = parse_interval(interval, f"{where}: {pattern}")
    return Rule(pattern, delta, text)


def cadence_from_mapping(value: Any, where: str) -> Cadence:
    """The ``cadence`` mapping of cd2.yml (None or empty: no cadence)."""
    if value is None:
        return Cadence()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a mapping of table (or glob) to interval, e.g. {{canvas.roles: daily}}")
    return Cadence(tuple(_rule(pattern, interval, where) for pattern, interval in value.items()))


def cadence_from_text(text: str, where: str) -> Cadence:
    """``pattern=interval,…`` (an environment variable or a flag); ``none`` or empty: no cadence."""
    if text.strip().lower() in ("", NO_CADENCE):
        return Cadence()
    rules = []
    for item in text.split(","):
        pattern, equals, interval = item.partition("=")
        if not equals:
            raise ConfigError(f"{where}: {item.strip()!r} must be pattern=interval (e.g. canvas.roles=daily)")
        rules.append(_rule(pattern.strip(), interval.strip(), where))
    return Cadence(tuple(rules))
