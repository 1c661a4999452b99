{#-
    The discussion base of M10, shared by mart_discussion_participation (course totals) and
    mart_discussion_participation_weekly (weeks of the term): per author and course, and per
    author, course and week of the term (from dim_course's week 1; courses without one have
    course totals only), their posts and replies, topics, average entry length, replies received
    from others (in the week the reply was written) and the median hours from a topic's posting
    to their first post in it (in the week of that first post). Every author appears, students
    or not: the marts keep their students.
-#}
{#- A table, not a view: it reads every discussion entry, and each of
    its tests and the two marts reading it would compute it again (as a view, its seven tests
    cost 56 s of a round on large). -#}
{{ config(materialized='table') }}

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

first_posts as (

    -- a topic's first post by the author, in the week it was written
    select
        user_id,
        course_id,
        discussion_topic_id,
        {{ cd2_arg_min('week_in_term', 'created_at') }} as week_in_term,
        {{ cd2_microseconds_between(cd2_any_value('topic_posted_at'), 'min(created_at)') }}
        / 3600000000.0 as hours_to_first_post
    from weeked
    where is_post
    group by 1, 2, 3

),

events as (

    -- what each author did or received: their entries, the replies others wrote to them (in the
    -- week the reply was written) and their first post in each topic
    select
        user_id,
        course_id,
        week_in_term,
        'entry' as event_type,
        discussion_topic_id,
        is_post,
        entry_length,
        created_at,
        cast(null as {{ cd2_type_double() }}) as hours_to_first_post
    from weeked
    union all
    select
        parent_user_id as user_id,
        course_id,
        week_in_term,
        'reply_received' as event_type,
        null as discussion_topic_id,
        null as is_post,
        null as entry_length,
        null as created_at,
        null as hours_to_first_post
    from weeked
    where
        not is_post
        and parent_user_id is not null
        and user_id is distinct from parent_user_id
    union all
    select
        user_id,
        course_id,
        week_in_term,
        'first_post' as event_type,
        discussion_topic_id,
        null as is_post,
        null as entry_length,
        null as created_at,
        hours_to_first_post
    from first_posts

),

grains as (

    -- every event counts twice: for its course total and for its week
    select grain_list.is_course_total
    from (values (true), (false)) as grain_list (is_course_total)

),

grained as (

    select
        events.*,
        grains.is_course_total,
        case when not grains.is_course_total then events.week_in_term end as grain_week
    from events
    cross join grains

),

final as (

    select
        user_id,
        course_id,
        grain_week as week_in_term,
        is_course_total,
        count(*) filter (where event_type = 'entry' and is_post) as n_posts,
        count(*) filter (where event_type = 'entry' and not is_post) as n_replies,
        count(distinct discussion_topic_id) filter (
            where event_type = 'entry'
        ) as n_topics_participated,
        avg(entry_length) filter (where event_type = 'entry') as avg_entry_length,
        count(*) filter (where event_type = 'reply_received') as replies_received,
        {{ cd2_percentile_cont('hours_to_first_post', 0.5) }} filter (
            where event_type = 'first_post'
        ) as median_hours_to_first_post,
        min(created_at) filter (where event_type = 'entry') as first_entry_at,
        max(created_at) filter (where event_type = 'entry') as last_entry_at
    from grained
    -- a week row needs a week: courses without week 1 have course totals only
    where is_course_total or grain_week is not null
    group by 1, 2, 3, 4

)

select * from final
