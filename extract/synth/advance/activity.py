"""Browsing in the window: new web_logs, the activity columns they move, and logins.

* web_logs: sessions in (lo, hi] at the initial rate (rows per hour), plus a few re-deliveries
  of recent rows (the feed is at-least-once: same id, same values, a later commit).
* enrollments: ``last_activity_at`` / ``total_activity_time`` of active enrollments whose user
  browsed the course.
* pseudonyms: a login of every user with a session (counts, times, IPs), plus one update
  committed exactly at the new ``now``.
"""

from __future__ import annotations

from extract.synth.advance.step import Step
from extract.synth.ids import id_base
from extract.synth.weblogs import Window, build_actors, build_items, install_catalog, sessions_for, weblog_select

REDELIVERED_SHARE = 0.005


def produce(step: Step) -> None:
    _web_logs(step)
    _enrollment_activity(step)
    _logins(step)


def _web_logs(step: Step) -> None:
    p, r = step.profile, step.rand
    install_catalog(step.con)
    build_actors(step.con, r, "cur", step.start_sql, step.hi_sql)
    build_items(step.con, "cur")
    rows = p.web_logs / (p.web_log_days * 24) * step.hours
    select = weblog_select(
        step.con, r, Window(lo=step.lo_sql, hi=step.hi_sql), sessions_for(rows), id_base("developer_keys")
    )
    lag = r.int_between(5_000, 900_000, "wl.meta_lag", "id")
    step.changes.insert(
        "web_logs",
        f"SELECT *, {step.clamp(f'timestamp + to_milliseconds({lag})')} AS event_at FROM ({select})",
    )
    recent = f"{step.lo_sql} - INTERVAL 2 HOUR"
    # straight from the change log: web_logs rows never change, so no truth scan is needed
    step.changes.insert(
        "web_logs",
        f"""SELECT * EXCLUDE (meta_ts, meta_action), {step.event("wl.redeliver", "id")} AS event_at
            FROM ({step.store.changes_sql("canvas_logs.web_logs")})
            WHERE meta_action = 'U' AND meta_ts > {recent} AND meta_ts <= {step.lo_sql}
              AND {r.chance(REDELIVERED_SHARE, "wl.redeliver_pick", "id")}""",
    )


def _enrollment_activity(step: Step) -> None:
    step.changes.upsert(
        "enrollments",
        f"""
        WITH visits AS (
            SELECT user_id, course_id, max("timestamp") AS last_at, count(*) AS n FROM chg.web_logs
            WHERE course_id IS NOT NULL AND real_user_id IS NULL AND "timestamp" > {step.lo_sql} GROUP BY ALL
        )
        SELECT e.id, v.last_at AS visit_at, v.n AS visits, {step.clamp("v.last_at + INTERVAL 2 MINUTE")} AS event_at
        FROM cur.enrollments e JOIN visits v ON v.user_id = e.user_id AND v.course_id = e.course_id
        WHERE e.workflow_state = 'active'
        """,
        {
            "last_activity_at": "greatest(src.last_activity_at, src.visit_at)",
            "total_activity_time": (
                "CAST(least(coalesce(src.total_activity_time, 0) + src.visits * 47, 2000000000) AS INTEGER)"
            ),
        },
    )


def _logins(step: Step) -> None:
    step.changes.upsert(
        "pseudonyms",
        f"""
        WITH visits AS (
            SELECT user_id, min("timestamp") AS first_at, max("timestamp") AS last_at,
                   arg_min(remote_ip, "timestamp") AS ip
            FROM chg.web_logs WHERE user_id IS NOT NULL AND real_user_id IS NULL AND "timestamp" > {step.lo_sql}
            GROUP BY ALL
        ), primary_login AS (
            SELECT user_id, min(id) AS id FROM cur.pseudonyms WHERE workflow_state = 'active' GROUP BY ALL
        )
        SELECT p.id, v.first_at, v.last_at, v.ip AS login_ip, {step.clamp("v.last_at + INTERVAL 1 MINUTE")} AS event_at
        FROM visits v JOIN primary_login p ON p.user_id = v.user_id
        """,
        {
            "login_count": "src.login_count + 1",
            "last_login_at": "src.current_login_at",
            "current_login_at": "src.first_at",
            "last_request_at": "src.last_at",
            "last_login_ip": "src.current_login_ip",
            "current_login_ip": "src.login_ip",
            "updated_at": "src.event_at",
        },
    )
    # one change is committed exactly at the new now, whatever else happened
    step.changes.upsert(
        "pseudonyms",
        f"SELECT min(id) AS id, {step.hi_sql} AS event_at FROM cur.pseudonyms WHERE workflow_state = 'active'",
        {"last_request_at": "src.event_at", "updated_at": "src.event_at"},
    )
