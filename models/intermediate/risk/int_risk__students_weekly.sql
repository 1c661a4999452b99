{#-
    M9 population: one row per student active in a course (best status of their enrollments,
    `mart_student_course`) in the course's current week (int_courses__current_weeks), for courses
    that are not deleted and whose week 1 has begun.
-#}
with

student_courses as (

    select * from {{ ref('mart_student_course') }}

),

course_weeks as (

    select * from {{ ref('int_courses__current_weeks') }}

),

final as (

    select
        student_courses.user_key,
        student_courses.course_id,
        student_courses.term_id,
        course_weeks.week_in_term,
        course_weeks.week_start_local_date,
        course_weeks.as_of_local_date,
        course_weeks.as_of_ts
    from student_courses
    inner join course_weeks
        on student_courses.course_id = course_weeks.course_id
    where
        student_courses.effective_status = 'active'
        and student_courses.user_key is not null
        and course_weeks.week_in_term >= 1

)

select * from final
