{#-
    The discussion base of M10, shared by mart_discussion_participation (course totals) and
    mart_discussion_participation_weekly (weeks of the term): per author and course, and per
    author, course and week of the term (from dim_course's week 1; courses without one have
    course totals only), their posts and replies, topics, average entry length, replies received
    from others (in the week the reply was written) and the median hours from a topic's posting
    to their first post in it (in the week of that first post). Every author appears, students
    or not: the marts keep their students.
-#}
with

discussion_entries as (

    select * from {{ ref('int_discussions__entries') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

weeked as (

    -- week_in_term is null in courses without a week 1
    select
        discussion_entries.*,
        {{ cd2_week_in_term(
            'discussion_entries.created_local_date',
            'courses.week1_start_local_date'
        ) }} as week_in_term
    from discussion_entries
    left join courses
        on discussion_entries.course_id = courses.course_id

),

grains as (

    -- every entry counts twice: for its course total and for its week
    select grain_list.is_course_total
    from (values (true), (false)) as grain_list (is_course_total)

),

grained as (

    select
        weeked.*,
        grains.is_course_total,
        case when not grains.is_course_total then weeked.week_in_term end as grain_week
    from weeked
    cross join grains

),

own_entries as (

    select
        user_id,
        course_id,
        grain_week as week_in_term,
        is_course_total,
        count(case when is_post then 1 end) as n_posts,
        count(case when not is_post then 1 end) as n_replies,
        count(distinct discussion_topic_id) as n_topics_participated,
        avg(entry_length) as avg_entry_length,
        min(created_at) as first_entry_at,
        max(created_at) as last_entry_at
    from grained
    group by 1, 2, 3, 4

),

replies_received as (

    select
        parent_user_id as user_id,
        course_id,
        grain_week as week_in_term,
        is_course_total,
        count(*) as replies_received
    from grained
    where
        not is_post
        and parent_user_id is not null
        and user_id is distinct from parent_user_id
    group by 1, 2, 3, 4

),

first_posts as (

    -- a topic's first post by the author, in the week it was written
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
        first_posts.user_id,
        first_posts.course_id,
        case when not grains.is_course_total then first_posts.week_in_term end as week_in_term,
        grains.is_course_total,
        quantile_cont(first_posts.hours_to_first_post, 0.5) as median_hours_to_first_post
    from first_posts
    cross join grains
    group by 1, 2, 3, 4

),

author_rows as (

    select
        user_id,
        course_id,
        week_in_term,
        is_course_total
    from own_entries
    union
    select
        user_id,
        course_id,
        week_in_term,
        is_course_total
    from replies_received

),

final as (

    select
        author_rows.user_id,
        author_rows.course_id,
        author_rows.week_in_term,
        author_rows.is_course_total,
        coalesce(own_entries.n_posts, 0) as n_posts,
        coalesce(own_entries.n_replies, 0) as n_replies,
        coalesce(own_entries.n_topics_participated, 0) as n_topics_participated,
        own_entries.avg_entry_length,
        coalesce(replies_received.replies_received, 0) as replies_received,
        first_post_medians.median_hours_to_first_post,
        own_entries.first_entry_at,
        own_entries.last_entry_at
    from author_rows
    left join own_entries
        on
            author_rows.user_id is not distinct from own_entries.user_id
            and author_rows.course_id is not distinct from own_entries.course_id
            and author_rows.week_in_term is not distinct from own_entries.week_in_term
            and author_rows.is_course_total = own_entries.is_course_total
    left join replies_received
        on
            author_rows.user_id is not distinct from replies_received.user_id
            and author_rows.course_id is not distinct from replies_received.course_id
            and author_rows.week_in_term is not distinct from replies_received.week_in_term
            and author_rows.is_course_total = replies_received.is_course_total
    left join first_post_medians
        on
            author_rows.user_id is not distinct from first_post_medians.user_id
            and author_rows.course_id is not distinct from first_post_medians.course_id
            and author_rows.week_in_term is not distinct from first_post_medians.week_in_term
            and author_rows.is_course_total = first_post_medians.is_course_total
    -- a week row needs a week: courses without week 1 have course totals only
    where author_rows.is_course_total or author_rows.week_in_term is not null

)

select * from final
