with

web_requests as (

    select * from {{ ref('int_activity__web_requests') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

sessions as (

    select
        web_session_id,
        user_key,
        max(course_id) filter (where is_session_start) as course_id,
        count(distinct course_id) as n_courses,
        bool_or(session_key is not null) as has_session_key,
        min(request_ts) as start_ts,
        max(request_ts) as end_ts,
        count(*) as n_requests,
        count(*) filter (where is_page_view) as n_page_views,
        count(*) filter (where is_participation) as n_participations,
        sum(active_microseconds) as active_microseconds
    from web_requests
    group by 1, 2

),

final as (

    select
        sessions.web_session_id,
        sessions.user_key,
        sessions.course_id,
        sessions.n_courses,
        sessions.has_session_key,
        sessions.start_ts,
        sessions.end_ts,
        {{ cd2_local_date('sessions.start_ts') }} as start_local_date,
        sessions.n_requests,
        sessions.n_page_views,
        sessions.n_participations,
        sessions.active_microseconds / 60000000.0 as active_minutes,
        as_of.as_of_ts as data_as_of
    from sessions
    cross join as_of

)

select * from final
