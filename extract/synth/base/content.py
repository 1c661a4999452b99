"""Course content: external tools, wikis and pages, folders and files, modules and their items,
module progress, and learning outcomes with their results.

Module items (``content_tags`` with ``tag_type = 'context_module'``) point at assignments,
classic quizzes (``Quizzes::Quiz``), discussions, wiki pages, files, LTI tools and external
URLs, plus text sub-headers; outcome alignments are ``learning_outcome_association`` tags.
Files are course files and the students' uploaded submissions (``submissions.attachment_ids``).
"""

from __future__ import annotations

from extract.synth.context import GenContext
from extract.synth.sqlutil import values_source

TOOLS = [
    ("New Quizzes", "Quizzes 2", "quiz-lti-iad-prod.instructure.com"),
    ("Zoom", "zoom.us", "applications.zoom.us"),
    ("Turnitin", "turnitin", "api.turnitin.com"),
    ("YouTube", "youtube", "www.youtube.com"),
    ("Panopto Video", "panopto", "synthetic.hosted.panopto.com"),
    ("McGraw Hill Connect", "mhconnect", "connect.mheducation.com"),
    ("Google Assignments", "google", "assignments.google.com"),
]
FILE_TYPES = [
    ("Lecture {n} slides.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("Reading {n}.pdf", "application/pdf"),
    ("Worksheet {n}.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("diagram_{n}.png", "image/png"),
    ("Lecture recording {n}.mp4", "video/mp4"),
    ("data set {n}.csv", "text/csv"),
]


def build(ctx: GenContext) -> None:
    _build_tools(ctx)
    _build_wikis(ctx)
    _build_folders_and_files(ctx)
    _build_modules(ctx)
    _build_outcomes(ctx)
    _build_module_items(ctx)
    _build_progressions(ctx)
    _build_outcome_results(ctx)


def _build_tools(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    tools = values_source(["t", "tool_name", "tool_id", "domain"], [(i, *t) for i, t in enumerate(TOOLS)])
    ctx.build(
        "context_external_tools",
        f"""
        WITH rows AS (
            SELECT t, tool_name, tool_id, domain, 'Account' AS ctype, {ctx.base("accounts")} AS context_id FROM
                ({tools})
            UNION ALL
            SELECT tl.t, tl.tool_name, tl.tool_id, tl.domain, 'Course', c.id
            FROM h.course c JOIN ({tools}) tl ON tl.t = 3 + {r.h("tool.course", "c.id")} % {len(TOOLS) - 3}
            WHERE c.kind IN ('current', 'past') AND {r.chance(0.15, "tool.has", "c.id")}
        )
        SELECT {ctx.base("context_external_tools")} + row_number() OVER (ORDER BY ctype, context_id, t) - 1 AS id, *
            FROM rows
        """,
        {
            "name": "src.tool_name",
            "tool_id": "src.tool_id",
            "domain": "src.domain",
            "url": "'https://' || src.domain || '/lti/launch'",
            "context_type": "src.ctype",
            "context_id": "src.context_id",
            "workflow_state": f"""CASE WHEN src.ctype = 'Course' AND {r.chance(0.1, "tool.deleted", "src.id")} THEN
                'deleted'
                WHEN src.t = 6 THEN 'disabled' WHEN src.t = 2 THEN 'anonymous' ELSE 'public' END""",
            "consumer_key": (
                f"CASE WHEN src.id % 11 = 4 THEN syn_marker({r.h('tool.key_mk', 'src.id')}) ELSE "
                f"{r.token(24, 'tool.key', 'src.id')} END"
            ),
            "developer_key_id": f"CASE WHEN src.t IN (0, 4) THEN {ctx.registry.lookup('developer_keys', 'src.t')} END",
            "description": "src.tool_name || ' integration'",
            "not_selectable": "false",
            "allow_membership_service_access": "src.t = 0",
            "app_center_id": "NULL",
            "cloned_item_id": "NULL",
            "migration_id": "NULL",
            "unified_tool_id": (
                f"CASE WHEN {r.chance(0.6, 'tool.unified', 'src.id')} THEN {r.token(32, 'tool.uid', 'src.tool_id')} END"
            ),
            "created_at": f"{now} - INTERVAL 300 DAY + to_days(CAST(src.t AS INTEGER))",
            "updated_at": f"{now} - INTERVAL 30 DAY",
        },
    )


def _build_wikis(ctx: GenContext) -> None:
    now = ctx.now
    ctx.build(
        "wikis",
        f"""SELECT {ctx.base("wikis")} + c.k AS id, mc.name AS course_name, mc.default_view, mc.created_at AS c_created
            FROM h.course c JOIN m.courses mc ON mc.id = c.id""",
        {
            "title": "src.course_name || ' Wiki'",
            "front_page_url": "CASE WHEN src.default_view = 'wiki' THEN 'front-page' END",
            "has_no_front_page": "src.default_view <> 'wiki'",
            "created_at": "src.c_created",
            "updated_at": f"least(src.c_created + INTERVAL 10 DAY, {now})",
        },
    )
    r = ctx.rand
    titles = "(['Front Page', 'Course Resources', 'How to Succeed', 'Week 3 Overview', 'Lab Safety', 'Reading List'])"
    ctx.build(
        "wiki_pages",
        f"""
        WITH pages AS (
            SELECT c.id AS course_id, {ctx.base("wikis")} + c.k AS wiki_id, CAST(n.n AS INTEGER) AS n, c.term_start,
                ct.teacher_id
            FROM h.course c LEFT JOIN h.course_teacher ct ON ct.course_id = c.id, range(6) AS n(n)
            WHERE c.kind <> 'deleted' AND n.n < 2 + {r.h("page.n", "c.id")} % 5
        ), linked AS (  -- "wiki_page" assignments point at a page
            SELECT a.course_id, a.id AS assignment_id, row_number() OVER (PARTITION BY a.course_id ORDER BY a.id) AS n
            FROM h.assignment a WHERE a.kind = 'wiki'
        )
        SELECT {ctx.base("wiki_pages")} + row_number() OVER (ORDER BY p.course_id, p.n) - 1 AS id, p.*, l.assignment_id
        FROM pages p LEFT JOIN linked l ON l.course_id = p.course_id AND l.n = p.n
        """,
        {
            "title": f"{titles}[1 + src.n]",
            "url": f"lower(replace({titles}[1 + src.n], ' ', '-'))",
            "body": f"""CASE WHEN src.id % 41 = 9 THEN syn_marker({r.h("page.mk", "src.id")})
                WHEN {r.chance(0.05, "page.messy", "src.id")} THEN syn_messy({r.h("page.m", "src.id")})
                WHEN {r.chance(0.05, "page.empty", "src.id")} THEN ''
                ELSE '<h2>' || syn_phrase({r.h("page.h", "src.id")}, 3) || '</h2>' ||
                    syn_html({r.h("page.body", "src.id")}, 3) END""",
            "context_type": "'Course'",
            "context_id": "src.course_id",
            "wiki_id": "src.wiki_id",
            "user_id": "src.teacher_id",
            "assignment_id": "src.assignment_id",
            "old_assignment_id": "NULL",
            "workflow_state": f"""CASE WHEN {r.chance(0.05, "page.deleted", "src.id")} THEN 'deleted'
                WHEN {r.chance(0.1, "page.unpub", "src.id")} THEN 'unpublished' ELSE 'active' END""",
            "editing_roles": "'teachers'",
            "protected_editing": "false",
            "could_be_locked": "false",
            "todo_date": "NULL",
            "revised_at": (
                f"least(coalesce(src.term_start, {now}) + to_days(CAST(src.n * 9 AS INTEGER)), {now} - INTERVAL 1 HOUR)"
            ),
            "created_at": f"least(coalesce(src.term_start, {now}) - INTERVAL 14 DAY, {now} - INTERVAL 1 DAY)",
            "updated_at": (
                f"least(coalesce(src.term_start, {now}) + to_days(CAST(src.n * 9 AS INTEGER)), {now} - INTERVAL 1 HOUR)"
            ),
            "migration_id": "NULL",
        },
    )


def _build_folders_and_files(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    base = ctx.base("folders")
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.folder AS
        WITH course_roots AS (
            SELECT {base} + c.k * 3 AS id, 'Course' AS ctype, c.id AS context_id, 'course files' AS name, NULL::BIGINT
                AS parent_id
            FROM h.course c
        ), course_subs AS (
            SELECT {base} + c.k * 3 + n.n, 'Course', c.id, (['Lectures', 'Readings'])[n.n], {base} + c.k * 3
            FROM h.course c, range(1, 3) AS n(n) WHERE c.kind IN ('current', 'past')
        ), uploaders AS (
            SELECT DISTINCT user_id FROM h.sub_final WHERE upload_id IS NOT NULL
        ), user_roots AS (
            SELECT {base} + 5000000 + 2 * (row_number() OVER (ORDER BY user_id) - 1) AS id, 'User' AS ctype,
                   user_id AS context_id, 'my files' AS name, NULL::BIGINT AS parent_id
            FROM uploaders
        ), user_subs AS (
            SELECT id + 1, 'User', context_id, 'Submissions', id FROM user_roots
        )
        SELECT * FROM course_roots UNION ALL SELECT * FROM course_subs UNION ALL SELECT * FROM user_roots
        UNION ALL SELECT * FROM user_subs
    """)
    ctx.build(
        "folders",
        "SELECT f.*, p.name AS parent_name FROM h.folder f LEFT JOIN h.folder p ON p.id = f.parent_id",
        {
            "name": "src.name",
            "full_name": "CASE WHEN src.parent_name IS NULL THEN src.name ELSE src.parent_name || '/' || src.name END",
            "context_type": "src.ctype",
            "context_id": "src.context_id",
            "parent_folder_id": "src.parent_id",
            "workflow_state": (
                f"CASE WHEN src.parent_id IS NOT NULL AND {r.chance(0.03, 'folder.hidden', 'src.id')} THEN 'hidden' "
                "ELSE 'visible' END"
            ),
            "locked": "false",
            "unlock_at": "NULL",
            "lock_at": "NULL",
            "cloned_item_id": "NULL",
            "submission_context_code": "NULL",
            "unique_type": "NULL",
            "position": "CASE WHEN src.parent_id IS NOT NULL THEN 1 END",
            "created_at": f"{now} - INTERVAL 120 DAY",
            "updated_at": f"{now} - INTERVAL 60 DAY",
            "deleted_at": "NULL",
        },
    )
    names = values_source(["t", "pattern", "mime"], [(i, p, m) for i, (p, m) in enumerate(FILE_TYPES)])
    ctx.build(
        "attachments",
        f"""
        WITH course_files AS (
            SELECT {ctx.base("attachments")} + row_number() OVER (ORDER BY c.id, n.n) - 1 AS id, c.id AS context_id,
                   'Course' AS ctype, {base} + c.k * 3 + CASE WHEN c.kind IN ('current', 'past') THEN 1 + n.n % 2 ELSE
                       0 END AS folder_id,
                   ct.teacher_id AS user_id, CAST(n.n AS INTEGER) AS n,
                   least(coalesce(c.term_start, {now}) + to_days(CAST(n.n * 7 AS INTEGER)), {now} - INTERVAL 1 HOUR)
                       AS at_ts
            FROM h.course c LEFT JOIN h.course_teacher ct ON ct.course_id = c.id, range(10) AS n(n)
            WHERE c.kind <> 'template' AND n.n < 3 + {r.h("file.n", "c.id")} % 8
        ), uploads AS (
            SELECT s.upload_id, s.user_id, 'User', f.id, s.user_id, 100 + CAST(s.id % 5 AS INTEGER), s.submitted_at
            FROM h.sub_final s JOIN h.folder f ON f.context_id = s.user_id AND f.ctype = 'User' AND f.name =
                'Submissions'
            WHERE s.upload_id IS NOT NULL
        )
        SELECT a.*, nm.pattern, nm.mime FROM (SELECT * FROM course_files UNION ALL SELECT * FROM uploads) a
        JOIN ({names}) nm ON nm.t = CASE WHEN a.n >= 100 THEN (a.n - 100) % 3 ELSE {r.h("file.type", "a.id")} %
            {len(FILE_TYPES)} END
        """,
        {
            "display_name": f"""CASE WHEN {r.chance(0.04, "file.messy", "src.id")} THEN
                syn_messy({r.h("file.m", "src.id")}) || '.pdf'
                WHEN src.id % 89 = 2 THEN syn_marker({r.h("file.mk", "src.id")})
                ELSE replace(src.pattern, '{{n}}', CAST(src.n % 100 + 1 AS VARCHAR)) END""",
            "filename": "replace(replace(src.pattern, '{n}', CAST(src.n % 100 + 1 AS VARCHAR)), ' ', '_')",
            "content_type": "src.mime",
            "context_type": "src.ctype",
            "context_id": "src.context_id",
            "folder_id": "src.folder_id",
            "user_id": "src.user_id",
            "workflow_state": "'processed'",
            "file_state": f"""CASE WHEN src.ctype = 'Course' AND {r.chance(0.04, "file.deleted", "src.id")} THEN
                'deleted'
                WHEN src.ctype = 'Course' AND {r.chance(0.05, "file.hidden", "src.id")} THEN 'hidden' ELSE 'available'
                    END""",
            "deleted_at": "NULL",
            "size": f"CAST(10000 + {r.h('file.size', 'src.id')} % 50000000 AS BIGINT)",
            "md5": f"{r.token(32, 'file.md5', 'src.id')}",
            "uuid": f"{r.token(40, 'file.uuid', 'src.id')}",
            "namespace": "'account_1'",
            "locked": "false",
            "could_be_locked": "false",
            "unlock_at": "NULL",
            "lock_at": "NULL",
            "root_attachment_id": "NULL",
            "replacement_attachment_id": "NULL",
            "usage_rights_id": (
                f"CASE WHEN src.ctype = 'Course' AND {r.chance(0.2, 'file.rights', 'src.id')} THEN "
                f"{ctx.registry.lookup('usage_rights', 'src.id')} END"
            ),
            "media_entry_id": "CASE WHEN src.mime = 'video/mp4' THEN 'm-' || "
            + r.token(20, "file.media", "src.id")
            + " END",
            "migration_id": "NULL",
            "modified_at": "src.at_ts",
            "viewed_at": (
                f"CASE WHEN {r.chance(0.6, 'file.viewed', 'src.id')} THEN least(src.at_ts + INTERVAL 2 DAY, {now}) END"
            ),
            "created_at": "src.at_ts",
            "updated_at": "src.at_ts",
        },
    )


def _build_modules(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    ctx.build(
        "context_modules",
        f"""
        SELECT {ctx.base("context_modules")} + row_number() OVER (ORDER BY c.id, n.n) - 1 AS id, c.id AS course_id,
               CAST(n.n AS INTEGER) AS n, coalesce(c.term_start, {now} - INTERVAL 60 DAY) AS t0, c.kind AS course_kind
        FROM h.course c, range(8) AS n(n)
        WHERE c.kind NOT IN ('deleted', 'sandbox') AND n.n < 3 + {r.h("mod.n", "c.id")} % 6
        """,
        {
            "name": f"""CASE WHEN {r.chance(0.03, "mod.messy", "src.id")} THEN syn_messy({r.h("mod.m", "src.id")})
                WHEN src.n = 0 THEN 'Start Here' ELSE 'Week ' || CAST(src.n AS VARCHAR) || ': ' ||
                    syn_cap_word({r.h("mod.w", "src.id")}) END""",
            "context_id": "src.course_id",
            "context_type": "'Course'",
            "position": "src.n + 1",
            "workflow_state": f"""CASE WHEN {r.chance(0.05, "mod.deleted", "src.id")} THEN 'deleted'
                WHEN src.course_kind IN ('future', 'template') OR {r.chance(0.1, "mod.unpub", "src.id")} THEN
                    'unpublished'
                ELSE 'active' END""",
            "unlock_at": (
                f"CASE WHEN {r.chance(0.2, 'mod.unlock', 'src.id')} THEN src.t0 + to_days(CAST(src.n * 14 AS INTEGER)) "
                "END"
            ),
            "require_sequential_progress": f"{r.chance(0.2, 'mod.seq', 'src.course_id')}",
            "prerequisites": (
                "CASE WHEN src.n > 0 AND src.id % 4 = 0 THEN "
                "'[{\"type\": \"context_module\", \"id\": ' || CAST(src.id - 1 AS VARCHAR) || '}]' ELSE '[]' END"
            ),
            "completion_requirements": '\'[{"type": "must_view"}, {"type": "must_submit"}]\'',
            "completion_events": "NULL",
            "requirement_count": "NULL",
            "migration_id": "NULL",
            "created_at": f"least(src.t0 - INTERVAL 10 DAY, {now} - INTERVAL 1 DAY)",
            "updated_at": f"least(src.t0 + to_days(CAST(src.n * 7 AS INTEGER)), {now} - INTERVAL 1 HOUR)",
        },
    )


def _build_outcomes(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    root = ctx.base("accounts")
    gbase = ctx.base("learning_outcome_groups")
    ctx.build(
        "learning_outcome_groups",
        f"""
        SELECT {gbase} AS id, 'Account' AS ctype, {root} AS context_id, NULL::BIGINT AS parent,
            'Synthetic State University' AS title
        UNION ALL SELECT {gbase} + 1, 'Account', {root}, {gbase}, 'General Education Outcomes'
        UNION ALL SELECT {gbase} + 2 + row_number() OVER (ORDER BY id) - 1, 'Course', id, NULL, 'ROOT'
        FROM h.course WHERE kind IN ('current', 'past') AND {r.chance(0.3, "log.course", "id")}
        """,
        {
            "title": "src.title",
            "context_type": "src.ctype",
            "context_id": "src.context_id",
            "learning_outcome_group_id": "src.parent",
            "root_learning_outcome_group_id": f"CASE WHEN src.parent IS NOT NULL THEN {gbase} END",
            "source_outcome_group_id": "NULL",
            "outcome_import_id": "NULL",
            "workflow_state": "'active'",
            "vendor_guid": "NULL",
            "migration_id": "NULL",
            "created_at": f"{now} - INTERVAL 500 DAY",
            "updated_at": f"{now} - INTERVAL 200 DAY",
        },
    )
    n_outcomes = max(6, ctx.profile.courses // 20)
    ctx.build(
        "learning_outcomes",
        f"SELECT {ctx.base('learning_outcomes')} + range AS id, range AS i FROM range({n_outcomes})",
        {
            "short_description": (
                "(['Critical thinking', 'Written communication', 'Quantitative reasoning', 'Information literacy', "
                "'Ethical reasoning', 'Teamwork'])[1 + src.i % 6] || CASE WHEN src.i >= 6 THEN ' ' || CAST(src.i AS "
                "VARCHAR) ELSE '' END"
            ),
            "display_name": "NULL",
            "description": f"'<p>' || syn_sentence({r.h('lo.desc', 'src.id')}, 10) || '</p>'",
            "context_type": "'Account'",
            "context_id": str(root),
            "context_code": f"'account_{root}'",
            "workflow_state": (
                "CASE WHEN src.i = 5 THEN 'retired' WHEN src.i = 4 AND src.id % 2 = 0 THEN 'deleted' ELSE 'active' END"
            ),
            "calculation_method": r.pick(
                ["decaying_average", "highest", "latest", "n_mastery", "average"], "lo.calc", "src.id"
            ),
            "calculation_int": "CAST(65 AS SMALLINT)",
            "data": """'{"rubric_criterion": {"mastery_points": 3, "points_possible": 5,
                        "ratings": [{"points": 5}, {"points": 3}, {"points": 0}]}}'""",
            "vendor_guid": "NULL",
            "outcome_import_id": "NULL",
            "migration_id": "NULL",
            "created_at": f"{now} - INTERVAL 480 DAY",
            "updated_at": f"{now} - INTERVAL 100 DAY",
        },
    )


def _build_module_items(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.module_item AS
        WITH mods AS (
            SELECT id AS module_id, context_id AS course_id, row_number() OVER (PARTITION BY context_id ORDER BY
                position) - 1 AS i,
                   count(*) OVER (PARTITION BY context_id) AS n
            FROM m.context_modules
        ), items AS (
            SELECT a.course_id, CASE WHEN a.kind = 'quiz' THEN 'Quizzes::Quiz' WHEN a.kind = 'discussion' THEN
                'DiscussionTopic'
                                     ELSE 'Assignment' END AS content_type,
                   CASE WHEN a.kind = 'quiz' THEN (SELECT q.id FROM m.quizzes q WHERE q.assignment_id = a.id)
                        WHEN a.kind = 'discussion' THEN (SELECT t.id FROM m.discussion_topics t WHERE t.assignment_id
                            = a.id)
                        ELSE a.id END AS content_id,
                   ma.title, NULL AS url, a.state = 'published' AS published, a.j AS seq
            FROM h.assignment a JOIN m.assignments ma ON ma.id = a.id WHERE a.state IN ('published', 'unpublished')
            UNION ALL
            SELECT p.context_id, 'WikiPage', p.id, p.title, NULL, p.workflow_state = 'active', 100 + p.id % 50
            FROM m.wiki_pages p WHERE p.workflow_state <> 'deleted'
            UNION ALL
            SELECT f.context_id, 'Attachment', f.id, f.display_name, NULL, f.file_state = 'available', 200 + f.id % 50
            FROM m.attachments f WHERE f.context_type = 'Course' AND f.file_state <> 'deleted' AND
                {r.chance(0.6, "item.file", "f.id")}
            UNION ALL
            SELECT c.id, 'ContextExternalTool', t.id, t.name, t.url, true, 300
            FROM h.course c JOIN m.context_external_tools t ON t.context_type = 'Account' AND t.workflow_state =
                'public'
            WHERE c.kind IN ('current', 'past') AND {r.chance(0.3, "item.tool", "c.id", "t.id")}
            UNION ALL
            SELECT c.id, 'ExternalUrl', NULL, 'Library guide', 'https://library.example.edu/guides/' || CAST(c.id AS
                VARCHAR), true, 400
            FROM h.course c WHERE c.kind IN ('current', 'past') AND {r.chance(0.4, "item.url", "c.id")}
            UNION ALL
            SELECT c.id, 'ContextModuleSubHeader', NULL, 'Optional materials', NULL, true, 500
            FROM h.course c WHERE c.kind IN ('current', 'past') AND {r.chance(0.3, "item.header", "c.id")}
        )
        SELECT it.*, md.module_id FROM items it
        JOIN mods md ON md.course_id = it.course_id AND md.i =
            {r.index("md.n", "item.module", "it.course_id", "it.content_type", "coalesce(it.content_id, it.seq)")}
    """)
    ctx.build(
        "content_tags",
        f"""
        WITH module_tags AS (
            SELECT course_id, content_type, content_id, title, url, published, module_id, 'context_module' AS tag_type,
                   NULL::BIGINT AS outcome_id, seq
            FROM h.module_item
        ), alignments AS (  -- outcomes aligned with some published assignments
            SELECT a.course_id, 'Assignment', a.id, ma.title, NULL, true, NULL::BIGINT, 'learning_outcome_association',
                   {ctx.registry.lookup("learning_outcomes", r.h("align.outcome", "a.id"))}, a.j
            FROM h.assignment a JOIN m.assignments ma ON ma.id = a.id
            WHERE a.state = 'published' AND a.points > 0 AND ({r.chance(0.1, "align", "a.id")}
                OR a.id = (SELECT min(id) FROM h.assignment WHERE state = 'published' AND points > 0 AND course_kind =
                    'past'))
        )
        SELECT {ctx.base("content_tags")} + row_number() OVER (ORDER BY course_id, tag_type, module_id, seq,
            content_type, content_id) - 1 AS id, *
        FROM (SELECT * FROM module_tags UNION ALL SELECT * FROM alignments)
        """,
        {
            "context_type": "'Course'",
            "context_id": "src.course_id",
            "content_type": "src.content_type",
            "content_id": "src.content_id",
            "tag_type": "src.tag_type",
            "context_module_id": "src.module_id",
            "learning_outcome_id": "src.outcome_id",
            "title": f"CASE WHEN src.id % 73 = 11 THEN syn_marker({r.h('tag.mk', 'src.id')}) ELSE src.title END",
            "url": "src.url",
            "workflow_state": f"""CASE WHEN {r.chance(0.03, "tag.deleted", "src.id")} THEN 'deleted'
                WHEN src.published THEN 'active' ELSE 'unpublished' END""",
            "position": "CAST(src.seq % 1000 AS INTEGER) + 1",
            "new_tab": "CASE WHEN src.content_type IN ('ExternalUrl', 'ContextExternalTool') THEN true END",
            "link_settings": (
                "CASE WHEN src.content_type = 'ContextExternalTool' THEN "
                '\'{"selection_width": 800, "selection_height": 400}\' END'
            ),
            "mastery_score": "CASE WHEN src.tag_type = 'learning_outcome_association' THEN 3.0 END",
            "rubric_association_id": "NULL",
            "associated_asset_id": "NULL",
            "associated_asset_type": "NULL",
            "comments": "NULL",
            "migration_id": "NULL",
            "created_at": f"{now} - INTERVAL 70 DAY",
            "updated_at": f"{now} - to_days(CAST(1 + {r.h('tag.upd', 'src.id')} % 60 AS INTEGER))",
        },
    )


def _build_progressions(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    ctx.build(
        "context_module_progressions",
        f"""
        SELECT {ctx.base("context_module_progressions")} + row_number() OVER (ORDER BY m.id, sc.user_id) - 1 AS id,
               m.id AS module_id, sc.user_id, m.position, sc.diligence, sc.fade_at,
               coalesce(c.term_start, {now} - INTERVAL 60 DAY) AS t0,
               (SELECT count(*) FROM m.context_modules x WHERE x.context_id = m.context_id) AS n_modules,
               m.require_sequential_progress AS seq
        FROM m.context_modules m JOIN h.course c ON c.id = m.context_id
        JOIN h.student_course sc ON sc.course_id = m.context_id
        WHERE m.workflow_state = 'active' AND sc.state IN ('active', 'completed', 'inactive') AND c.kind IN
            ('current', 'past')
        """,
        {
            "context_module_id": "src.module_id",
            "user_id": "src.user_id",
            "workflow_state": """CASE
                WHEN src.position <= 1 + floor(src.diligence * src.n_modules * 1.2) AND src.fade_at IS NULL THEN
                    'completed'
                WHEN src.position <= 2 + floor(src.diligence * src.n_modules) THEN 'started'
                WHEN src.seq THEN 'locked' ELSE 'unlocked' END""",
            "requirements_met": (
                "CASE WHEN src.position <= 1 + floor(src.diligence * src.n_modules * 1.2) THEN "
                "'[{\"type\": \"must_view\"}]' ELSE '[]' END"
            ),
            "incomplete_requirements": "'[]'",
            "completed_at": f"""CASE WHEN src.position <= 1 + floor(src.diligence * src.n_modules * 1.2) AND
                src.fade_at IS NULL
                THEN least(src.t0 + to_days(CAST(src.position * 10 AS INTEGER)), {now} - INTERVAL 1 HOUR) END""",
            "evaluated_at": f"least(src.t0 + to_days(CAST(src.position * 10 AS INTEGER)), {now} - INTERVAL 1 HOUR)",
            "current_position": "CAST(src.position AS INTEGER)",
            "collapsed": f"{r.chance(0.3, 'cmp.collapsed', 'src.id')}",
            "current": "true",
            "lock_version": "CAST(1 + src.position AS INTEGER)",
            "created_at": f"least(src.t0 + to_days(CAST(src.position * 7 AS INTEGER)), {now} - INTERVAL 2 HOUR)",
            "updated_at": f"least(src.t0 + to_days(CAST(src.position * 10 AS INTEGER)), {now} - INTERVAL 1 HOUR)",
        },
    )


def _build_outcome_results(ctx: GenContext) -> None:
    r = ctx.rand
    ctx.build(
        "learning_outcome_results",
        f"""
        SELECT {ctx.base("learning_outcome_results")} + row_number() OVER (ORDER BY t.id, s.user_id) - 1 AS id,
               t.id AS tag_id, t.learning_outcome_id, t.content_id AS assignment_id, t.context_id AS course_id,
               s.id AS submission_id, s.user_id, s.score, a.points_possible, s.graded_at, s.submitted_at, s.attempt
        FROM m.content_tags t JOIN m.submissions s ON s.assignment_id = t.content_id
        JOIN m.assignments a ON a.id = t.content_id
        WHERE t.tag_type = 'learning_outcome_association' AND s.score IS NOT NULL AND s.graded_at IS NOT NULL
        """,
        {
            "user_id": "src.user_id",
            "context_type": "'Course'",
            "context_id": "src.course_id",
            "learning_outcome_id": "src.learning_outcome_id",
            "associated_asset_type": "'Assignment'",
            "associated_asset_id": "src.assignment_id",
            "association_type": "'Assignment'",
            "association_id": "src.assignment_id",
            "artifact_type": "'Submission'",
            "artifact_id": "src.submission_id",
            "content_tag_id": "src.tag_id",
            "score": "round(5 * src.score / src.points_possible, 1)",
            "possible": "5.0",
            "percent": "round(src.score / src.points_possible, 2)",
            "mastery": "src.score / src.points_possible >= 0.6",
            "original_score": "round(5 * src.score / src.points_possible, 1)",
            "original_possible": "5.0",
            "original_mastery": "src.score / src.points_possible >= 0.6",
            "attempt": "src.attempt",
            "assessed_at": "src.graded_at",
            "submitted_at": "src.submitted_at",
            "workflow_state": "'active'",
            "hidden": "false",
            "hide_points": "false",
            "user_uuid": f"{r.token(40, 'user.uuid', 'src.user_id')}",
            "title": "NULL",
            "created_at": "src.graded_at",
            "updated_at": "src.graded_at",
        },
    )
