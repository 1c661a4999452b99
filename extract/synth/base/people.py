"""Users, their logins (pseudonyms) and communication channels.

``h.user`` lists everyone with a role (admin, teacher, ta, designer, observer, student), the
Student View test users (one per course that used Student View; no login), and users merged
into another one (soft-deleted, ``merged_into_user_id`` set; their login moved to the
survivor, who so ends up with two SIS ids). Students carry a ``diligence`` in [0, 1) that
drives how much they submit and how active they are; at-risk students fade out before the
start time (``fade_at``).

Logins: a primary pseudonym per person; some also have an Inst ID login (``is_inst_id``, signed in
within the last day, mostly after the user's other logins), an old soft-deleted login, or the login
inherited from a merged user. ``is_inst_id`` is null on about half of the other logins (sent before CD2 had it).
"""

from __future__ import annotations

from extract.synth.behavior import diligence_sql, fade_at_sql
from extract.synth.context import GenContext
from extract.synth.rows import ip_address

# role, share of users, minimum count; students take the rest
STAFF = [("admin", 0.01, 2), ("teacher", 0.06, 4), ("ta", 0.03, 2), ("designer", 0.01, 1), ("observer", 0.02, 2)]


def build(ctx: GenContext) -> None:
    _user_plan(ctx)
    _build_users(ctx)
    _build_pseudonyms(ctx)
    _build_channels(ctx)


def _user_plan(ctx: GenContext) -> None:
    r, n = ctx.rand, ctx.profile.users
    cases, lo = [], 0
    for role, share, minimum in STAFF:
        hi = lo + max(minimum, round(n * share))
        cases.append(f"WHEN k < {hi} THEN '{role}'")
        lo = hi
    role_case = "CASE " + " ".join(cases) + " ELSE 'student' END"
    base = ctx.base("users")
    n_merged = max(1, round(n * 0.015))
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.user AS
        WITH people AS (
            SELECT range AS k, {role_case} AS role, NULL::BIGINT AS merged_into, NULL::BIGINT AS test_course_id
            FROM range({n})
        ), tests AS (
            SELECT {n} + row_number() OVER (ORDER BY id) - 1 AS k, 'test' AS role, NULL::BIGINT, id
            FROM h.course WHERE has_student_view
        ), survivors AS (
            SELECT k, row_number() OVER (ORDER BY {r.h("user.merge", "k")}, k) - 1 AS i FROM people WHERE role =
                'student'
        ), merged AS (
            SELECT {n} + (SELECT count(*) FROM tests) + i AS k, 'merged' AS role, {base} + k, NULL::BIGINT
            FROM survivors WHERE i < {n_merged}
        )
        SELECT {base} + k AS id, k, role, merged_into, test_course_id,
               {diligence_sql(r, f"({base} + k)")} AS diligence,
               CASE WHEN role <> 'student' THEN 'registered'
                    WHEN {r.u("user.state", "k")} < 0.91 THEN 'registered'
                    WHEN {r.u("user.state", "k")} < 0.95 THEN 'pre_registered'
                    WHEN {r.u("user.state", "k")} < 0.98 THEN 'creation_pending'
                    WHEN {r.u("user.state", "k")} < 0.995 THEN 'deleted'
                    ELSE 'pending_approval' END AS state
        FROM (SELECT * FROM people UNION ALL SELECT * FROM tests UNION ALL SELECT * FROM merged)
    """)
    # at-risk students stop working (and visiting) some days before the start
    ctx.sql(f"""
        ALTER TABLE h.user ADD COLUMN fade_at TIMESTAMP;
        UPDATE h.user SET fade_at = {fade_at_sql(r, "id", ctx.now)} WHERE role = 'student';
    """)


def _build_users(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    first = f"syn_first({r.h('user.first', 'src.k')})"
    last = f"syn_last({r.h('user.last', 'src.k')})"
    created = f"({start} - to_days(CAST(20 + {r.h('user.created', 'src.k')} % 1500 AS INTEGER)))"
    ctx.build(
        "users",
        "SELECT * FROM h.user",
        {
            "name": f"CASE WHEN src.role = 'test' THEN 'Test Student' ELSE {first} || ' ' || {last} END",
            "sortable_name": f"CASE WHEN src.role = 'test' THEN 'Student, Test' ELSE {last} || ', ' || {first} END",
            "short_name": f"""CASE WHEN src.role = 'test' THEN 'Test Student'
                WHEN {r.chance(0.03, "user.short_messy", "src.k")} THEN syn_messy({r.h("user.short_m", "src.k")})
                ELSE {first} || ' ' || {last} END""",
            "workflow_state": "CASE WHEN src.role = 'merged' THEN 'deleted' ELSE src.state END",
            "merged_into_user_id": "src.merged_into",
            "created_at": f"CASE WHEN src.role = 'test' THEN {start} - INTERVAL 50 DAY ELSE {created} END",
            "updated_at": r.ts_between(
                f"CASE WHEN src.role = 'test' THEN {start} - INTERVAL 50 DAY ELSE {created} END",
                start,
                "user.upd",
                "src.k",
            ),
            "time_zone": f"CASE WHEN {r.chance(0.35, 'user.tz', 'src.k')} THEN '{ctx.profile.time_zone}' "
            f"WHEN {r.chance(0.05, 'user.tz2', 'src.k')} THEN 'Asia/Tokyo' END",
            "locale": r.pick([None, None, None, None, None, "en", "es", "zh-Hans", "fr"], "user.locale", "src.k"),
            "pronouns": f"""CASE WHEN {r.chance(0.2, "user.pronouns", "src.k")}
                THEN {r.pick(["she/her", "he/him", "they/them", "she/they", "él", "Ze/Zir"], "user.pron", "src.k")}
                    END""",
            "avatar_image_url": (
                f"CASE WHEN {r.chance(0.3, 'user.avatar', 'src.k')} THEN "
                "'https://canvas.example.edu/images/thumbnails/' || CAST(src.id AS VARCHAR) END"
            ),
            "avatar_image_source": f"CASE WHEN {r.chance(0.3, 'user.avatar', 'src.k')} THEN 'upload' END",
            "avatar_image_updated_at": "NULL",
            "school_name": "NULL",
            "school_position": "NULL",
            "public": "NULL",
            "last_logged_out": (
                f"CASE WHEN src.state = 'registered' AND {r.chance(0.3, 'user.logout', 'src.k')} THEN "
                f"{r.ts_between(f'{start} - INTERVAL 20 DAY', start, 'user.logout_at', 'src.k')} END"
            ),
            "storage_quota": "NULL",
            "uuid": r.token(40, "user.uuid", "src.k"),
            "lti_context_id": r.token(40, "user.lti", "src.k"),
        },
    )


def _build_pseudonyms(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.login AS
        WITH primary_login AS (
            SELECT id AS user_id, k, role, state, 'primary' AS kind, 1 AS position, k AS sis_k FROM h.user
            WHERE role NOT IN ('test', 'merged')
        ), inst AS (
            SELECT id, k, role, state, 'inst_id', 2, NULL::BIGINT FROM h.user
            WHERE role NOT IN ('test', 'merged') AND state = 'registered' AND {r.chance(0.12, "login.inst", "k")}
        ), old AS (
            SELECT id, k, role, state, 'old', 3, k + 5000000 FROM h.user
            WHERE role NOT IN ('test', 'merged') AND {r.chance(0.04, "login.old", "k")}
        ), inherited AS (
            SELECT m.merged_into, m.k, 'student', 'registered', 'merged', 4, m.k FROM h.user m WHERE m.role = 'merged'
        )
        SELECT {ctx.base("pseudonyms")} + row_number() OVER (ORDER BY user_id, position) - 1 AS id, *
        FROM (SELECT * FROM primary_login UNION ALL SELECT * FROM inst UNION ALL SELECT * FROM old
              UNION ALL SELECT * FROM inherited)
    """)
    ascii_name = (
        "regexp_replace(lower(strip_accents(syn_first("
        + r.h("user.first", "src.k")
        + ") || '.' || syn_last("
        + r.h("user.last", "src.k")
        + "))), '[^a-z.]', '', 'g')"
    )
    active = "src.state = 'registered'"
    # an Inst ID login signed in within the last day (mostly the user's latest sign-in): leaving it out of login
    # facts then changes them
    last_login = f"""CASE WHEN src.kind = 'inst_id'
        THEN {r.ts_between(f"{start} - INTERVAL 1 DAY", f"{start} - INTERVAL 1 HOUR", "login.inst_last", "src.id")}
        ELSE {r.ts_between(f"{start} - INTERVAL 30 DAY", start, "login.last", "src.id")} END"""
    ctx.build(
        "pseudonyms",
        "SELECT * FROM h.login",
        {
            "user_id": "src.user_id",
            "account_id": str(ctx.base("accounts")),
            "position": "src.position",
            "unique_id": f"""CASE src.kind
                WHEN 'inst_id' THEN {ascii_name} || CAST(src.k AS VARCHAR) || '@gmail.example.com'
                WHEN 'old' THEN 'old_' || CAST(src.k AS VARCHAR)
                WHEN 'merged' THEN 'dup' || CAST(src.k AS VARCHAR) || '@example.edu'
                ELSE {ascii_name} || CAST(src.k AS VARCHAR) || '@example.edu' END""",
            "sis_user_id": """CASE WHEN src.kind = 'inst_id' OR src.state IN ('pre_registered', 'creation_pending')
                    AND src.kind = 'primary' AND src.k % 2 = 0 THEN NULL
                WHEN src.role IN ('student', 'observer') THEN 'S' || lpad(CAST(1000000 + src.sis_k AS VARCHAR), 8, '0')
                ELSE 'E' || lpad(CAST(src.sis_k AS VARCHAR), 6, '0') END""",
            "integration_id": (
                f"CASE WHEN src.kind = 'primary' AND {r.chance(0.2, 'login.int', 'src.id')} THEN 'INT-' || CAST(src.k "
                "AS VARCHAR) END"
            ),
            "workflow_state": (
                f"CASE WHEN src.kind = 'old' THEN 'deleted' WHEN {r.chance(0.01, 'login.susp', 'src.id')} THEN "
                "'suspended' ELSE 'active' END"
            ),
            "authentication_provider_id": (
                f"CASE WHEN src.kind IN ('primary', 'merged') AND {r.chance(0.7, 'login.sso', 'src.id')} THEN "
                f"{ctx.registry.lookup('authentication_providers', '0')} END"
            ),
            "is_inst_id": (
                f"CASE WHEN src.kind = 'inst_id' THEN true WHEN {r.chance(0.5, 'login.flag', 'src.id')} THEN false END"
            ),
            "login_count": f"CASE WHEN {active} THEN CAST({r.h('login.count', 'src.id')} % 400 AS INTEGER) ELSE 0 END",
            "failed_login_count": f"CAST({r.h('login.failed', 'src.id')} % 3 AS INTEGER)",
            "last_login_at": f"CASE WHEN {active} THEN {last_login} - INTERVAL 2 DAY END",
            "current_login_at": f"CASE WHEN {active} THEN {last_login} END",
            "last_request_at": f"CASE WHEN {active} THEN {last_login} + INTERVAL 40 MINUTE END",
            "current_login_ip": f"CASE WHEN {active} THEN {ip_address(r, 'login.ip', 'src.id')} END",
            "last_login_ip": f"CASE WHEN {active} THEN {ip_address(r, 'login.ip2', 'src.id')} END",
            "created_at": f"{start} - to_days(CAST(30 + {r.h('login.created', 'src.id')} % 1400 AS INTEGER))",
            "updated_at": (
                f"least({start}, CASE WHEN {active} THEN {last_login} + INTERVAL 40 MINUTE ELSE {start} - INTERVAL 25 "
                "DAY END)"
            ),
            "sis_batch_id": "NULL",
        },
    )


def _build_channels(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    ctx.build(
        "communication_channels",
        f"""
        WITH chans AS (
            SELECT p.user_id, p.id AS pseudonym_id, p.unique_id, 'email' AS path_type, 1 AS position
            FROM m.pseudonyms p WHERE p.position = 1
            UNION ALL
            SELECT u.id, NULL, NULL, 'sms', 2 FROM h.user u WHERE u.role NOT IN ('test', 'merged') AND
                {r.chance(0.2, "cc.sms", "u.k")}
            UNION ALL
            SELECT u.id, NULL, NULL, 'push', 3 FROM h.user u WHERE u.role NOT IN ('test', 'merged') AND
                {r.chance(0.1, "cc.push", "u.k")}
        )
        SELECT {ctx.base("communication_channels")} + row_number() OVER (ORDER BY user_id, position) - 1 AS id, * FROM
            chans
        """,
        {
            "path": f"""CASE src.path_type WHEN 'email' THEN src.unique_id
                WHEN 'sms' THEN '+1555' || lpad(CAST({r.h("cc.phone", "src.id")} % 10000000 AS VARCHAR), 7, '0')
                ELSE 'arn:aws:sns:us-east-1:push/' || {r.token(24, "cc.push", "src.id")} END""",
            "path_type": "src.path_type",
            "user_id": "src.user_id",
            "pseudonym_id": "src.pseudonym_id",
            "position": "src.position",
            "workflow_state": (
                f"CASE WHEN {r.chance(0.1, 'cc.unconfirmed', 'src.id')} THEN 'unconfirmed' WHEN "
                f"{r.chance(0.02, 'cc.retired', 'src.id')} THEN 'retired' ELSE 'active' END"
            ),
            "bounce_count": f"CASE WHEN {r.chance(0.03, 'cc.bounce', 'src.id')} THEN 1 ELSE 0 END",
            "confirmation_sent_count": "1",
            "confirmation_code_expires_at": "NULL",
            "created_at": f"{start} - to_days(CAST(25 + {r.h('cc.created', 'src.id')} % 1400 AS INTEGER))",
            "updated_at": f"{start} - to_days(CAST(1 + {r.h('cc.updated', 'src.id')} % 20 AS INTEGER))",
        },
    )
