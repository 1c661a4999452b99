{#- Current score per student enrollment and assignment group (instructor-facing: unposted kept).
-#}
with

enrollment_status as (

    select * from {{ ref('fct_enrollment_status') }}

),

scores as (

    select * from {{ ref('stg_canvas__scores') }}

),

assignment_groups as (

    select * from {{ ref('stg_canvas__assignment_groups') }}

),

group_scores as (

    -- T10: assignment-group rows (course_score = false, assignment_group_id set).
    select
        enrollment_id,
        assignment_group_id,
        current_score,
        final_score,
        unposted_current_score,
        unposted_final_score,
        updated_at as score_updated_at
    from scores
    where
        not course_score
        and workflow_state = 'active'
        and assignment_group_id is not null
    qualify row_number() over (
        partition by enrollment_id, assignment_group_id
        order by updated_at desc nulls last, score_id desc
    ) = 1

),

student_enrollments as (

    select
        enrollment_id,
        user_key,
        course_id,
        effective_status,
        data_as_of
    from enrollment_status
    where
        is_student
        and effective_status <> 'pending'

),

final as (

    select
        student_enrollments.enrollment_id,
        group_scores.assignment_group_id,
        student_enrollments.user_key,
        student_enrollments.course_id,
        assignment_groups.group_weight,
        group_scores.current_score,
        group_scores.final_score,
        group_scores.unposted_current_score,
        group_scores.unposted_final_score,
        group_scores.score_updated_at,
        student_enrollments.effective_status,
        student_enrollments.data_as_of
    from student_enrollments
    inner join group_scores
        on student_enrollments.enrollment_id = group_scores.enrollment_id
    inner join assignment_groups
        on group_scores.assignment_group_id = assignment_groups.assignment_group_id
    where not assignment_groups.is_deleted

)

select * from final
