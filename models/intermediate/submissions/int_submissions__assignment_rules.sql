{#- Per assignment: the flags the submission rules need (T9 digital work, Unizin timeliness). -#}
with

assignments as (

    select * from {{ ref('stg_canvas__assignments') }}

),

submissions as (

    select * from {{ ref('stg_canvas__submissions') }}

),

quiz_lti as (

    -- Canvas caches "this assignment is a New Quizzes LTI" on each of its submissions.
    select
        assignment_id,
        bool_or(coalesce(cached_quiz_lti, false)) as has_quiz_lti
    from submissions
    group by 1

),

typed as (

    select
        assignments.assignment_id,
        assignments.context_id as course_id,
        assignments.workflow_state,
        assignments.due_at,
        assignments.points_possible,
        coalesce(assignments.submission_types, {{ cd2_empty_text_array() }}) as submission_types,
        coalesce(quiz_lti.has_quiz_lti, false) as has_quiz_lti
    from assignments
    left join quiz_lti on assignments.assignment_id = quiz_lti.assignment_id
    where assignments.context_type = 'Course'

),

cleaned as (

    select
        assignment_id,
        course_id,
        workflow_state,
        due_at,
        points_possible,
        has_quiz_lti,
        -- the enum sentinel (a type this project does not know) is null in staging: ignored
        {{ cd2_array_without_nulls('submission_types') }} as submission_types
    from typed

),

flagged as (

    select
        assignment_id,
        course_id,
        due_at,
        points_possible,
        workflow_state = 'published' as is_published,
        {{ cd2_array_contains('submission_types', "'online_quiz'") }} as is_quiz,
        {{ cd2_array_contains('submission_types', "'external_tool'") }}
        and has_quiz_lti as is_new_quiz,
        -- listed types Canvas does not call offline
        {{ cd2_array_count_where(
            'submission_types',
            'submission_type',
            "submission_type not in ('none', 'not_graded', 'on_paper', 'wiki_page', 'external_tool')"
        ) }} as n_digital_types,
        {{ cd2_array_count_where(
            'submission_types',
            'submission_type',
            "submission_type not in ('none', 'not_graded', 'on_paper', 'wiki_page')"
        ) }} as n_submittable_types
    from cleaned

),

final as (

    select
        assignment_id,
        course_id,
        is_published,
        is_quiz,
        is_new_quiz,
        -- any digital type; a New Quizzes LTI counts as digital
        n_digital_types > 0 or is_new_quiz as expects_digital_submission,
        is_published
        and due_at is not null
        and coalesce(points_possible, 0) > 0
        and (
            {{ var('cd2_timeliness_include_offline_types', false) }}
            or n_submittable_types > 0
        ) as counts_for_timeliness
    from flagged

)

select * from final
