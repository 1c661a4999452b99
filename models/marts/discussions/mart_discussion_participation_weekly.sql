{#- M10 by week: discussion participation per student, course and week of the term (weeks with
    activity only). The metrics are the week rows of int_discussions__participation. -#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

participation as (

    select * from {{ ref('int_discussions__participation') }}

),

student_courses as (

    select * from {{ ref('int_enrollment__student_courses') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

student_weeks as (

    select *
    from participation
    where not is_course_total

),

final as (

    select
        user_keys.user_key,
        student_weeks.course_id,
        student_weeks.week_in_term,
        courses.week1_start_local_date + (student_weeks.week_in_term - 1) * 7
            as week_start_local_date,
        student_weeks.n_posts,
        student_weeks.n_replies,
        student_weeks.n_topics_participated,
        student_weeks.avg_entry_length,
        student_weeks.replies_received,
        student_weeks.median_hours_to_first_post,
        as_of.as_of_ts as data_as_of
    from student_weeks
    inner join student_courses
        on
            student_weeks.user_id = student_courses.user_id
            and student_weeks.course_id = student_courses.course_id
    inner join user_keys
        on student_weeks.user_id = user_keys.user_id
    inner join courses
        on student_weeks.course_id = courses.course_id
    cross join as_of

)

select * from final
