{#- M10: discussion participation per student and course (announcements and deleted items left
    out). The metrics are the course totals of int_discussions__participation. -#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

student_courses as (

    select * from {{ ref('int_enrollment__student_courses') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

participation as (

    select * from {{ ref('int_discussions__participation') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

course_totals as (

    select *
    from participation
    where is_course_total

),

final as (

    select
        user_keys.user_key,
        student_courses.course_id,
        student_courses.term_id,
        student_courses.effective_status,
        coalesce(course_totals.n_posts, 0) as n_posts,
        coalesce(course_totals.n_replies, 0) as n_replies,
        coalesce(course_totals.n_topics_participated, 0) as n_topics_participated,
        course_totals.avg_entry_length,
        coalesce(course_totals.replies_received, 0) as replies_received,
        course_totals.median_hours_to_first_post,
        course_totals.first_entry_at,
        course_totals.last_entry_at,
        as_of.as_of_ts as data_as_of
    from student_courses
    inner join user_keys
        on student_courses.user_id = user_keys.user_id
    left join course_totals
        on
            student_courses.user_id = course_totals.user_id
            and student_courses.course_id = course_totals.course_id
    cross join as_of

)

select * from final
