{#- One row per student and course (T5: a student in two sections of a course is counted once). -#}
with

enrollments as (

    select * from {{ ref('int_enrollment__effective_enrollments') }}

),

students as (

    select
        *,
        {{ cd2_status_rank('effective_status', 'student_course_order') }} as status_rank
    from enrollments
    where is_student

),

final as (

    select
        user_id,
        course_id,
        {{ cd2_any_value('term_id') }} as term_id,
        count(*) as n_enrollments,
        count(distinct course_section_id) as n_sections,
        {{ cd2_arg_min('effective_status', 'status_rank') }} as effective_status,
        bool_or(is_active) as is_active,
        min(created_at) as first_enrolled_at,
        max(last_activity_at) as last_activity_at,
        max(total_activity_time) as total_activity_time,
        {{ cd2_any_value('data_as_of') }} as data_as_of
    from students
    group by 1, 2

)

select * from final
