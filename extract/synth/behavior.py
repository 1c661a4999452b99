"""Per-person behaviour, as pure functions of the user id (so advancing can recompute them).

``diligence`` in [0, 1) scales how much a student submits, posts and visits. Students below
``AT_RISK`` fade out: they stop all activity at ``fade_at`` (10-25 days before the profile's
start), which gives inactivity and missing-work signals to the at-risk marts.
"""

from __future__ import annotations

from extract.synth.rand import Rand

AT_RISK = 0.12


def diligence_sql(rand: Rand, user_id: str) -> str:
    return rand.u("user.diligence", user_id)


def fade_at_sql(rand: Rand, user_id: str, start: str) -> str:
    """When an at-risk person stops being active (NULL for everyone else)."""
    return (
        f"CASE WHEN {diligence_sql(rand, user_id)} < {AT_RISK} "
        f"THEN {start} - to_days(CAST(10 + {rand.h('user.fade', user_id)} % 16 AS INTEGER)) END"
    )
