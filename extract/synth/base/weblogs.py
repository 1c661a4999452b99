"""The initial web_logs (``profile.web_log_days`` back from the start, so some are already past
the 30-day retention) and the enrollment activity columns derived from them."""

from __future__ import annotations

from extract.synth.context import GenContext
from extract.synth.weblogs import Window, build_actors, build_items, install_catalog, sessions_for, weblog_select


def build(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    install_catalog(ctx.con)
    build_actors(ctx.con, r, "m", now, now)
    build_items(ctx.con, "m")
    window = Window(lo=f"({now} - INTERVAL {ctx.profile.web_log_days} DAY)", hi=now)
    developer_key = ctx.base("developer_keys")
    select = weblog_select(ctx.con, r, window, sessions_for(ctx.profile.web_logs), developer_key)
    lag = r.int_between(5_000, 900_000, "wl.meta_lag", "id")
    ctx.build(
        "web_logs",
        f"SELECT * FROM ({select})",
        meta_ts=f"least({now}, src.timestamp + to_milliseconds({lag}))",
    )
    _enrollment_activity(ctx)


def _enrollment_activity(ctx: GenContext) -> None:
    """Canvas' coarse per-enrollment activity: last request time and seconds of activity."""
    now = ctx.now
    ctx.sql(f"""
        UPDATE m.enrollments e SET last_activity_at = a.last_at,
               total_activity_time = CAST(least(a.n * 47, 2000000000) AS INTEGER),
               meta_ts = least({now}, greatest(e.meta_ts, a.last_at + INTERVAL 10 MINUTE))
        FROM (SELECT user_id, course_id, max("timestamp") AS last_at, count(*) AS n FROM m.web_logs
              WHERE course_id IS NOT NULL AND real_user_id IS NULL GROUP BY ALL) a
        WHERE a.user_id = e.user_id AND a.course_id = e.course_id AND e.workflow_state IN ('active', 'completed',
            'inactive')
    """)
