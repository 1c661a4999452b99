{#- M13 per student: share of the course's published modules the student has completed. -#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

modules as (

    select * from {{ ref('int_courses__modules') }}

),

module_progress as (

    select * from {{ ref('fct_module_progress') }}

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

course_modules as (

    select
        course_id,
        count(*) as n_modules
    from modules
    group by 1

),

student_progress as (

    select
        user_key,
        course_id,
        count(*) filter (where is_started) as n_modules_started,
        count(*) filter (where is_completed) as n_modules_completed,
        max(completed_at) as last_completed_at
    from module_progress
    group by 1, 2

),

final as (

    select
        user_keys.user_key,
        student_courses.course_id,
        student_courses.effective_status as student_status,
        course_modules.n_modules,
        coalesce(student_progress.n_modules_started, 0) as n_modules_started,
        coalesce(student_progress.n_modules_completed, 0) as n_modules_completed,
        {{ cd2_ratio(
            'coalesce(student_progress.n_modules_completed, 0)', 'course_modules.n_modules'
        ) }}
            as pct_modules_completed,
        student_progress.last_completed_at,
        as_of.as_of_ts as data_as_of
    from student_courses
    inner join course_modules on student_courses.course_id = course_modules.course_id
    inner join user_keys on student_courses.user_id = user_keys.user_id
    left join student_progress
        on
            user_keys.user_key = student_progress.user_key
            and student_courses.course_id = student_progress.course_id
    cross join as_of

)

select * from final
