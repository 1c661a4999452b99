with

web_requests as (

    select * from {{ ref('int_activity__web_requests') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

daily as (

    select
        user_key,
        course_id,
        activity_date,
        count(*) as n_requests,
        count(*) filter (where is_page_view) as n_page_views,
        count(*) filter (where is_participation) as n_participations,
        count(distinct web_session_id) as n_sessions,
        sum(active_microseconds) as active_microseconds,
        min(request_ts) as first_ts,
        max(request_ts) as last_ts,
        count(*) filter (where is_assignment_view) as n_assignment_views,
        count(*) filter (where is_quiz_view) as n_quiz_views,
        count(*) filter (where is_discussion_view) as n_discussion_views,
        count(*) filter (where is_file_view) as n_file_views,
        count(*) filter (where is_wiki_page_view) as n_wiki_page_views,
        count(*) filter (where is_lti_launch) as n_lti_launches
    from web_requests
    group by 1, 2, 3

),

final as (

    select
        daily.user_key,
        daily.course_id,
        daily.activity_date,
        daily.n_requests,
        daily.n_page_views,
        daily.n_participations,
        daily.n_sessions,
        daily.active_microseconds / 60000000.0 as active_minutes,
        daily.first_ts,
        daily.last_ts,
        daily.n_assignment_views,
        daily.n_quiz_views,
        daily.n_discussion_views,
        daily.n_file_views,
        daily.n_wiki_page_views,
        daily.n_lti_launches,
        as_of.as_of_ts as data_as_of
    from daily
    cross join as_of

)

select * from final
