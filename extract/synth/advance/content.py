"""Module progress moves on; a few module items and submission comments are hard-deleted."""

from __future__ import annotations

from extract.synth.advance.refs import referenced_ids_sql
from extract.synth.advance.step import Step

REMOVABLE_ITEMS = "('ExternalUrl', 'ContextModuleSubHeader', 'Attachment', 'WikiPage')"


def produce(step: Step) -> None:
    _progressions(step)
    _remove(step, "content_tags", f"tag_type = 'context_module' AND content_type IN {REMOVABLE_ITEMS}", 0.001)
    _remove(step, "submission_comments", "true", 0.0005)


def _progressions(step: Step) -> None:
    step.changes.upsert(
        "context_module_progressions",
        f"""
        SELECT p.id, {step.event("cmp.at", "p.id")} AS event_at,
               CASE p.workflow_state WHEN 'started' THEN 'completed' ELSE 'started' END AS new_state
        FROM cur.context_module_progressions p
        JOIN cur.context_modules m ON m.id = p.context_module_id
        JOIN adv.student s ON s.user_id = p.user_id AND s.course_id = m.context_id
        WHERE p.workflow_state IN ('started', 'unlocked') AND (s.fade_at IS NULL OR s.fade_at > {step.hi_sql})
          AND {step.chance("0.004 * (0.3 + s.diligence)", "cmp.move", "p.id")}
        """,
        {
            "workflow_state": "src.new_state",
            "completed_at": "CASE WHEN src.new_state = 'completed' THEN src.event_at ELSE src.completed_at END",
            "requirements_met": """CASE WHEN src.new_state = 'completed' THEN '[{"type": "must_view"}]'
                ELSE src.requirements_met END""",
            "evaluated_at": "src.event_at",
            "lock_version": "src.lock_version + 1",
            "updated_at": "src.event_at",
        },
    )


def _remove(step: Step, table: str, where: str, per_hour: float) -> None:
    """Hard-delete a few rows nothing points at."""
    candidates = f"""
        SELECT id FROM cur.{table} WHERE {where}
          AND id NOT IN ({referenced_ids_sql(table)})
          AND id NOT IN (SELECT id FROM ({step.changes.staged_keys(table)}))
    """
    n = step.quota(per_hour, int(step.scalar(f"SELECT count(*) FROM ({candidates})") or 0), minimum=1)
    step.changes.delete(
        table,
        f"""SELECT id, {step.event(f"{table}.delete_at", "id")} AS event_at FROM ({candidates})
            ORDER BY {step.rand.h(f"{table}.delete", "id")}, id LIMIT {n}""",
    )
