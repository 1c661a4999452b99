-- Published teaching courses of the current term with active students but no student web
-- activity in the last 14 days: candidates for a check-in by the teaching centre.
with

courses as (

    select * from {{ ref('int_courses__current_term_courses') }}

),

student_courses as (

    select * from {{ ref('mart_student_course') }}

),

daily as (

    select * from {{ ref('fct_web_activity_daily') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

active_students as (

    select
        course_id,
        count(*) as n_students_active
    from student_courses
    where is_active
    group by 1

),

recent_activity as (

    select
        daily.course_id,
        sum(daily.n_requests) as n_requests_14d
    from daily
    cross join as_of
    where daily.activity_date > as_of.as_of_local_date - 14
    group by 1

),

final as (

    select
        courses.course_id,
        courses.course_code,
        active_students.n_students_active,
        coalesce(recent_activity.n_requests_14d, 0) as n_requests_14d
    from courses
    inner join active_students on courses.course_id = active_students.course_id
    left join recent_activity on courses.course_id = recent_activity.course_id
    where
        courses.is_published
        and coalesce(recent_activity.n_requests_14d, 0) = 0

)

select * from final
order by 2
