{#-
    Conformed assignment dimension (course assignments). The publication, quiz and timeliness
    flags come from int_submissions__assignment_rules, shared with the submission marts.
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

assignments as (

    select * from {{ ref('stg_canvas__assignments') }}

),

assignment_groups as (

    select * from {{ ref('stg_canvas__assignment_groups') }}

),

assignment_rules as (

    select * from {{ ref('int_submissions__assignment_rules') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        assignments.assignment_id,
        assignments.context_id as course_id,
        assignments.title,
        assignments.assignment_group_id,
        assignment_groups.group_weight,
        assignments.points_possible,
        assignments.grading_type,
        assignments.submission_types,
        assignments.due_at,
        assignments.unlock_at,
        assignments.lock_at,
        assignments.all_day,
        assignments.workflow_state,
        assignments.is_deleted,
        assignment_rules.is_published,
        coalesce(assignments.omit_from_final_grade, false) as omit_from_final_grade,
        coalesce(assignments.only_visible_to_overrides, false) as only_visible_to_overrides,
        assignments.group_category_id,
        assignments.group_category_id is not null as is_group_assignment,
        assignment_rules.is_quiz or assignment_rules.is_new_quiz as is_quiz,
        assignment_rules.is_new_quiz,
        assignment_rules.counts_for_timeliness,
        assignment_rules.expects_digital_submission,
        as_of.as_of_ts as data_as_of
    from assignments
    inner join assignment_rules on assignments.assignment_id = assignment_rules.assignment_id
    left join assignment_groups
        on assignments.assignment_group_id = assignment_groups.assignment_group_id
    cross join as_of
    where assignments.context_type = 'Course'

)

select * from final
