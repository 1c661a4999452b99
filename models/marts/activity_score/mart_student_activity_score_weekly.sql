{#-
    M16: the Student Activity Score per student, course and week of term (Indiana University's
    Canvas Activity Score as Unizin ships it), compared within the course and week. Definitions
    and departures from the published score: _activity_score__docs.md.
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

inputs as (

    select * from {{ ref('int_activity_score__weekly_inputs') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

{{ cd2_activity_score_ctes('inputs', ['course_id', 'week_in_term']) }},

final as (

    select
        activity_scores.user_key,
        activity_scores.course_id,
        activity_scores.term_id,
        activity_scores.week_in_term,
        activity_scores.week_start_local_date,
        activity_scores.n_assignments_due,
        activity_scores.n_submitted,
        activity_scores.submission_ratio,
        activity_scores.active_minutes,
        activity_scores.n_sessions,
        activity_scores.submission_ratio_z,
        activity_scores.active_minutes_z,
        activity_scores.n_sessions_z,
        activity_scores.student_activity_score,
        activity_scores.student_activity_score_z,
        activity_scores.student_activity_score_octile,
        activity_scores.n_assignments_due_cumulative,
        activity_scores.n_submitted_cumulative,
        activity_scores.submission_ratio_cumulative,
        activity_scores.active_minutes_cumulative,
        activity_scores.n_sessions_cumulative,
        activity_scores.student_activity_score_cumulative,
        activity_scores.student_activity_score_cumulative_z,
        activity_scores.student_activity_score_octile_cumulative,
        activity_scores.n_cohort_students as n_course_students,
        activity_scores.n_cohort_students >= 10 as course_has_10_or_more_students,
        as_of.as_of_ts as data_as_of
    from activity_scores
    cross join as_of

)

select * from final
