"""Discussion topics (incl. announcements and group discussions), threaded entries, participants.

Topics per course: one per graded-discussion assignment, a few ungraded ones, announcements
(``type = 'Announcement'``, some delayed), and for courses with project groups a root topic
with one child topic per group (``context_type = 'Group'``, ``root_topic_id``). Some are
unpublished, locked or soft-deleted. Entries: students' top-level posts (the graded ones at
their submission time), replies and replies to replies (``parent_id``, ``root_entry_id``,
``depth``), teacher replies, some soft-deleted; messages are HTML with the usual messiness.
"""

from __future__ import annotations

from extract.synth.context import GenContext
from extract.synth.text import MESSY


def build(ctx: GenContext) -> None:
    _build_topics(ctx)
    _build_entries(ctx)
    _build_participants(ctx)


def _build_topics(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.topic AS
        WITH courses AS (
            SELECT c.id AS course_id, c.kind, c.size, coalesce(c.term_start, {now} - INTERVAL 60 DAY) AS t0,
                   least(coalesce(c.term_end, {now}), {now}) AS t1, ct.teacher_id
            FROM h.course c LEFT JOIN h.course_teacher ct ON ct.course_id = c.id
            WHERE c.kind IN ('current', 'past', 'future', 'manual', 'blueprint', 'sandbox')
        ), graded AS (
            SELECT a.course_id, 'graded' AS kind, a.id AS assignment_id, NULL::BIGINT AS group_category_id,
                   NULL::BIGINT AS group_id, ma.title, ma.created_at AS posted_at, a.state AS a_state, 0 AS n
            FROM h.assignment a JOIN m.assignments ma ON ma.id = a.id WHERE a.kind = 'discussion'
        ), plain AS (
            SELECT c.course_id, 'plain', NULL::BIGINT, NULL::BIGINT, NULL::BIGINT,
                   CASE WHEN n.n = 0 THEN 'Introduce yourself' ELSE 'Week ' || CAST(n.n * 3 AS VARCHAR) ||
                       ' discussion' END,
                   c.t0 + to_days(CAST(n.n * 20 AS INTEGER)), 'published', n.n
            FROM courses c, range(3) AS n(n) WHERE n.n < 1 + {r.h("topic.n", "c.course_id")} % 3
        ), announcements AS (
            SELECT c.course_id, 'announcement', NULL::BIGINT, NULL::BIGINT, NULL::BIGINT,
                   (['Welcome to the course!', 'Reminder: assignment due', 'Office hours moved', 'Exam room change',
                     'Grades posted'])[1 + n.n], c.t0 + to_days(CAST(n.n * 15 AS INTEGER)), 'published', n.n
            FROM courses c, range(5) AS n(n) WHERE n.n < 2 + {r.h("ann.n", "c.course_id")} % 4
        ), group_root AS (
            SELECT p.course_id, 'group_root', NULL::BIGINT, p.category_id, NULL::BIGINT, 'Group project check-in',
                   c.t0 + INTERVAL 30 DAY, 'published', 0
            FROM h.group_plan p JOIN courses c ON c.course_id = p.course_id WHERE p.context_type = 'Course'
        ), all_topics AS (
            SELECT * FROM graded UNION ALL SELECT * FROM plain UNION ALL SELECT * FROM announcements
            UNION ALL SELECT * FROM group_root
        )
        SELECT {ctx.base("discussion_topics")} + row_number() OVER (
                   ORDER BY t.course_id, t.kind, t.n, t.assignment_id, t.group_category_id) - 1 AS id,
               t.*, c.teacher_id, c.kind AS course_kind, c.t1, NULL::BIGINT AS root_id
        FROM all_topics t JOIN courses c ON c.course_id = t.course_id
    """)
    # one child topic per live group under each group root topic
    ctx.sql(f"""
        INSERT INTO h.topic
        SELECT {ctx.base("discussion_topics")} + 500000 + row_number() OVER (ORDER BY t.id, g.id) - 1,
               t.course_id, 'group_child', NULL, NULL, g.id, t.title, t.posted_at, t.a_state, 0, t.teacher_id,
                   t.course_kind,
               t.t1, t.id
        FROM h.topic t JOIN m.groups g ON g.group_category_id = t.group_category_id AND g.workflow_state = 'available'
        WHERE t.kind = 'group_root'
    """)
    posted = f"least(src.posted_at, {now} - INTERVAL 1 HOUR)"
    ctx.build(
        "discussion_topics",
        "SELECT * FROM h.topic",
        {
            "title": (
                f"CASE WHEN {r.chance(0.03, 'topic.title_messy', 'src.id')} THEN "
                f"syn_messy({r.h('topic.tm', 'src.id')}) ELSE src.title END"
            ),
            "message": f"""CASE WHEN src.id % 53 = 7 THEN syn_marker({r.h("topic.mk", "src.id")})
                WHEN {r.chance(0.05, "topic.messy", "src.id")} THEN syn_messy({r.h("topic.m", "src.id")})
                ELSE syn_html({r.h("topic.msg", "src.id")}, 2) END""",
            "type": "CASE WHEN src.kind = 'announcement' THEN 'Announcement' END",
            "context_type": "CASE WHEN src.kind = 'group_child' THEN 'Group' ELSE 'Course' END",
            "context_id": "coalesce(src.group_id, src.course_id)",
            "assignment_id": "src.assignment_id",
            "group_category_id": "src.group_category_id",
            "root_topic_id": "src.root_id",
            "user_id": "src.teacher_id",
            "editor_id": "NULL",
            "workflow_state": f"""CASE WHEN src.a_state = 'deleted' OR {r.chance(0.04, "topic.deleted", "src.id")}
                THEN 'deleted'
                WHEN src.a_state <> 'published' OR src.course_kind = 'future' THEN 'unpublished'
                WHEN src.kind = 'announcement' AND src.posted_at > {now} THEN 'post_delayed'
                WHEN {r.chance(0.03, "topic.locked", "src.id")} THEN 'locked'
                ELSE 'active' END""",
            "locked": f"{r.chance(0.03, 'topic.locked', 'src.id')}",
            "posted_at": f"CASE WHEN src.posted_at <= {now} THEN src.posted_at END",
            "delayed_post_at": f"CASE WHEN src.posted_at > {now} THEN src.posted_at END",
            "created_at": f"least(src.posted_at - INTERVAL 2 DAY, {now} - INTERVAL 2 DAY)",
            "updated_at": posted,
            "discussion_type": r.pick(
                ["threaded", "threaded", "threaded", "side_comment", "side_comment", "not_threaded"],
                "topic.type",
                "src.id",
            ),
            "pinned": "src.kind = 'plain' AND src.n = 0",
            "position": "CASE WHEN src.kind = 'plain' AND src.n = 0 THEN 1 END",
            "allow_rating": f"{r.chance(0.2, 'topic.rating', 'src.id')}",
            "only_graders_can_rate": "false",
            "sort_by_rating": "false",
            "require_initial_post": f"src.kind = 'graded' AND {r.chance(0.3, 'topic.initial', 'src.id')}",
            "podcast_enabled": "false",
            "podcast_has_student_posts": "false",
            "is_section_specific": "false",
            "lock_at": "NULL",
            "todo_date": "NULL",
            "last_reply_at": "NULL",  # set from the entries below
            "attachment_id": "NULL",
            "old_assignment_id": "NULL",
            "cloned_item_id": "NULL",
            "external_feed_id": "NULL",
            "migration_id": "NULL",
            "subtopics_refreshed_at": "NULL",
        },
    )


def _build_entries(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.entry AS
        WITH topics AS (
            SELECT t.id AS topic_id, h.course_id, t.context_id, t.context_type, t.assignment_id, t.posted_at,
                   h.t1, h.teacher_id, h.kind
            FROM m.discussion_topics t JOIN h.topic h ON h.id = t.id
            WHERE t.workflow_state IN ('active', 'locked', 'deleted') AND t.posted_at IS NOT NULL
        ), graded_posts AS (  -- a graded discussion submission is the student's post
            SELECT t.topic_id, s.user_id, s.submitted_at AS at_ts FROM topics t
            JOIN m.submissions s ON s.assignment_id = t.assignment_id AND s.submission_type = 'discussion_topic'
        ), plain_posts AS (
            SELECT t.topic_id, sc.user_id,
                   t.posted_at + to_milliseconds(CAST({r.u("entry.at", "t.topic_id", "sc.user_id")}
                       * greatest(epoch_ms(least(t.t1, {now})) - epoch_ms(t.posted_at), 0) * 0.6 AS BIGINT)) AS at_ts
            FROM topics t JOIN h.student_course sc ON sc.course_id = t.course_id AND NOT sc.is_test
            WHERE t.kind IN ('plain', 'group_root') AND sc.state IN ('active', 'completed', 'inactive')
              AND {r.u("entry.posts", "t.topic_id", "sc.user_id")} < 0.2 + 0.6 * sc.diligence
              AND (sc.fade_at IS NULL OR {r.chance(0.2, "entry.faded", "t.topic_id", "sc.user_id")})
            UNION ALL
            SELECT t.topic_id, gm.user_id, t.posted_at + INTERVAL 2 DAY
            FROM topics t JOIN h.group_member gm ON gm.group_id = t.context_id
            WHERE t.kind = 'group_child' AND {r.chance(0.6, "entry.group", "t.topic_id", "gm.user_id")}
            UNION ALL  -- a few students answer announcements
            SELECT t.topic_id, sc.user_id, t.posted_at + INTERVAL 6 HOUR FROM topics t
            JOIN h.student_course sc ON sc.course_id = t.course_id AND NOT sc.is_test
            WHERE t.kind = 'announcement' AND {r.chance(0.03, "entry.ann", "t.topic_id", "sc.user_id")}
        ), tops AS (
            SELECT topic_id, user_id, at_ts FROM graded_posts UNION ALL SELECT * FROM plain_posts
        ), top_ids AS (
            SELECT {ctx.base("discussion_entries")} + row_number() OVER (ORDER BY topic_id, user_id, at_ts) - 1 AS id,
                   topic_id, user_id, at_ts, NULL::BIGINT AS parent_id, NULL::BIGINT AS root_id, 1 AS depth,
                   row_number() OVER (PARTITION BY topic_id ORDER BY user_id, at_ts) - 1 AS i,
                   count(*) OVER (PARTITION BY topic_id) AS cnt
            FROM tops WHERE at_ts < {now}
        ), replies AS (  -- 0-2 replies per post, by classmates or the teacher
            SELECT p.topic_id, p.id AS parent_id, p.id AS root_id, CAST(n.n AS INTEGER) AS n,
                   CASE WHEN {r.chance(0.25, "reply.teacher", "p.id", "n.n")} THEN t.teacher_id ELSE x.user_id END AS
                       user_id,
                   p.at_ts + to_milliseconds(CAST(60000 + {r.u("reply.at", "p.id", "n.n")} * 172800000 AS BIGINT)) AS
                       at_ts
            FROM top_ids p JOIN topics t ON t.topic_id = p.topic_id
            CROSS JOIN range(2) AS n(n)
            JOIN top_ids x ON x.topic_id = p.topic_id AND x.i = {r.index("p.cnt", "reply.author", "p.id", "n.n")}
            WHERE n.n < {r.h("reply.n", "p.id")} % 3
        ), reply_ids AS (
            SELECT {ctx.base("discussion_entries")} + 2000000 + row_number() OVER (ORDER BY parent_id, n) - 1 AS id,
                   topic_id, user_id, at_ts, parent_id, root_id, 2 AS depth
            FROM replies WHERE at_ts < {now} AND user_id IS NOT NULL
        ), deep AS (  -- the original poster answers back sometimes
            SELECT {ctx.base("discussion_entries")} + 4000000 + row_number() OVER (ORDER BY r.id) - 1 AS id,
                   r.topic_id, p.user_id, r.at_ts + INTERVAL 3 HOUR AS at_ts, r.id AS parent_id, r.root_id, 3 AS depth
            FROM reply_ids r JOIN top_ids p ON p.id = r.root_id
            WHERE {r.chance(0.2, "reply.deep", "r.id")} AND r.at_ts + INTERVAL 3 HOUR < {now}
        )
        SELECT id, topic_id, user_id, at_ts, parent_id, root_id, depth FROM top_ids
        UNION ALL SELECT * FROM reply_ids UNION ALL SELECT * FROM deep
    """)
    ctx.build(
        "discussion_entries",
        "SELECT * FROM h.entry",
        {
            "discussion_topic_id": "src.topic_id",
            "user_id": "src.user_id",
            "parent_id": "src.parent_id",
            "root_entry_id": "src.root_id",
            "depth": "src.depth",
            # the first entries carry every messy string once, whatever the seed
            "message": f"""CASE WHEN src.id - {ctx.base("discussion_entries")} < {len(MESSY)}
                    THEN syn_messy_at(src.id - {ctx.base("discussion_entries")})
                WHEN src.id % 61 = 5 THEN syn_marker({r.h("entry.mk", "src.id")})
                WHEN {r.chance(0.05, "entry.messy", "src.id")} THEN syn_messy({r.h("entry.m", "src.id")})
                WHEN {r.chance(0.5, "entry.html", "src.id")} THEN syn_html({r.h("entry.msg", "src.id")}, 1 +
                    CAST({r.h("entry.len", "src.id")} % 3 AS BIGINT))
                ELSE syn_sentence({r.h("entry.msg", "src.id")}, 6 + CAST({r.h("entry.len", "src.id")} % 20 AS BIGINT))
                    END""",
            "workflow_state": f"CASE WHEN {r.chance(0.03, 'entry.deleted', 'src.id')} THEN 'deleted' ELSE 'active' END",
            "created_at": "src.at_ts",
            "updated_at": (
                f"least(src.at_ts + to_milliseconds(CAST({r.h('entry.edit', 'src.id')} % 3600000 AS BIGINT)), {now})"
            ),
            "editor_id": f"CASE WHEN {r.chance(0.05, 'entry.edited', 'src.id')} THEN src.user_id END",
            "attachment_id": "NULL",
            "migration_id": "NULL",
            "rating_count": (
                f"CASE WHEN {r.chance(0.1, 'entry.rated', 'src.id')} THEN CAST(1 + {r.h('entry.rc', 'src.id')} % 4 AS "
                "INTEGER) END"
            ),
            "rating_sum": (
                f"CASE WHEN {r.chance(0.1, 'entry.rated', 'src.id')} THEN CAST(1 + {r.h('entry.rc', 'src.id')} % 4 AS "
                "INTEGER) END"
            ),
        },
    )
    ctx.sql("""
        UPDATE m.discussion_topics t SET last_reply_at = e.last_at
        FROM (SELECT discussion_topic_id, max(created_at) AS last_at FROM m.discussion_entries GROUP BY ALL) e
        WHERE e.discussion_topic_id = t.id
    """)


def _build_participants(ctx: GenContext) -> None:
    r = ctx.rand
    ctx.build(
        "discussion_topic_participants",
        f"""
        SELECT {ctx.base("discussion_topic_participants")} + row_number() OVER (ORDER BY t.id, sc.user_id) - 1 AS id,
               t.id AS topic_id, sc.user_id,
               (SELECT count(*) FROM m.discussion_entries e WHERE e.discussion_topic_id = t.id) AS n_entries
        FROM m.discussion_topics t JOIN h.student_course sc ON sc.course_id = t.context_id AND t.context_type = 'Course'
        WHERE t.posted_at IS NOT NULL AND NOT sc.is_test AND {r.chance(0.5, "dtp.seen", "t.id", "sc.user_id")}
        """,
        {
            "discussion_topic_id": "src.topic_id",
            "user_id": "src.user_id",
            "workflow_state": f"CASE WHEN {r.chance(0.6, 'dtp.read', 'src.id')} THEN 'read' ELSE 'unread' END",
            "unread_entry_count": (
                f"CAST(CASE WHEN {r.chance(0.6, 'dtp.read', 'src.id')} THEN 0 ELSE src.n_entries END AS INTEGER)"
            ),
            "subscribed": f"{r.chance(0.4, 'dtp.sub', 'src.id')}",
        },
    )
    ctx.build(
        "discussion_entry_participants",
        f"""
        WITH pairs AS (
            SELECT e.id AS entry_id, e.user_id, true AS own FROM m.discussion_entries e WHERE e.user_id IS NOT NULL
            UNION ALL
            SELECT e.id, t.user_id, false FROM m.discussion_entries e
            JOIN m.discussion_topics t ON t.id = e.discussion_topic_id
            WHERE t.user_id IS NOT NULL AND t.user_id <> e.user_id AND {r.chance(0.5, "dep.teacher", "e.id")}
        )
        SELECT {ctx.base("discussion_entry_participants")} + row_number() OVER (ORDER BY entry_id, user_id) - 1 AS id, *
        FROM pairs
        """,
        {
            "discussion_entry_id": "src.entry_id",
            "user_id": "src.user_id",
            "workflow_state": (
                f"CASE WHEN src.own OR {r.chance(0.7, 'dep.read', 'src.id')} THEN 'read' ELSE 'unread' END"
            ),
            "forced_read_state": "CASE WHEN src.own THEN NULL ELSE false END",
            "rating": f"CASE WHEN NOT src.own AND {r.chance(0.1, 'dep.rate', 'src.id')} THEN 1 END",
        },
    )
