{#- Current score per student enrollment and assignment group (instructor-facing: unposted kept).
-#}
with

student_scores as (

    select * from {{ ref('int_grades__student_scores') }}

),

assignment_groups as (

    select * from {{ ref('stg_canvas__assignment_groups') }}

),

group_scores as (

    -- the assignment-group rows of the grade base
    select *
    from student_scores
    where not is_course_score

),

final as (

    select
        group_scores.enrollment_id,
        group_scores.assignment_group_id,
        group_scores.user_key,
        group_scores.course_id,
        assignment_groups.group_weight,
        group_scores.current_score,
        group_scores.final_score,
        group_scores.unposted_current_score,
        group_scores.unposted_final_score,
        group_scores.score_updated_at,
        group_scores.effective_status,
        group_scores.data_as_of
    from group_scores
    inner join assignment_groups
        on group_scores.assignment_group_id = assignment_groups.assignment_group_id
    where not assignment_groups.is_deleted

)

select * from final
