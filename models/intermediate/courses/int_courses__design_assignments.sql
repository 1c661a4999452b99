{#-
    M12 assignment signal: per course with published assignments (T17), how many there are by
    submission group (quiz, discussion, external tool, online, on paper, not graded, no
    submission, other), with a due date, New Quizzes, and their points possible.
-#}
with

assignments as (

    select * from {{ ref('stg_canvas__assignments') }}

),

assignment_rules as (

    select * from {{ ref('int_submissions__assignment_rules') }}

),

published_assignments as (

    select
        assignments.context_id as course_id,
        assignments.assignment_id,
        assignments.due_at,
        assignments.points_possible,
        assignment_rules.is_new_quiz and not assignment_rules.is_quiz as is_new_quiz_only,
        case
            when assignment_rules.is_quiz or assignment_rules.is_new_quiz then 'quiz'
            when {{ cd2_array_contains('assignments.submission_types', "'discussion_topic'") }}
                then 'discussion'
            when {{ cd2_array_contains('assignments.submission_types', "'external_tool'") }}
                then 'external_tool'
            when {{ cd2_array_overlaps(
                'assignments.submission_types',
                [
                    "'online_upload'",
                    "'online_text_entry'",
                    "'online_url'",
                    "'media_recording'",
                    "'student_annotation'",
                ]
            ) }} then 'online'
            when {{ cd2_array_contains('assignments.submission_types', "'on_paper'") }}
                then 'on_paper'
            when {{ cd2_array_contains('assignments.submission_types', "'not_graded'") }}
                then 'not_graded'
            when
                coalesce({{ cd2_array_count_where(
                    'assignments.submission_types', 'submission_type', 'submission_type is not null'
                ) }}, 0) = 0
                or {{ cd2_array_contains('assignments.submission_types', "'none'") }}
                then 'no_submission'
            else 'other'
        end as submission_group
    from assignments
    inner join assignment_rules on assignments.assignment_id = assignment_rules.assignment_id
    where assignment_rules.is_published

),

assignment_stats as (

    select
        course_id,
        count(*) as n_assignments,
        count(*) filter (where submission_group = 'online') as n_assignments_online,
        count(*) filter (where submission_group = 'quiz') as n_assignments_quiz,
        count(*) filter (where submission_group = 'discussion') as n_assignments_discussion,
        count(*) filter (where submission_group = 'external_tool') as n_assignments_external_tool,
        count(*) filter (where submission_group = 'on_paper') as n_assignments_on_paper,
        count(*) filter (where submission_group = 'no_submission') as n_assignments_no_submission,
        count(*) filter (where submission_group = 'not_graded') as n_assignments_not_graded,
        count(*) filter (where submission_group = 'other') as n_assignments_other,
        count(due_at) as n_assignments_with_due_date,
        count(*) filter (where is_new_quiz_only) as n_new_quizzes,
        sum(points_possible) as total_points_possible,
        avg(points_possible) as avg_points_possible,
        {{ cd2_percentile_cont('points_possible', 0.5) }} as median_points_possible,
        max(points_possible) as max_points_possible
    from published_assignments
    group by 1

),

final as (

    select
        course_id,
        n_assignments,
        n_assignments_online,
        n_assignments_quiz,
        n_assignments_discussion,
        n_assignments_external_tool,
        n_assignments_on_paper,
        n_assignments_no_submission,
        n_assignments_not_graded,
        n_assignments_other,
        n_assignments_with_due_date,
        {{ cd2_ratio('n_assignments_with_due_date', 'n_assignments') }}
            as pct_assignments_with_due_date,
        n_new_quizzes,
        total_points_possible,
        avg_points_possible,
        median_points_possible,
        max_points_possible
    from assignment_stats

)

select * from final
