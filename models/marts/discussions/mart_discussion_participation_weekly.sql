{#- M10 by week: discussion participation per student, course and week of the term (weeks with
    activity only). -#}
with

student_courses as (

    select * from {{ ref('int_enrollment__student_courses') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

discussion_entries as (

    select * from {{ ref('int_discussions__entries') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

weeked as (

    select
        discussion_entries.*,
        {{ cd2_week_in_term(
            'discussion_entries.created_local_date',
            'courses.week1_start_local_date'
        ) }} as week_in_term
    from discussion_entries
    inner join courses
        on discussion_entries.course_id = courses.course_id
    where courses.week1_start_local_date is not null

),

own_entries as (

    select
        user_id,
        course_id,
        week_in_term,
        count(case when is_post then 1 end) as n_posts,
        count(case when not is_post then 1 end) as n_replies,
        count(distinct discussion_topic_id) as n_topics_participated,
        avg(entry_length) as avg_entry_length
    from weeked
    group by 1, 2, 3

),

replies_received as (

    -- Counted in the week the reply was written.
    select
        parent_user_id as user_id,
        course_id,
        week_in_term,
        count(*) as replies_received
    from weeked
    where
        not is_post
        and parent_user_id is not null
        and user_id is distinct from parent_user_id
    group by 1, 2, 3

),

first_posts as (

    -- A topic's first post by the student belongs to the week it was written.
    select
        user_id,
        course_id,
        discussion_topic_id,
        arg_min(week_in_term, created_at) as week_in_term,
        (epoch_us(min(created_at)) - epoch_us(any_value(topic_posted_at))) / 3600000000.0
            as hours_to_first_post
    from weeked
    where is_post
    group by 1, 2, 3

),

first_post_medians as (

    select
        user_id,
        course_id,
        week_in_term,
        quantile_cont(hours_to_first_post, 0.5) as median_hours_to_first_post
    from first_posts
    group by 1, 2, 3

),

student_weeks as (

    select
        user_id,
        course_id,
        week_in_term
    from own_entries
    union
    select
        user_id,
        course_id,
        week_in_term
    from replies_received

),

final as (

    select
        user_keys.user_key,
        student_weeks.course_id,
        student_weeks.week_in_term,
        courses.week1_start_local_date + (student_weeks.week_in_term - 1) * 7
            as week_start_local_date,
        coalesce(own_entries.n_posts, 0) as n_posts,
        coalesce(own_entries.n_replies, 0) as n_replies,
        coalesce(own_entries.n_topics_participated, 0) as n_topics_participated,
        own_entries.avg_entry_length,
        coalesce(replies_received.replies_received, 0) as replies_received,
        first_post_medians.median_hours_to_first_post,
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
    left join own_entries
        on
            student_weeks.user_id = own_entries.user_id
            and student_weeks.course_id = own_entries.course_id
            and student_weeks.week_in_term = own_entries.week_in_term
    left join replies_received
        on
            student_weeks.user_id = replies_received.user_id
            and student_weeks.course_id = replies_received.course_id
            and student_weeks.week_in_term = replies_received.week_in_term
    left join first_post_medians
        on
            student_weeks.user_id = first_post_medians.user_id
            and student_weeks.course_id = first_post_medians.course_id
            and student_weeks.week_in_term = first_post_medians.week_in_term
    cross join as_of

)

select * from final
