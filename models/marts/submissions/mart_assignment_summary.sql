{#- Per assignment (M5): completion, grading workload and scores; small cells hidden. -#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

assignments as (

    select * from {{ ref('stg_canvas__assignments') }}

),

assignment_rules as (

    select * from {{ ref('int_submissions__assignment_rules') }}

),

submissions as (

    select * from {{ ref('fct_submission') }}

),

submission_comments as (

    select * from {{ ref('stg_canvas__submission_comments') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

visible_comments as (

    -- what the student can see: no drafts, no hidden (unposted) comments, no moderation drafts
    select
        submission_id,
        count(*) as n_comments
    from submission_comments
    where
        draft is not true
        and hidden is not true
        and provisional_grade_id is null
    group by 1

),

graded_as_group as (

    select
        assignment_id,
        group_category_id is not null
        and grade_group_students_individually is not true as is_graded_as_group
    from assignments

),

waiting as (

    select
        submissions.*,
        visible_comments.n_comments,
        -- Canvas's needs-grading count: students with an active enrollment (soft-concluded too)
        submissions.needs_grading
        and {{ cd2_status_in('submissions.student_enrollment_status', 'needs_grading') }}
            as is_waiting,
        -- T19: a group graded as one is one piece of grading work
        case
            when graded_as_group.is_graded_as_group and submissions.is_group_submission
                then 'group ' || cast(submissions.group_id as {{ dbt.type_string() }})
            else 'submission ' || cast(submissions.submission_id as {{ dbt.type_string() }})
        end as grading_unit,
        {{ cd2_microseconds_between('submissions.submitted_at', 'submissions.graded_at') }}
        / 3600000000.0 as hours_to_grade
    from submissions
    left join graded_as_group on submissions.assignment_id = graded_as_group.assignment_id
    left join visible_comments on submissions.submission_id = visible_comments.submission_id

),

per_assignment as (

    select
        assignment_id,
        count(distinct user_key) as n_students,
        count(*) as n_assigned,
        count(*) filter (where is_submitted) as n_submitted,
        count(*) filter (where is_graded) as n_graded,
        count(*) filter (where timeliness_status = 'missing') as n_missing,
        count(*) filter (where timeliness_status = 'late') as n_late,
        count(*) filter (where is_waiting) as needs_grading_count,
        count(distinct grading_unit) filter (where is_waiting) as needs_grading_group_count,
        {{ cd2_percentile_cont('score', 0.25) }} as score_p25,
        {{ cd2_percentile_cont('score', 0.5) }} as score_median,
        {{ cd2_percentile_cont('score', 0.75) }} as score_p75,
        {{ cd2_percentile_cont('hours_to_grade', 0.5) }} filter (
            where graded_at >= submitted_at
        ) as median_hours_to_grade,
        cast(coalesce(sum(n_comments), 0) as bigint) as n_comments
    from waiting
    group by 1

),

summarized as (

    select
        assignment_rules.assignment_id,
        assignment_rules.course_id,
        assignment_rules.is_published,
        assignment_rules.counts_for_timeliness,
        assignments.due_at,
        assignments.points_possible,
        per_assignment.n_students,
        per_assignment.n_assigned,
        per_assignment.n_submitted,
        per_assignment.n_graded,
        per_assignment.n_missing,
        per_assignment.n_late,
        per_assignment.needs_grading_count,
        per_assignment.needs_grading_group_count,
        per_assignment.score_p25,
        per_assignment.score_median,
        per_assignment.score_p75,
        per_assignment.median_hours_to_grade,
        per_assignment.n_comments,
        as_of.as_of_ts as data_as_of
    from assignment_rules
    inner join assignments on assignment_rules.assignment_id = assignments.assignment_id
    left join per_assignment on assignment_rules.assignment_id = per_assignment.assignment_id
    cross join as_of
    where assignments.workflow_state is distinct from 'deleted'

),

final as (

    select
        assignment_id,
        course_id,
        is_published,
        counts_for_timeliness,
        due_at,
        points_possible,
        {{ cd2_suppress('n_students', 'n_students') }} as n_students,
        {{ cd2_suppress('n_students', 'n_assigned') }} as n_assigned,
        {{ cd2_suppress('n_students', 'n_submitted') }} as n_submitted,
        {{ cd2_suppress('n_students', 'n_graded') }} as n_graded,
        {{ cd2_suppress('n_students', 'n_missing') }} as n_missing,
        {{ cd2_suppress('n_students', 'n_late') }} as n_late,
        {{ cd2_suppress('n_students', 'needs_grading_count') }} as needs_grading_count,
        {{ cd2_suppress('n_students', 'needs_grading_group_count') }} as needs_grading_group_count,
        {{ cd2_suppress('n_students', 'score_p25') }} as score_p25,
        {{ cd2_suppress('n_students', 'score_median') }} as score_median,
        {{ cd2_suppress('n_students', 'score_p75') }} as score_p75,
        {{ cd2_suppress('n_students', 'median_hours_to_grade') }} as median_hours_to_grade,
        {{ cd2_suppress('n_students', 'n_comments') }} as n_comments,
        {{ cd2_is_suppressed('n_students') }} as is_suppressed,
        data_as_of
    from summarized

)

select * from final
