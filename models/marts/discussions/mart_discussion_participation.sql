{#- M10: discussion participation per student and course (announcements and deleted items left
    out). -#}
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

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

own_entries as (

    select
        user_id,
        course_id,
        count(case when is_post then 1 end) as n_posts,
        count(case when not is_post then 1 end) as n_replies,
        count(distinct discussion_topic_id) as n_topics_participated,
        avg(entry_length) as avg_entry_length,
        min(created_at) as first_entry_at,
        max(created_at) as last_entry_at
    from discussion_entries
    group by 1, 2

),

replies_received as (

    select
        parent_user_id as user_id,
        course_id,
        count(*) as replies_received
    from discussion_entries
    where
        not is_post
        and parent_user_id is not null
        and user_id is distinct from parent_user_id
    group by 1, 2

),

first_posts as (

    -- Hours from the topic's posting to the student's first top-level post in it.
    select
        user_id,
        course_id,
        discussion_topic_id,
        (epoch_us(min(created_at)) - epoch_us(any_value(topic_posted_at))) / 3600000000.0
            as hours_to_first_post
    from discussion_entries
    where is_post
    group by 1, 2, 3

),

first_post_medians as (

    select
        user_id,
        course_id,
        quantile_cont(hours_to_first_post, 0.5) as median_hours_to_first_post
    from first_posts
    group by 1, 2

),

final as (

    select
        user_keys.user_key,
        student_courses.course_id,
        student_courses.term_id,
        student_courses.effective_status,
        coalesce(own_entries.n_posts, 0) as n_posts,
        coalesce(own_entries.n_replies, 0) as n_replies,
        coalesce(own_entries.n_topics_participated, 0) as n_topics_participated,
        own_entries.avg_entry_length,
        coalesce(replies_received.replies_received, 0) as replies_received,
        first_post_medians.median_hours_to_first_post,
        own_entries.first_entry_at,
        own_entries.last_entry_at,
        as_of.as_of_ts as data_as_of
    from student_courses
    inner join user_keys
        on student_courses.user_id = user_keys.user_id
    left join own_entries
        on
            student_courses.user_id = own_entries.user_id
            and student_courses.course_id = own_entries.course_id
    left join replies_received
        on
            student_courses.user_id = replies_received.user_id
            and student_courses.course_id = replies_received.course_id
    left join first_post_medians
        on
            student_courses.user_id = first_post_medians.user_id
            and student_courses.course_id = first_post_medians.course_id
    cross join as_of

)

select * from final
