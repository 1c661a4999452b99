{#-
    M12 grading-setup signal: per course, its assignment groups (not deleted), whether groups
    are weighted, and its late policy (deductions for late and missing work).
-#}
with

course_settings as (

    select * from {{ ref('stg_canvas__courses') }}

),

assignment_groups as (

    select * from {{ ref('stg_canvas__assignment_groups') }}

),

late_policies as (

    select * from {{ ref('stg_canvas__late_policies') }}

),

group_counts as (

    select
        context_id as course_id,
        count(*) as n_assignment_groups
    from assignment_groups
    where context_type = 'Course' and not is_deleted
    group by 1

),

late_policy_flags as (

    select
        course_id,
        bool_or(coalesce(late_submission_deduction_enabled, false)) as is_late_deduction_enabled,
        bool_or(coalesce(missing_submission_deduction_enabled, false))
            as is_missing_deduction_enabled
    from late_policies
    group by 1

),

final as (

    select
        course_settings.course_id,
        coalesce(group_counts.n_assignment_groups, 0) as n_assignment_groups,
        coalesce(course_settings.group_weighting_scheme = 'percent', false) as uses_group_weights,
        late_policy_flags.course_id is not null as has_late_policy,
        coalesce(late_policy_flags.is_late_deduction_enabled, false) as is_late_deduction_enabled,
        coalesce(late_policy_flags.is_missing_deduction_enabled, false)
            as is_missing_deduction_enabled
    from course_settings
    left join group_counts on course_settings.course_id = group_counts.course_id
    left join late_policy_flags on course_settings.course_id = late_policy_flags.course_id

)

select * from final
