"""Group categories, groups and memberships.

Some current courses split their students into project groups (the basis of group
assignments, whose submissions carry ``group_id``); there is also an account-level
"Communities" category. ``h.group_member`` maps (student, course) to their group.
"""

from __future__ import annotations

from extract.synth.context import GenContext


def build(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    root = ctx.base("accounts")
    ctx.build(
        "group_categories",
        f"""
        WITH rows AS (
            SELECT c.id AS course_id, 'Course' AS ctype, 'Project Groups' AS cat_name, NULL AS cat_role, c.size
            FROM h.course c WHERE c.kind = 'current' AND c.size >= 8 AND ({r.chance(0.4, "gc.course", "c.id")}
                OR c.id = (SELECT min(id) FROM h.course WHERE kind = 'current' AND size >= 8))
            UNION ALL
            SELECT c.id, 'Course', 'Student Groups', 'student_organized', c.size
            FROM h.course c WHERE c.kind = 'current' AND c.size >= 8 AND {r.chance(0.1, "gc.student", "c.id")}
            UNION ALL SELECT NULL, 'Account', 'Communities', 'communities', 0
        )
        SELECT {ctx.base("group_categories")} + row_number() OVER (ORDER BY ctype DESC, course_id, cat_name) - 1 AS
            id, * FROM rows
        """,
        {
            "name": "src.cat_name",
            "context_type": "src.ctype",
            "context_id": f"coalesce(src.course_id, {root})",
            "role": "src.cat_role",
            "self_signup": "CASE WHEN src.cat_role = 'student_organized' THEN 'enabled' END",
            "group_limit": "CASE WHEN src.cat_role IS NULL THEN 6 END",
            "auto_leader": "CASE WHEN src.cat_role IS NULL THEN 'first' END",
            "non_collaborative": "false",
            "sis_source_id": "NULL",
            "sis_batch_id": "NULL",
            "created_at": f"{start} - INTERVAL 50 DAY",
            "updated_at": f"{start} - INTERVAL 45 DAY",
            "deleted_at": "NULL",
        },
    )
    ctx.sql("""
        CREATE OR REPLACE TABLE h.group_plan AS
        SELECT g.id AS category_id, g.context_id AS course_id, g.context_type,
               CAST(CASE WHEN g.context_type = 'Account' THEN 2 ELSE least(8, greatest(2, ceil(c.size / 5.0))) END AS
                   INTEGER) AS n_groups,
               coalesce(c.account_id, g.context_id) AS account_id
        FROM m.group_categories g LEFT JOIN h.course c ON c.id = g.context_id AND g.context_type = 'Course'
    """)
    ctx.build(
        "groups",
        f"""
        SELECT {ctx.base("groups")} + row_number() OVER (ORDER BY p.category_id, gi) - 1 AS id, p.*, gi
        FROM h.group_plan p, (SELECT CAST(unnest(range(8)) AS INTEGER) AS gi) AS t WHERE t.gi < p.n_groups
        """,
        {
            "name": "CASE WHEN src.context_type = 'Account' THEN 'Community ' || CAST(src.gi + 1 AS VARCHAR) "
            "ELSE 'Project Group ' || CAST(src.gi + 1 AS VARCHAR) END",
            "context_type": "src.context_type",
            "context_id": "src.course_id",
            "account_id": "src.account_id",
            "group_category_id": "src.category_id",
            "workflow_state": (
                f"CASE WHEN src.gi = 7 OR {r.chance(0.03, 'group.dead', 'src.id')} THEN 'deleted' ELSE 'available' END"
            ),
            "is_public": "false",
            "join_level": "'invitation_only'",
            "max_membership": "6",
            "default_view": "'feed'",
            "wiki_id": "NULL",
            "leader_id": "NULL",
            "avatar_attachment_id": "NULL",
            "storage_quota": "NULL",
            "sis_source_id": "NULL",
            "sis_batch_id": "NULL",
            "non_collaborative": "false",
            "uuid": r.token(40, "group.uuid", "src.id"),
            "created_at": f"{start} - INTERVAL 48 DAY",
            "updated_at": f"{start} - INTERVAL 40 DAY",
        },
    )
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.group_member AS
        WITH live AS (
            SELECT id, group_category_id, row_number() OVER (PARTITION BY group_category_id ORDER BY id) - 1 AS i,
                   count(*) OVER (PARTITION BY group_category_id) AS n
            FROM m.groups WHERE workflow_state = 'available'
        )
        SELECT sc.user_id, sc.course_id, p.category_id, l.id AS group_id
        FROM h.student_course sc JOIN h.group_plan p ON p.course_id = sc.course_id AND p.context_type = 'Course'
        JOIN live l ON l.group_category_id = p.category_id AND l.i =
            {r.index("l.n", "gm.group", "sc.user_id", "p.category_id")}
        WHERE NOT sc.is_test AND sc.state IN ('active', 'invited', 'completed')
    """)
    ctx.build(
        "group_memberships",
        f"""SELECT {ctx.base("group_memberships")} + row_number() OVER (ORDER BY group_id, user_id) - 1 AS id, *
            FROM h.group_member""",
        {
            "user_id": "src.user_id",
            "group_id": "src.group_id",
            "workflow_state": f"CASE WHEN {r.chance(0.04, 'gm.state', 'src.id')} THEN 'deleted' "
            f"WHEN {r.chance(0.03, 'gm.inv', 'src.id')} THEN 'invited' ELSE 'accepted' END",
            "moderator": f"{r.chance(0.15, 'gm.mod', 'src.id')}",
            "sis_batch_id": "NULL",
            "uuid": r.token(40, "gm.uuid", "src.id"),
            "created_at": f"{start} - INTERVAL 40 DAY",
            "updated_at": f"{start} - INTERVAL 39 DAY",
        },
    )
