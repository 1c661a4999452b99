{#-
    The current week of every course: week_in_term of as_of_local_date, counted from the
    course's week 1 (dim_course), for courses that are not deleted and have a week 1 (the week
    is 0 or negative before week 1 begins). Shared by the weekly risk population and the
    "this week" analyses.
-#}
{{ config(meta={'cd2_now': 'local_date'}) }}

with

courses as (

    select * from {{ ref('dim_course') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

weeks as (

    select
        courses.course_id,
        courses.week1_start_local_date,
        {{ cd2_week_in_term('as_of.as_of_local_date', 'courses.week1_start_local_date') }}
            as week_in_term,
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
        course_id,
        week1_start_local_date,
        week_in_term,
        week1_start_local_date + 7 * (week_in_term - 1) as week_start_local_date,
        as_of_local_date,
        as_of_ts
    from weeks

)

select * from final
