{#-
    M9 population: one row per student active in a course (best status of their enrollments,
    `mart_student_course`) in the course's current week (week_in_term of as_of_local_date), for
    courses that are not deleted and whose week 1 has begun.
-#}
with

student_courses as (

    select * from {{ ref('mart_student_course') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

course_weeks as (

    -- the current week of every course that has a week 1 and is not deleted
    select
        courses.course_id,
        courses.week1_start_local_date,
        {{ cd2_week_in_term('as_of.as_of_local_date', 'courses.week1_start_local_date') }}
            as week_in_term,
        courses.week1_start_local_date + 7 * (week_in_term - 1) as week_start_local_date,
        as_of.as_of_local_date,
        as_of.as_of_ts
    from courses
    cross join as_of
    where
        not coalesce(courses.is_deleted, false)
        and courses.week1_start_local_date is not null

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
