"""Row identifiers: per-table id ranges and the registry used to pick foreign keys.

Each canvas table gets its own id range (``id_base``), so a join on the wrong table never
matches by accident. The registry keeps, per table, a dense index ``k -> id`` in DuckDB
(``ids.<table>``) so a foreign key can be drawn as "the k-th existing row" with one
equi-join; it is filled from the model tables while building the base state, and from the
current truth while advancing.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from extract.schema import bundled_schemas

# Users of other institutions show up in web_logs with global ids (shard * 10^13 + local id).
OTHER_INSTITUTION_SHARD = 7


# Tables of these namespaces go by their own name in the generator; catalog (and any other
# namespace) has tables named like canvas's (accounts, users …), so theirs are prefixed.
PLAIN_NAMESPACES = ("canvas", "canvas_logs")


def model_name(qname: str) -> str:
    """The generator's name of a table (``m.<name>``, ``ids.<name>``, ``cur.<name>``):
    ``submissions`` for ``canvas.submissions``, ``catalog__users`` for ``catalog.users``."""
    namespace, table = qname.split(".", 1)
    return table if namespace in PLAIN_NAMESPACES else f"{namespace}__{table}"


def qualified_name(name: str) -> str:
    """The inverse of ``model_name``."""
    if "__" in name:
        namespace, table = name.split("__", 1)
        return f"{namespace}.{table}"
    return f"canvas_logs.{name}" if name == "web_logs" else f"canvas.{name}"


def referenced_model(reference: str) -> str:
    """The generator's name of the table a foreign key (``namespace.table.column``) points to."""
    namespace, table, _ = reference.split(".", 2)
    return model_name(f"{namespace}.{table}")


def _ranged_tables() -> list[str]:
    """Tables with an id range: canvas's in name order (their ranges never move), then the other
    namespaces' (canvas_logs.web_logs has uuid ids)."""
    return [model_name(q) for q, s in bundled_schemas().items() if s.namespace != "canvas_logs"]


def id_base(table: str) -> int:
    """First id of ``table``'s range (a generator name): 10 million apart."""
    return (_ranged_tables().index(table) + 1) * 10_000_000


# the polymorphic ``*_type`` values and the table each one points to
TYPE_TABLES: dict[str, str] = {
    "Account": "accounts",
    "AppointmentGroup": "appointment_groups",
    "AssessmentQuestion": "assessment_questions",
    "AssessmentQuestionBank": "assessment_question_banks",
    "Assignment": "assignments",
    "AssignmentGroup": "assignment_groups",
    "Attachment": "attachments",
    "CalendarEvent": "calendar_events",
    "ContentExport": "content_exports",
    "ContentMigration": "content_migrations",
    "ContentTag": "content_tags",
    "ContextExternalTool": "context_external_tools",
    "ContextModule": "context_modules",
    "ConversationMessage": "conversation_messages",
    "Course": "courses",
    "CourseSection": "course_sections",
    "DiscussionTopic": "discussion_topics",
    "Eportfolio": "eportfolios",
    "EpubExport": "epub_exports",
    "Folder": "folders",
    "GradebookUpload": "gradebook_uploads",
    "Group": "groups",
    "GroupAndMembershipImporter": "group_and_membership_importers",
    "LearningOutcome": "learning_outcomes",
    "LearningOutcomeGroup": "learning_outcome_groups",
    "LiveAssessments::Assessment": "live_assessments_assessments",
    "LiveAssessments::Submission": "live_assessments_submissions",
    "Lti::MessageHandler": "lti_message_handlers",
    "ModeratedGrading::ProvisionalGrade": "moderated_grading_provisional_grades",
    "OutcomeImport": "outcome_imports",
    "Purgatory": "purgatories",
    "Quizzes::Quiz": "quizzes",
    "Quizzes::QuizStatistics": "quiz_statistics",
    "Quizzes::QuizSubmission": "quiz_submissions",
    "Rubric": "rubrics",
    "RubricAssessment": "rubric_assessments",
    "RubricAssociation": "rubric_associations",
    "SisBatch": "sis_batches",
    "Submission": "submissions",
    "User": "users",
    "Wiki": "wikis",
    "WikiPage": "wiki_pages",
}


class IdRegistry:
    """Dense ``k -> id`` indexes of existing rows, one DuckDB table per canvas table.

    ``source`` maps a table name to the SQL relation holding its rows (a model table while
    building the base, a truth view while advancing); indexes are built on first use.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Callable[[str], str]) -> None:
        self.con = con
        self._source = source
        self._counts: dict[str, int] = {}
        con.execute("CREATE SCHEMA IF NOT EXISTS ids")

    def register(self, table: str, relation: str | None = None, where: str = "true") -> int:
        """(Re)build the index of ``table`` from ``relation`` (default: its source)."""
        relation = relation or self._source(table)
        self.con.execute(
            f"CREATE OR REPLACE TABLE ids.{table} AS "
            f"SELECT CAST(row_number() OVER (ORDER BY id) - 1 AS BIGINT) AS k, id FROM {relation} WHERE {where}"
        )
        rows = self.con.execute(f"SELECT count(*) FROM ids.{table}").fetchall()
        self._counts[table] = int(rows[0][0])
        return self._counts[table]

    def register_range(self, table: str, count: int) -> None:
        """Index a table whose ids will be ``id_base + 0 .. count-1`` (before it is built)."""
        base = id_base(table)
        self.con.execute(
            f"CREATE OR REPLACE TABLE ids.{table} AS SELECT range AS k, {base} + range AS id FROM range({count})"
        )
        self._counts[table] = count

    def count(self, table: str) -> int:
        if table not in self._counts:
            self.register(table)
        return self._counts[table]

    def lookup(self, table: str, index_sql: str) -> str:
        """SQL for the id of the row at ``index_sql mod count`` (NULL when the table is empty)."""
        n = self.count(table)
        if n == 0:
            return "CAST(NULL AS BIGINT)"
        return f"(SELECT _ix.id FROM ids.{table} AS _ix WHERE _ix.k = CAST(({index_sql}) % {n} AS BIGINT))"
