"""The order in which a round creates its tables' jobs: the slowest first.

Job creation is the round's bottleneck (5 a minute), so the round ends about when the last job
created has finished; the jobs expected to take longest go first, so that the last ones are short.
A table's expected job is its latest committed batch's (``history.TableHistory.expected_job``:
the kind it runs next if it has one of that kind), by seconds from POST to completion, then rows.
A table with no such batch (never synced, or only imported) is unknown: the unknown go after the
known ones slower than the known median (they might be slow, they are not known to be), the
tables CD2 institutions find largest first (``LIKELY_LARGEST``: what a first round, which knows
nothing, must not leave to the end), then by name.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from extract.sync.history import JobRecord, TableHistory

# By the synthetic institutions' sizes, which follow real ones: web_logs (30 days of page views)
# is by far the largest everywhere; by name, web_logs would be created last of canvas_logs and canvas.
LIKELY_LARGEST = (
    "canvas_logs.web_logs",
    "canvas.submissions",
    "canvas.scores",
    "canvas.discussion_entry_participants",
    "canvas.context_module_progressions",
    "canvas.discussion_entries",
    "canvas.discussion_topic_participants",
    "canvas.user_account_associations",
)


def creation_order(tables: Sequence[str], history: Mapping[str, TableHistory]) -> list[str]:
    expected: dict[str, JobRecord] = {}
    for qname in tables:
        job = history[qname].expected_job() if qname in history else None
        if job is not None:
            expected[qname] = job
    known = sorted(expected, key=lambda q: (-expected[q].seconds, -expected[q].rows, q))
    unknown = sorted((q for q in tables if q not in expected), key=_prior)
    if not known:
        return unknown
    median = statistics.median(job.seconds for job in expected.values())
    slow = [q for q in known if expected[q].seconds > median]
    return slow + unknown + known[len(slow) :]


def _prior(qname: str) -> tuple[int, str]:
    return (LIKELY_LARGEST.index(qname) if qname in LIKELY_LARGEST else len(LIKELY_LARGEST), qname)
