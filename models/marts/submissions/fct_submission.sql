{#-
    One row per live submission of a student (M3): Canvas's missing/late rules (T9), from
    int_submissions__evaluated, which rounds build incrementally (cd2 mode) and which this view
    stamps with the round's as_of. A table where models are rebuilt whole.
-#}
{{ config(meta={'cd2_now': 'stamp'}, materialized='view' if cd2_merges_batches() else 'table') }}

with

evaluated as (

    select * from {{ ref('int_submissions__evaluated') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        evaluated.submission_id,
        evaluated.assignment_id,
        evaluated.course_id,
        evaluated.user_key,
        evaluated.grader_key,
        evaluated.student_enrollment_status,
        evaluated.workflow_state,
        evaluated.submission_type,
        evaluated.submitted_at,
        evaluated.due_at_effective,
        evaluated.graded_at,
        evaluated.posted_at,
        evaluated.is_posted,
        evaluated.score,
        evaluated.points_possible,
        evaluated.score_pct,
        evaluated.excused,
        evaluated.late_policy_status,
        evaluated.seconds_late,
        evaluated.hours_before_due,
        evaluated.is_submitted,
        evaluated.is_past_due,
        evaluated.is_graded,
        evaluated.needs_grading,
        evaluated.is_missing,
        evaluated.is_late,
        evaluated.is_on_time,
        evaluated.is_excused,
        evaluated.timeliness_status,
        evaluated.counts_for_timeliness,
        evaluated.group_id,
        evaluated.is_group_submission,
        evaluated.attempt,
        evaluated.custom_grade_status_id,
        evaluated.has_custom_grade_status,
        as_of.as_of_ts as data_as_of
    from evaluated
    cross join as_of

)

select * from final
