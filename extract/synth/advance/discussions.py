"""Discussion activity: new posts and replies (with their read-state rows), soft deletes, and
hard deletes of a few leaf entries (with their participant rows)."""

from __future__ import annotations

from extract.synth.advance.refs import referenced_ids_sql
from extract.synth.advance.step import Step


def produce(step: Step) -> None:
    _new_entries(step)
    _soft_deletes(step)
    _hard_deletes(step)


def _new_entries(step: Step) -> None:
    r = step.rand
    step.sql("""
        CREATE OR REPLACE TABLE adv.topic AS
        SELECT t.id AS topic_id, t.context_id AS course_id, t.type, a.teacher_id
        FROM cur.discussion_topics t JOIN adv.course c ON c.course_id = t.context_id
        LEFT JOIN adv.teacher a ON a.course_id = t.context_id
        WHERE t.context_type = 'Course' AND t.workflow_state = 'active' AND t.posted_at IS NOT NULL
    """)
    step.sql("""
        CREATE OR REPLACE TABLE adv.classmate AS
        SELECT course_id, user_id, row_number() OVER (PARTITION BY course_id ORDER BY user_id) - 1 AS i,
               count(*) OVER (PARTITION BY course_id) AS n
        FROM adv.student WHERE NOT is_test
    """)
    base = step.next_id("discussion_entries")
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.new_entry AS
        WITH posts AS (
            SELECT t.topic_id, s.user_id, NULL::BIGINT AS parent_id, NULL::BIGINT AS root_id, 1 AS depth,
                   {step.event("de.post_at", "t.topic_id", "s.user_id")} AS event_at
            FROM adv.topic t JOIN adv.student s ON s.course_id = t.course_id AND NOT s.is_test
            WHERE coalesce(t.type, '') <> 'Announcement'
              AND {step.chance("0.001 * (0.2 + s.diligence)", "de.post", "t.topic_id", "s.user_id")}
        ), replies AS (
            SELECT e.discussion_topic_id, CASE WHEN {r.chance(0.25, "de.reply_teacher", "e.id")} THEN t.teacher_id
                ELSE m.user_id END,
                   e.id, coalesce(e.root_entry_id, e.id), least(coalesce(e.depth, 1) + 1, 3),
                   {step.event("de.reply_at", "e.id")}
            FROM cur.discussion_entries e JOIN adv.topic t ON t.topic_id = e.discussion_topic_id
            JOIN (SELECT course_id, any_value(n) AS n FROM adv.classmate GROUP BY ALL) cn ON cn.course_id = t.course_id
            JOIN adv.classmate m ON m.course_id = t.course_id AND m.i = {r.index("cn.n", "de.reply_author", "e.id")}
            WHERE e.workflow_state = 'active' AND e.created_at > {step.lo_sql} - INTERVAL 3 DAY
              AND {step.chance(0.01, "de.reply", "e.id")}
        )
        SELECT {base} + row_number() OVER (ORDER BY topic_id, depth, user_id, parent_id NULLS FIRST) - 1 AS id, *
        FROM (SELECT * FROM posts UNION ALL SELECT * FROM replies) WHERE user_id IS NOT NULL
    """)
    step.changes.insert(
        "discussion_entries",
        "SELECT * FROM adv.new_entry",
        {
            "discussion_topic_id": "src.topic_id",
            "user_id": "src.user_id",
            "parent_id": "src.parent_id",
            "root_entry_id": "src.root_id",
            "depth": "src.depth",
            "message": f"""CASE WHEN {r.chance(0.05, "de.adv_messy", "src.id")} THEN
                syn_messy({r.h("de.adv_m", "src.id")})
                ELSE syn_sentence({r.h("de.adv_msg", "src.id")}, 5 + CAST({r.h("de.adv_len", "src.id")} % 20 AS
                    BIGINT)) END""",
            "workflow_state": "'active'",
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )
    participant0 = step.next_id("discussion_entry_participants")
    step.changes.insert(
        "discussion_entry_participants",
        f"""SELECT {participant0} + row_number() OVER (ORDER BY id) - 1 AS id, id AS entry_id, user_id, event_at
            FROM adv.new_entry""",
        {"discussion_entry_id": "src.entry_id", "user_id": "src.user_id", "workflow_state": "'read'"},
    )
    step.changes.upsert(
        "discussion_topics",
        "SELECT topic_id AS id, max(event_at) AS event_at FROM adv.new_entry GROUP BY ALL",
        {"last_reply_at": "src.event_at"},
    )


def _soft_deletes(step: Step) -> None:
    step.changes.upsert(
        "discussion_entries",
        f"""SELECT e.id, {step.event("de.soft_at", "e.id")} AS event_at FROM cur.discussion_entries e
            JOIN adv.topic t ON t.topic_id = e.discussion_topic_id
            WHERE e.workflow_state = 'active' AND {step.chance(0.0005, "de.soft", "e.id")}""",
        {"workflow_state": "'deleted'", "deleted_at": "src.event_at", "updated_at": "src.event_at"},
    )


def _hard_deletes(step: Step) -> None:
    """Leaf entries only: nothing may still point at a hard-deleted row."""
    candidates = f"""
        SELECT e.id FROM cur.discussion_entries e
        WHERE e.id NOT IN
            ({referenced_ids_sql("discussion_entries", ignore=frozenset({"discussion_entry_participants"}))})
          AND e.id NOT IN (SELECT id FROM ({step.changes.staged_keys("discussion_entries")}))
          AND e.id NOT IN (SELECT parent_id FROM adv.new_entry WHERE parent_id IS NOT NULL
                           UNION SELECT root_id FROM adv.new_entry WHERE root_id IS NOT NULL)
    """
    n = step.quota(0.0002, int(step.scalar(f"SELECT count(*) FROM ({candidates})") or 0), minimum=1)
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.gone_entry AS
        SELECT id, {step.event("de.hard_at", "id")} AS event_at FROM ({candidates})
        ORDER BY {step.rand.h("de.hard", "id")}, id LIMIT {n}
    """)
    step.changes.delete("discussion_entries", "SELECT id, event_at FROM adv.gone_entry")
    step.changes.delete(
        "discussion_entry_participants",
        """SELECT p.id, g.event_at FROM cur.discussion_entry_participants p
           JOIN adv.gone_entry g ON g.id = p.discussion_entry_id""",
    )
