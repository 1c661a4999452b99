"""Every table without a dedicated domain builder: schema-driven rows plus a few overrides.

These tables get ``profile.generic_rows`` rows each (id-only tables fewer), with ids
``id_base + 0 .. n-1`` registered *before* any table is built, so domain tables can point
at them (``sis_batch_id``, ``media_object_id`` …) and they can point at each other. The
column defaults of :class:`extract.synth.rows.RowBuilder` make them schema-valid (enums,
resolving foreign keys, consistent polymorphic pairs, messy text, nulls); ``OVERRIDES``
adds the relationships and value shapes that make them look like Canvas.
"""

from __future__ import annotations

from extract.schema import ENUM_UNKNOWN, bundled_schemas
from extract.synth.context import GenContext
from extract.synth.ids import PLAIN_NAMESPACES, model_name

# tables built by the domain modules (everything else in canvas.* is generic)
DOMAIN_TABLES = frozenset(
    [
        "accounts",
        "enrollment_terms",
        "grading_period_groups",
        "grading_periods",
        "roles",
        "courses",
        "course_sections",
        "course_account_associations",
        "late_policies",
        "master_courses_master_templates",
        "master_courses_child_subscriptions",
        "users",
        "pseudonyms",
        "communication_channels",
        "enrollments",
        "enrollment_states",
        "account_users",
        "user_account_associations",
        "group_categories",
        "groups",
        "group_memberships",
        "assignment_groups",
        "assignments",
        "quizzes",
        "assignment_overrides",
        "assignment_override_students",
        "post_policies",
        "submissions",
        "scores",
        "submission_comments",
        "quiz_submissions",
        "discussion_topics",
        "discussion_entries",
        "discussion_topic_participants",
        "discussion_entry_participants",
        "wikis",
        "wiki_pages",
        "folders",
        "attachments",
        "context_modules",
        "content_tags",
        "context_module_progressions",
        "context_external_tools",
        "learning_outcomes",
        "learning_outcome_groups",
        "learning_outcome_results",
    ]
)

_QUESTION_TYPES = [
    "multiple_choice_question", "true_false_question", "short_answer_question", "essay_question",
    "numerical_question", "matching_question", "multiple_answers_question",
]  # fmt: skip
_PERMISSIONS = ["manage_grades", "read_roster", "view_analytics", "manage_content", "send_messages", "read_sis"]


def generic_tables() -> list[str]:
    """Generator names of the tables built here: canvas's without a domain builder, then every
    table of the namespaces other than canvas and canvas_logs (catalog …)."""
    return [
        model_name(q)
        for q, s in bundled_schemas().items()
        if s.namespace not in PLAIN_NAMESPACES or (s.namespace == "canvas" and s.name not in DOMAIN_TABLES)
    ]


def row_count(ctx: GenContext, table: str) -> int:
    schema = ctx.schema(table)
    n = ctx.profile.generic_rows
    return max(3, n // 2) if len(schema.columns) == 1 else n


def plan(ctx: GenContext) -> None:
    """Register the id ranges of all generic tables (run before any table is built)."""
    for table in generic_tables():
        ctx.registry.register_range(table, row_count(ctx, table))


def _overrides(ctx: GenContext) -> dict[str, dict[str, str]]:
    r, start = ctx.rand, ctx.now
    lookup = ctx.registry.lookup
    k = "src.id"
    return {
        "score_statistics": {
            "assignment_id": lookup("assignments", "src.i"),
            "minimum": f"round({r.u('ss.min', k)} * 40, 1)",
            "maximum": f"round(60 + {r.u('ss.max', k)} * 40, 1)",
            "mean": f"round(40 + {r.u('ss.mean', k)} * 30, 2)",
            "count": f"CAST(5 + {r.h('ss.count', k)} % 60 AS INTEGER)",
        },
        "quiz_questions": {
            "quiz_id": lookup("quizzes", "src.i"),
            "quiz_group_id": "NULL",
            "workflow_state": "'active'",
            "question_data": f"""struct_pack(
                neutral_comments := NULL::VARCHAR, answers := '[{{"id": 1, "text": "A", "weight": 100}}]',
                name := 'Question ' || CAST(src.i + 1 AS VARCHAR),
                question_type := {r.pick(_QUESTION_TYPES, "qq.type", k)},
                question_text := '<p>' || syn_sentence({r.h("qq.text", k)}, 8) || '</p>',
                regrade_option := NULL::VARCHAR, correct_comments := NULL::VARCHAR, incorrect_comments := NULL::VARCHAR,
                text_after_answers := NULL::VARCHAR, matching_answer_incorrect_matches := NULL::VARCHAR,
                points_possible := CAST(1 + {r.h("qq.pts", k)} % 5 AS DOUBLE))""",
        },
        "quiz_groups": {"quiz_id": lookup("quizzes", "src.i"), "pick_count": "2", "question_points": "1.0"},
        "grading_standards": {
            "title": "(['Letter grades', 'Pass/Fail scheme', 'Department scale'])[1 + src.i % 3]",
            "data": """'[["A", 0.94], ["A-", 0.9], ["B+", 0.87], ["B", 0.84], ["B-", 0.8], ["C+", 0.77], ["C", 0.74],
                       ["D", 0.64], ["F", 0.0]]'""",
            "workflow_state": "CASE WHEN src.i = 2 THEN 'deleted' ELSE 'active' END",
        },
        "outcome_proficiency_ratings": {
            "description": (
                "(['Exceeds Mastery', 'Mastery', 'Near Mastery', 'Below Mastery', 'No Evidence'])[1 + src.i % 5]"
            ),
            "points": "CAST(4 - src.i % 5 AS DOUBLE)",
            "mastery": "src.i % 5 = 1",
            "color": "(['0B874B', '0374B5', 'FAB901', 'E0061F', '6B7780'])[1 + src.i % 5]",
        },
        "role_overrides": {
            "permission": r.pick(_PERMISSIONS, "ro.perm", k),
            "context_type": "'Account'",
            "context_id": str(ctx.base("accounts")),
        },
        "calendar_events": {
            "start_at": r.ts_between(f"{start} - INTERVAL 40 DAY", f"{start} + INTERVAL 40 DAY", "ce.start", k),
            "end_at": r.ts_between(f"{start} - INTERVAL 40 DAY", f"{start} + INTERVAL 40 DAY", "ce.start", k)
            + " + INTERVAL 1 HOUR",
            "title": "(['Office Hours', 'Review Session', 'Field Trip', 'Guest Lecture'])[1 + src.i % 4]",
            "parent_calendar_event_id": "NULL",
            "web_conference_id": "NULL",
        },
        "web_conferences": {
            # a value DAP does not know yet: enums grow, __dap_unspecified__ stands for the new ones
            "conference_type": f"""CASE WHEN src.i = 0 THEN '{ENUM_UNKNOWN}'
                ELSE {r.pick(["BigBlueButton", "BigBlueButton", "CiscoWebex", "AdobeConnect", "Wiziq"], "wc.type", k)}
                    END""",
            "duration": "60.0",
            "title": "'Live session ' || CAST(src.i + 1 AS VARCHAR)",
        },
        "lti_resource_links": {
            "context_external_tool_id": lookup("context_external_tools", "src.i"),
            "custom": "'{}'",
        },
        "lti_line_items": {
            "assignment_id": lookup("assignments", "src.i"),
            "score_maximum": "100.0",
            "label": "'Line item ' || CAST(src.i AS VARCHAR)",
            "extensions": "'{}'",
            "client_id": f"{ctx.base('developer_keys')}",
        },
        "lti_results": {
            "result_maximum": "100.0",
            "result_score": f"round({r.u('lr.score', k)} * 100, 1)",
            "activity_progress": "'Completed'",
            "grading_progress": "'FullyGraded'",
            "extensions": "'{}'",
        },
        "enrollment_dates_overrides": {"context_type": "'Account'", "context_id": str(ctx.base("accounts"))},
        "asset_user_accesses": {
            "context_type": "'Course'",
            "context_id": lookup("courses", "src.i"),
            "asset_code": f"'assignment_' || CAST({lookup('assignments', 'src.i')} AS VARCHAR)",
            "asset_category": f"CASE WHEN src.i = 1 THEN '{ENUM_UNKNOWN}' ELSE 'assignments' END",
            "membership_type": "'StudentEnrollment'",
            "action_level": r.pick(["view", "view", "participate"], "aua.level", k),
        },
        "collaborations": {
            "workflow_state": "CASE WHEN src.i % 7 = 6 THEN 'deleted' ELSE 'active' END",
            "type": "'ExternalToolCollaboration'",
            "collaboration_type": "'Microsoft Office 365'",
        },
        "developer_keys": {
            "name": "(['Textbook Tool', 'Plagiarism Checker', 'Video Platform', 'Analytics Sync'])[1 + src.i % 4]",
            "is_lti_key": "src.i % 2 = 0",
        },
        "master_courses_master_migrations": {
            "master_template_id": lookup("master_courses_master_templates", "src.i"),
            "workflow_state": "CASE WHEN src.i % 5 = 4 THEN 'imports_failed' ELSE 'completed' END",
        },
        "master_courses_migration_results": {
            "child_subscription_id": lookup("master_courses_child_subscriptions", "src.i"),
            "state": "CASE WHEN src.i % 6 = 5 THEN 'failed' ELSE 'completed' END",
        },
        # Canvas Catalog: listings of the institution's courses, and the people who enrol in them
        "catalog__products": {
            "canvas_course_id": lookup("courses", "src.i"),
            "type": "CASE WHEN src.i % 5 = 4 THEN 'Program' ELSE 'Course' END",
            "visibility": "(['listed', 'listed', 'unlisted'])[1 + src.i % 3]",
            "workflow_state": "CASE WHEN src.i % 9 = 8 THEN 'archived' ELSE 'active' END",
            "enrollment_fee": f"round({r.u('cp.fee', k)} * 400, 2)",
            "path": "'course-' || CAST(src.i + 1 AS VARCHAR)",
        },
        "catalog__enrollments": {
            "status": "(['active', 'active', 'completed', 'dropped'])[1 + src.i % 4]",
            "external_id": lookup("enrollments", "src.i"),
        },
        "catalog__users": {
            "user_name": "'catalog.user' || CAST(src.i + 1 AS VARCHAR)",
            "email_address": "'catalog.user' || CAST(src.i + 1 AS VARCHAR) || '@example.edu'",
            "custom_fields": "'{}'",
        },
        "catalog__themes": {"themeable_type": "'Account'", "themeable_id": lookup("catalog__accounts", "src.i")},
    }


def build(ctx: GenContext) -> None:
    overrides = _overrides(ctx)
    for table in generic_tables():
        source = f"SELECT {ctx.base(table)} + range AS id, range AS i FROM range({row_count(ctx, table)})"
        ctx.build(table, source, overrides.get(table, {}), pick_nullable_fks=True)
