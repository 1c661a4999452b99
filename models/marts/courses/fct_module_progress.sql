{#-
    M13: each student's progress through each published module (CD1 module_progression_fact).
    Students only (int_enrollment__student_courses: student base role, no test users, no deleted/rejected
    enrollments); progressions on unpublished or deleted modules are left out.
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

progressions as (

    select * from {{ ref('stg_canvas__context_module_progressions') }}

),

modules as (

    select * from {{ ref('int_courses__modules') }}

),

student_courses as (

    select * from {{ ref('int_enrollment__student_courses') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        user_keys.user_key,
        progressions.context_module_id,
        modules.course_id,
        modules.module_position,
        modules.module_rank,
        student_courses.effective_status as student_status,
        progressions.workflow_state,
        coalesce(
            {{ cd2_json_array_length('progressions.requirements_met') }}, 0
        ) as n_requirements_met,
        coalesce(progressions.workflow_state in ('started', 'completed'), false) as is_started,
        coalesce(progressions.workflow_state = 'completed', false) as is_completed,
        progressions.completed_at,
        progressions.evaluated_at,
        as_of.as_of_ts as data_as_of
    from progressions
    inner join modules on progressions.context_module_id = modules.context_module_id
    inner join student_courses
        on
            progressions.user_id = student_courses.user_id
            and modules.course_id = student_courses.course_id
    inner join user_keys on progressions.user_id = user_keys.user_id
    cross join as_of

)

select * from final
