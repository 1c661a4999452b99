"""Request logs (canvas_logs.web_logs) as browsing sessions.

A session belongs to an *actor* (a person in a course, or a person outside any course), starts
at a time drawn with a daily rhythm in the institution's zone, and is a burst of requests a few
seconds to minutes apart (some with a 5-20 minute pause). Each request is a page kind from a
catalog whose method, URL, controller, action, context and ``participated`` flag agree (GET
pages, POST submissions / replies / quiz attempts, PUT grades, API calls under ``/api/v1``,
file downloads answered by 302, logins). Status codes mix 200/304/302/404/401/403/422/500.
Sessions also come from users of other institutions (global ids not in ``users``), from
masquerading admins (``real_user_id``), from teachers in Student View (the test student
with ``real_user_id`` = the teacher) and from mobile apps (API calls with a developer key and
no session id). IPv4 and IPv6 addresses, assorted user agents.

The same SQL generates the initial logs and the ones of each advance: actors and linkable
items are rebuilt from whatever relations hold the current state (model tables or truth).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from extract.synth.behavior import diligence_sql, fade_at_sql
from extract.synth.ids import OTHER_INSTITUTION_SHARD
from extract.synth.rand import Rand, list_literal, sql_literal
from extract.synth.rows import ip_address
from extract.synth.sqlutil import values_source

HOST = "https://canvas.example.edu"

# kind, audience, weight, "METHOD controller#action", path ({c} course, {e} item, {s} page slug, {u} a user),
# item kind the request is about, flags (P: counts as participation, A: API call)
PAGES: list[tuple[str, str, int, str, str, str | None, str]] = [
    ("course_home", "student", 8, "GET courses#show", "/courses/{c}", None, ""),
    ("modules", "student", 8, "GET context_modules#index", "/courses/{c}/modules", None, ""),
    ("module", "student", 3, "GET context_modules#module_redirect", "/courses/{c}/modules/{e}", "module", ""),
    ("assignments", "student", 5, "GET assignments#index", "/courses/{c}/assignments", None, ""),
    ("assignment", "student", 12, "GET assignments#show", "/courses/{c}/assignments/{e}", "assignment", ""),
    ("submit", "student", 3, "POST submissions#create", "/courses/{c}/assignments/{e}/submissions", "assignment", "P"),
    ("quiz", "student", 4, "GET quizzes/quizzes#show", "/courses/{c}/quizzes/{e}", "quiz", ""),
    ("quiz_take", "student", 2, "POST quizzes/quiz_submissions#create", "/courses/{c}/quizzes/{e}/take", "quiz", "P"),
    ("discussion", "student", 8, "GET discussion_topics#show", "/courses/{c}/discussion_topics/{e}", "discussion", ""),
    ("reply", "student", 2, "POST discussion_topics_api#add_entry",
     "/api/v1/courses/{c}/discussion_topics/{e}/entries", "discussion", "PA"),
    ("page", "student", 8, "GET wiki_pages#show", "/courses/{c}/pages/{s}", "page", ""),
    ("file", "student", 7, "GET files#show", "/courses/{c}/files/{e}/download?download_frd=1", "file", ""),
    ("grades", "student", 6, "GET gradebooks#grade_summary", "/courses/{c}/grades", None, ""),
    ("announcements", "student", 3, "GET announcements#index", "/courses/{c}/announcements", None, ""),
    ("api_assignments", "student", 6, "GET assignments_api#index",
     "/api/v1/courses/{c}/assignments?include[]=submission&per_page=50", None, "A"),
    ("api_modules", "student", 4, "GET context_modules_api#index",
     "/api/v1/courses/{c}/modules?include[]=items", None, "A"),
    ("api_discussion", "student", 2, "GET discussion_topics_api#view",
     "/api/v1/courses/{c}/discussion_topics/{e}/view", "discussion", "A"),
    ("api_submission", "student", 3, "GET submissions_api#show",
     "/api/v1/courses/{c}/assignments/{e}/submissions/self", "assignment", "A"),
    ("lti", "student", 2, "GET external_tools#show", "/courses/{c}/external_tools/{e}", "tool", ""),
    # LTI launches from other placements: a module item of a tool, an external-tool assignment,
    # content selection (homework submission), a link inserted by a selection placement
    ("lti_item", "student", 2, "GET context_modules#item_redirect", "/courses/{c}/modules/items/{e}", "tool_item", ""),
    ("lti_assignment", "student", 1, "GET assignments#show", "/courses/{c}/assignments/{e}", "tool_assignment", ""),
    ("lti_select", "student", 1, "GET external_tools#resource_selection",
     "/courses/{c}/external_tools/{e}/resource_selection?launch_type=homework_submission", "tool", ""),
    ("lti_link", "student", 1, "GET external_tools#retrieve",
     "/courses/{c}/external_tools/retrieve?display=borderless&url=https%3A%2F%2Fwww.youtube.com%2Flti%2Flaunch", None,
     ""),
    ("syllabus", "student", 2, "GET assignments#syllabus", "/courses/{c}/assignments/syllabus", None, ""),
    ("roster", "student", 1, "GET context#roster", "/courses/{c}/users", None, ""),
    ("page_view", "student", 3, "PUT page_views#update", "/page_views/{u}", None, ""),
    ("speed_grader", "teacher", 10, "GET gradebooks#speed_grader",
     "/courses/{c}/gradebook/speed_grader?assignment_id={e}", "assignment", ""),
    ("gradebook", "teacher", 10, "GET gradebooks#show", "/courses/{c}/gradebook", None, ""),
    ("grade", "teacher", 8, "PUT submissions_api#update",
     "/api/v1/courses/{c}/assignments/{e}/submissions/{u}", "assignment", "A"),
    ("edit", "teacher", 4, "GET assignments#edit", "/courses/{c}/assignments/{e}/edit", "assignment", ""),
    ("update", "teacher", 3, "PUT assignments_api#update", "/api/v1/courses/{c}/assignments/{e}", "assignment", "A"),
    ("t_home", "teacher", 6, "GET courses#show", "/courses/{c}", None, ""),
    ("t_modules", "teacher", 6, "GET context_modules#index", "/courses/{c}/modules", None, ""),
    ("t_discussion", "teacher", 5, "GET discussion_topics#show",
     "/courses/{c}/discussion_topics/{e}", "discussion", ""),
    ("announce", "teacher", 2, "POST discussion_topics#create", "/api/v1/courses/{c}/discussion_topics", None, "PA"),
    ("upload", "teacher", 2, "POST files#create_pending", "/files/pending", None, ""),
    ("t_files", "teacher", 4, "GET files#index", "/courses/{c}/files", None, ""),
    ("history", "teacher", 2, "GET gradebook_history_api#days",
     "/api/v1/courses/{c}/gradebook_history/days", None, "A"),
    ("t_lti", "teacher", 2, "GET external_tools#show", "/courses/{c}/external_tools/{e}", "tool", ""),
    ("t_lti_item", "teacher", 1, "GET context_modules#item_redirect", "/courses/{c}/modules/items/{e}", "tool_item",
     ""),
    ("t_lti_select", "teacher", 2, "GET external_tools#resource_selection",
     "/courses/{c}/external_tools/{e}/resource_selection?launch_type=editor_button", "tool", ""),
    ("o_home", "observer", 5, "GET courses#show", "/courses/{c}", None, ""),
    ("o_grades", "observer", 5, "GET gradebooks#grade_summary", "/courses/{c}/grades", None, ""),
    ("o_announcements", "observer", 2, "GET announcements#index", "/courses/{c}/announcements", None, ""),
    ("dashboard", "any", 10, "GET users#user_dashboard", "/", None, ""),
    ("cards", "any", 6, "GET users#dashboard_cards", "/api/v1/dashboard/dashboard_cards", None, "A"),
    ("planner", "any", 5, "GET planner#index", "/api/v1/planner/items?start_date=2024-01-01", None, "A"),
    ("stream", "any", 4, "GET users#activity_stream",
     "/api/v1/users/self/activity_stream?only_active_courses=true", None, "A"),
    ("inbox", "any", 3, "GET conversations#index", "/conversations", None, ""),
    ("conversation", "any", 2, "GET conversations#show", "/api/v1/conversations/{e}", "conversation", "A"),
    ("calendar", "any", 3, "GET calendars#show", "/calendar", None, ""),
    ("profile", "any", 1, "GET profile#settings", "/profile/settings", None, ""),
    ("unread", "any", 6, "GET conversations#unread_count", "/api/v1/conversations/unread_count", None, "A"),
    ("courses", "any", 3, "GET courses#index", "/courses", None, ""),
    ("self", "any", 2, "GET users#api_show", "/api/v1/users/self", None, "A"),
    # the first request of a session in a course lands on its home page
    ("home", "home_student", 1, "GET courses#show", "/courses/{c}", None, ""),
    ("home_t", "home_teacher", 1, "GET courses#show", "/courses/{c}", None, ""),
    ("home_o", "home_observer", 1, "GET courses#show", "/courses/{c}", None, ""),
    ("login", "login", 6, "GET login/saml#new", "/login/saml", None, ""),
    ("login_post", "login", 4, "POST login/canvas#create", "/login/canvas", None, ""),
]  # fmt: skip


def _catalog_rows() -> list[tuple[object, ...]]:
    rows = []
    for kind, audience, weight, route, path, entity, flags in PAGES:
        method, endpoint = route.split(" ", 1)
        controller, action = endpoint.split("#", 1)
        rows.append((kind, audience, weight, method, controller, action, path, entity, "P" in flags, "A" in flags))
    return rows


# local hour -> relative weight (max 9): quiet nights, busy afternoons and evenings
HOUR_WEIGHTS = [2, 1, 1, 0.5, 0.5, 1, 2, 4, 6, 8, 9, 9, 8, 9, 9, 9, 8, 7, 7, 8, 9, 9, 7, 4]
MEAN_REQUESTS = 8.5  # kept requests per drawn session, after sessions cut at the window end
SESSION_ACCEPT = sum(HOUR_WEIGHTS) / (24 * max(HOUR_WEIGHTS))

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 "
    "Safari/537.36 Edg/129.0.0.0",
]
MOBILE_AGENTS = [
    "candroid/7.9.0 (Android 14; Pixel 7)",
    "iCanvas/7.12 (com.instructure.icanvas; build:3; iOS 17.6.1) Alamofire/5.9.1",
    "Canvas Teacher/1.31 (iPad; iOS 17.5)",
]


@dataclass(frozen=True)
class Window:
    """The time range of the generated requests: ``lo <= timestamp < hi`` (SQL timestamps)."""

    lo: str
    hi: str


def install_catalog(con: duckdb.DuckDBPyConnection) -> None:
    """``wl.page`` (the catalog) and ``wl.page_slot`` (1000 weighted slots per audience)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS wl")
    columns = ["kind", "audience", "weight", "method", "controller", "action", "path", "entity", "participated", "api"]
    con.execute(f"CREATE OR REPLACE TABLE wl.page AS {values_source(columns, _catalog_rows())}")
    con.execute("""
        CREATE OR REPLACE TABLE wl.page_slot AS
        WITH cum AS (
            SELECT *, sum(weight) OVER (PARTITION BY audience ORDER BY kind) AS hi,
                   sum(weight) OVER (PARTITION BY audience) AS total
            FROM wl.page
        )
        SELECT s.slot, c.* EXCLUDE (hi, total) FROM cum c, range(1000) AS s(slot)
        WHERE s.slot * c.total >= (c.hi - c.weight) * 1000 AND s.slot * c.total < c.hi * 1000
    """)


def build_actors(con: duckdb.DuckDBPyConnection, rand: Rand, state: str, start: str, now: str) -> int:
    """``wl.actor``: weighted slots of who browses, from the CD2 tables in schema ``state``.

    Students weigh 1-4 by diligence, teachers 4, observers and test students 1; every
    registered user also has a course-less slot. Returns the number of slots.
    """
    con.execute(f"""
        CREATE OR REPLACE TABLE wl.actor AS
        WITH live AS (
            SELECT e.user_id, e.course_id, e.type FROM {state}.enrollments e
            JOIN {state}.courses c ON c.id = e.course_id
            LEFT JOIN {state}.enrollment_terms t ON t.id = c.enrollment_term_id
            WHERE e.workflow_state = 'active' AND c.workflow_state = 'available'
              AND (t.end_at IS NULL OR t.end_at > {now} - INTERVAL 45 DAY)
              AND (t.start_at IS NULL OR t.start_at < {now})
        ), teachers AS (
            SELECT course_id, min(user_id) AS teacher_id FROM live WHERE type = 'TeacherEnrollment' GROUP BY ALL
        ), course_actors AS (
            SELECT DISTINCT l.user_id, l.course_id,
                   CASE WHEN l.type IN ('TeacherEnrollment', 'TaEnrollment', 'DesignerEnrollment') THEN 'teacher'
                        WHEN l.type = 'ObserverEnrollment' THEN 'observer'
                        WHEN l.type = 'StudentViewEnrollment' THEN 'test' ELSE 'student' END AS audience
            FROM live l
        ), people AS (
            SELECT id AS user_id, NULL::BIGINT AS course_id, 'any' AS audience FROM {state}.users
            WHERE workflow_state = 'registered' AND name IS DISTINCT FROM 'Test Student'
        ), weighted AS (
            SELECT a.*, t.teacher_id,
                   CASE a.audience WHEN 'student' THEN 1 + CAST(floor({diligence_sql(rand, "a.user_id")} * 3.99) AS
                       INTEGER)
                                   WHEN 'teacher' THEN 4 ELSE 1 END AS copies,
                   CASE WHEN a.audience = 'student' THEN {fade_at_sql(rand, "a.user_id", start)} END AS fade_at
            FROM (SELECT * FROM course_actors UNION ALL SELECT * FROM people) a
            LEFT JOIN teachers t ON t.course_id = a.course_id
        )
        SELECT CAST(row_number() OVER (ORDER BY w.user_id, w.course_id NULLS FIRST, w.audience, c.copy) - 1 AS BIGINT)
            AS slot,
               w.user_id, w.course_id, w.audience, w.teacher_id, w.fade_at
        FROM weighted w, range(4) AS c(copy) WHERE c.copy < w.copies
    """)
    rows = con.execute("SELECT count(*) FROM wl.actor").fetchall()
    return int(rows[0][0])


def build_items(con: duckdb.DuckDBPyConnection, state: str) -> None:
    """``wl.item`` / ``wl.item_n``: what a course request can be about; ``wl.conversation``."""
    con.execute(f"""
        CREATE OR REPLACE TABLE wl.item AS
        WITH items AS (
            SELECT context_id AS course_id, 'assignment' AS kind, id, NULL AS slug FROM {state}.assignments
                WHERE workflow_state = 'published'
            UNION ALL SELECT context_id, 'quiz', id, NULL FROM {state}.quizzes WHERE workflow_state = 'available'
            UNION ALL SELECT context_id, 'discussion', id, NULL FROM {state}.discussion_topics
                WHERE context_type = 'Course' AND workflow_state IN ('active', 'locked')
            UNION ALL SELECT context_id, 'page', id, url FROM {state}.wiki_pages WHERE workflow_state = 'active'
            UNION ALL SELECT context_id, 'file', id, NULL FROM {state}.attachments
                WHERE context_type = 'Course' AND file_state = 'available'
            UNION ALL SELECT context_id, 'module', id, NULL FROM {state}.context_modules WHERE workflow_state = 'active'
            UNION ALL SELECT context_id, 'tool', id, NULL FROM {state}.context_external_tools
                WHERE context_type = 'Course' AND workflow_state = 'public'
            UNION ALL SELECT context_id, 'tool_item', id, NULL FROM {state}.content_tags
                WHERE context_type = 'Course' AND content_type = 'ContextExternalTool' AND tag_type = 'context_module'
                  AND workflow_state = 'active'
            UNION ALL SELECT context_id, 'tool_assignment', id, NULL FROM {state}.assignments
                WHERE workflow_state = 'published' AND list_contains(submission_types, 'external_tool')
        )
        SELECT course_id, kind, id, slug, CAST(row_number() OVER (PARTITION BY course_id, kind ORDER BY id) - 1 AS
            BIGINT) AS i
        FROM items
    """)
    con.execute("CREATE OR REPLACE TABLE wl.item_n AS SELECT course_id, kind, count(*) AS n FROM wl.item GROUP BY ALL")
    con.execute(f"""
        CREATE OR REPLACE TABLE wl.conversation AS
        SELECT CAST(row_number() OVER (ORDER BY id) - 1 AS BIGINT) AS i, id FROM {state}.conversations
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE wl.account_tool AS
        SELECT CAST(row_number() OVER (ORDER BY id) - 1 AS BIGINT) AS i, id FROM {state}.context_external_tools
        WHERE context_type = 'Account' AND workflow_state = 'public'
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE wl.admin AS
        SELECT CAST(row_number() OVER (ORDER BY user_id) - 1 AS BIGINT) AS i, user_id
        FROM (SELECT DISTINCT user_id FROM {state}.account_users WHERE workflow_state = 'active')
    """)


def weblog_select(
    con: duckdb.DuckDBPyConnection, rand: Rand, window: Window, n_sessions: int, developer_key_id: int | None
) -> str:
    """SELECT of complete web_logs rows for ``n_sessions`` drawn sessions (before the diurnal
    thinning) in ``window``; needs ``install_catalog``, ``build_actors`` and ``build_items``."""
    r = rand
    count = lambda rel: int(con.execute(f"SELECT count(*) FROM {rel}").fetchall()[0][0])  # noqa: E731
    n_actors, n_admins = max(count("wl.actor"), 1), max(count("wl.admin"), 1)
    n_conversations, n_tools = max(count("wl.conversation"), 1), max(count("wl.account_tool"), 1)
    span = f"greatest(epoch_ms({window.hi}) - epoch_ms({window.lo}), 1)"
    s = "ss.sid"
    other_user = f"{OTHER_INSTITUTION_SHARD * 10**13} + {r.index(500, 'wl.other', s)}"
    user_agent = f"""CASE
        WHEN ss.flavor = 'mobile' THEN {_pick(MOBILE_AGENTS, r.index(len(MOBILE_AGENTS), "wl.mua", s))}
        WHEN {r.chance(0.0005, "wl.ua_marker", s)} THEN '__cd2_oversized_truncated__'
        WHEN {r.chance(0.01, "wl.ua_null", s)} THEN NULL
        ELSE {_pick(USER_AGENTS, r.index(len(USER_AGENTS), "wl.ua", s))} END"""
    fallback = "NOT (l.entity = 'tool' AND t.id IS NOT NULL)"  # a page about a missing item shows the course home
    query = f"""
        CASE WHEN http_method = 'GET' AND NOT api AND {r.chance(0.05, "wl.query", "sid", "i")}
                 THEN (CASE WHEN contains(path, '?') THEN '&' ELSE '?' END)
                      || 'module_item_id=' || CAST({r.index(100000, "wl.mi", "sid", "i")} AS VARCHAR)
             WHEN api AND {r.chance(0.002, "wl.token", "sid", "i")}
                 THEN (CASE WHEN contains(path, '?') THEN '&' ELSE '?' END)
                      || 'access_token=' || {r.token(32, "wl.tok", "sid", "i")}
             ELSE '' END"""
    return f"""
    WITH drawn AS (
        SELECT range AS sid,
               {window.lo} + to_milliseconds(CAST({r.u("wl.start", "range")} * {span} AS BIGINT)) AS started_at,
               {r.index(n_actors, "wl.actor", "range")} AS slot,
               {r.u("wl.kind", "range")} AS u_kind
        FROM range({n_sessions})
    ), sess AS (  -- keep sessions by the local hour's weight; classify the special ones
        SELECT d.sid, d.started_at, a.user_id AS actor_id, a.course_id, a.audience, a.teacher_id, a.fade_at,
               CASE WHEN d.u_kind < 0.015 THEN 'other_institution'
                    WHEN d.u_kind < 0.02 AND a.audience = 'student' THEN 'masquerade'
                    WHEN d.u_kind < 0.06 AND a.audience = 'any' THEN 'login'
                    WHEN d.u_kind < 0.16 AND a.audience IN ('student', 'any') THEN 'mobile'
                    ELSE 'web' END AS flavor
        FROM drawn d JOIN wl.actor a ON a.slot = d.slot
        WHERE {r.u("wl.accept", "d.sid")} * {max(HOUR_WEIGHTS)}
              < ({list_literal(HOUR_WEIGHTS)})[1 + CAST(hour(syn_utc_to_local(d.started_at)) AS BIGINT)]
          AND (a.fade_at IS NULL OR d.started_at < a.fade_at)
    ), session_facts AS (
        SELECT ss.*,
               1 + CAST(floor(pow({r.u("wl.len", s)}, 1.6) * 24) AS INTEGER) AS n_requests,
               4000 + {r.u("wl.gap", s)} * 150000 AS gap_ms,
               CASE WHEN {r.chance(0.3, "wl.pause", s)} THEN 300000 + {r.u("wl.pause_len", s)} * 900000 ELSE 0 END
                   AS pause_ms,
               CASE ss.flavor WHEN 'other_institution' THEN {other_user} ELSE ss.actor_id END AS user_id,
               CASE WHEN ss.audience = 'test' THEN ss.teacher_id END AS teacher_view_of,
               {r.index(n_admins, "wl.admin", s)} AS admin_i,
               {user_agent} AS user_agent,
               {ip_address(r, "wl.ip", s, ipv6_share=0.2)} AS remote_ip,
               CASE WHEN ss.flavor = 'mobile' THEN NULL ELSE {r.uuid("wl.session", s)} END AS session_uuid,
               (['2.0', '1.1', '1.1', '2.0', '1.0'])[1 + {r.index(5, "wl.http", s)}] AS http_version
        FROM sess ss
    ), requests AS (
        SELECT f.* EXCLUDE (admin_i, teacher_view_of),
               CASE WHEN f.flavor = 'masquerade' THEN adm.user_id ELSE f.teacher_view_of END AS real_user_id,
               CAST(unnest(range(f.n_requests)) AS INTEGER) AS i
        FROM session_facts f LEFT JOIN wl.admin adm ON adm.i = f.admin_i
    ), timed AS (
        SELECT q.*,
               q.started_at + to_milliseconds(CAST(q.gap_ms * (q.i + {r.u("wl.jitter", "q.sid", "q.i")})
                   + CASE WHEN q.i >= q.n_requests / 2 THEN q.pause_ms ELSE 0 END AS BIGINT)) AS ts,
               CASE WHEN q.flavor = 'login' AND q.i = 0 THEN 'login'
                    WHEN q.audience IN ('student', 'test') AND q.i = 0 THEN 'home_student'
                    WHEN q.audience IN ('teacher', 'observer') AND q.i = 0 THEN 'home_' || q.audience
                    WHEN q.audience = 'test' THEN 'student' ELSE q.audience END AS pick_from,
               {r.index(1000, "wl.page", "q.sid", "q.i")} AS page_slot,
               {r.u("wl.status", "q.sid", "q.i")} AS u_status,
               {r.h("wl.item", "q.sid", "q.i")} AS item_draw
        FROM requests q
    ), paged AS (
        SELECT t.*, p.kind, p.method, p.controller, p.action, p.path, p.entity, p.participated AS can_participate, p.api
        FROM timed t JOIN wl.page_slot p ON p.audience = t.pick_from AND p.slot = t.page_slot
        WHERE t.ts < {window.hi}
    ), linked AS (  -- the item (assignment, quiz, page …) a request is about, from the actor's course
        SELECT p.*, CAST(p.item_draw % CAST(n.n AS UBIGINT) AS BIGINT) AS item_i
        FROM paged p LEFT JOIN wl.item_n n ON n.course_id = p.course_id AND n.kind = p.entity
    ), resolved AS (
        SELECT l.* EXCLUDE (method, controller, action, path),
               it.slug, coalesce(it.id, t.id, c.id) AS eid,
               l.entity IS NOT NULL AND l.entity <> 'conversation' AND it.id IS NULL AND {fallback} AS missing_item,
               CASE WHEN l.entity IS NOT NULL AND l.entity <> 'conversation' AND it.id IS NULL AND {fallback}
                    THEN 'GET' ELSE l.method END AS http_method,
               CASE WHEN l.entity IS NOT NULL AND l.entity <> 'conversation' AND it.id IS NULL AND {fallback}
                    THEN 'courses' ELSE l.controller END AS controller,
               CASE WHEN l.entity IS NOT NULL AND l.entity <> 'conversation' AND it.id IS NULL AND {fallback}
                    THEN 'show' ELSE l.action END AS action,
               CASE WHEN l.entity IS NOT NULL AND l.entity <> 'conversation' AND it.id IS NULL AND {fallback}
                    THEN '/courses/{{c}}' ELSE l.path END AS path
        FROM linked l
        LEFT JOIN wl.item it ON it.course_id = l.course_id AND it.kind = l.entity AND it.i = l.item_i
        LEFT JOIN wl.account_tool t ON l.entity = 'tool' AND t.i = CAST(l.item_draw % {n_tools} AS BIGINT)
        LEFT JOIN wl.conversation c
               ON l.entity = 'conversation' AND c.i = CAST(l.item_draw % {n_conversations} AS BIGINT)
    ), shaped AS (
        SELECT x.*,
            CASE WHEN x.kind = 'file' AND NOT x.missing_item THEN
                     CASE WHEN x.u_status < 0.9 THEN 302 WHEN x.u_status < 0.97 THEN 200 ELSE 404 END
                 WHEN x.kind IN ('login', 'login_post') THEN
                     CASE WHEN x.u_status < 0.6 THEN 302 WHEN x.u_status < 0.95 THEN 200 ELSE 401 END
                 WHEN x.http_method = 'GET' THEN CASE WHEN x.u_status < 0.86 THEN 200 WHEN x.u_status < 0.93 THEN 304
                     WHEN x.u_status < 0.955 THEN 302 WHEN x.u_status < 0.975 THEN 404 WHEN x.u_status < 0.982 THEN 401
                     WHEN x.u_status < 0.99 THEN 403 WHEN x.u_status < 0.996 THEN 500 ELSE 503 END
                 ELSE CASE WHEN x.u_status < 0.88 THEN 200 WHEN x.u_status < 0.94 THEN 201
                     WHEN x.u_status < 0.96 THEN 302 WHEN x.u_status < 0.985 THEN 422
                     WHEN x.u_status < 0.997 THEN 500 ELSE 502 END
            END AS http_status,
            -- pages about the person rather than a course carry a User context and no course_id
            x.kind NOT IN ('login', 'login_post') AND x.course_id IS NOT NULL AND x.audience <> 'any'
                AND x.controller <> 'page_views' AND NOT (x.controller = 'files' AND x.action = 'create_pending')
                AS in_course,
            x.flavor = 'mobile' AND x.api AS token_call
        FROM resolved x
    )
    SELECT
        {r.uuid("wl.id", "sid", "i")} AS id,
        ts AS "timestamp",
        CASE WHEN kind = 'login' AND i = 0 THEN NULL ELSE user_id END AS user_id,
        real_user_id,
        CASE WHEN in_course THEN course_id END AS course_id,
        CASE WHEN entity = 'quiz' AND NOT missing_item THEN eid END AS quiz_id,
        CASE WHEN entity = 'discussion' AND NOT missing_item THEN eid END AS discussion_id,
        CASE WHEN entity = 'conversation' THEN eid END AS conversation_id,
        CASE WHEN entity IN ('assignment', 'tool_assignment') AND NOT missing_item THEN eid END AS assignment_id,
        '{HOST}' || replace(replace(replace(replace(path, '{{c}}', coalesce(CAST(course_id AS VARCHAR), '0')),
            '{{e}}', coalesce(CAST(eid AS VARCHAR), '0')), '{{s}}', coalesce(slug, 'front-page')),
            '{{u}}', CAST({r.index(100000, "wl.u", "sid", "i")} AS VARCHAR)) || {query} AS url,
        http_method,
        http_status,
        http_version,
        remote_ip,
        CAST(CASE WHEN api THEN 5000 + {r.u("wl.micros", "sid", "i")} * 300000
                  ELSE 20000 + pow({r.u("wl.micros", "sid", "i")}, 2) * 2000000 END
             + CASE WHEN {r.chance(0.001, "wl.slow", "sid", "i")} THEN 15000000 ELSE 0 END AS INTEGER)
            AS interaction_micros,
        controller AS web_application_controller,
        action AS web_application_action,
        CASE WHEN kind IN ('login', 'login_post') THEN NULL WHEN in_course THEN 'Course' ELSE 'User' END
            AS web_application_context_type,
        CASE WHEN kind IN ('login', 'login_post') THEN NULL WHEN in_course THEN course_id ELSE user_id END
            AS web_application_context_id,
        CASE WHEN token_call THEN NULL ELSE session_uuid END AS session_id,
        CASE WHEN token_call THEN {sql_literal(developer_key_id)} END AS developer_key_id,
        can_participate AND NOT missing_item AND http_status < 400 AS participated,
        CASE WHEN flavor = 'mobile' AND NOT api THEN {_pick(USER_AGENTS, r.index(len(USER_AGENTS), "wl.ua", "sid"))}
             ELSE user_agent END AS user_agent
    FROM shaped
    """


def _pick(values: list[str], index_sql: str) -> str:
    return f"({list_literal(values)})[1 + {index_sql}]"


def sessions_for(rows: float) -> int:
    """How many sessions to draw to get about ``rows`` requests after the diurnal thinning."""
    return max(1, round(rows / MEAN_REQUESTS / SESSION_ACCEPT))
