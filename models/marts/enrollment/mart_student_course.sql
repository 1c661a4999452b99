with

student_courses as (

    select * from {{ ref('int_enrollment__student_courses') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

final as (

    select
        user_keys.user_key,
        student_courses.course_id,
        student_courses.term_id,
        student_courses.n_enrollments,
        student_courses.n_sections,
        student_courses.effective_status,
        student_courses.is_active,
        student_courses.first_enrolled_at,
        student_courses.last_activity_at,
        student_courses.total_activity_time,
        student_courses.data_as_of
    from student_courses
    left join user_keys on student_courses.user_id = user_keys.user_id

)

select * from final
