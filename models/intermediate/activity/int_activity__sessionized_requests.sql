{#-
    Every student request with its web session (M7). A session is a run of one user's requests
    with the same session key (the browser session; mobile and token calls have none and form
    their own runs), ordered by time (ties by request id), in which no gap reaches var
    cd2_session_gap_minutes; a request is in a session whatever its course.
    `active_microseconds` is the time until the next request of the same session (0 for its last
    request): the time spent on that page. A table: both web-activity facts read it.
-#}
{{ config(materialized='table') }}

{%- set gap_microseconds = var('cd2_session_gap_minutes', 30) * 60000000 %}

with

requests as (

    select * from {{ ref('int_activity__student_requests') }}

),

ordered as (

    select
        *,
        lag(request_ts) over user_key_runs as previous_request_ts,
        lead(request_ts) over user_key_runs as next_request_ts
    from requests
    -- uuid order is the order of the uuid's text
    window user_key_runs as (
        partition by user_id, session_key
        order by request_ts, web_log_id
    )

),

flagged as (

    select
        *,
        coalesce(
            {{ cd2_microseconds_between('previous_request_ts', 'request_ts') }}
            >= {{ gap_microseconds }},
            true
        ) as is_session_start,
        coalesce(
            {{ cd2_microseconds_between('request_ts', 'next_request_ts') }}
            >= {{ gap_microseconds }},
            true
        ) as is_session_end
    from ordered

),

counted as (

    -- the session's number within the user's run: session starts so far
    select
        *,
        sum(case when is_session_start then 1 else 0 end) over (
            partition by user_id, session_key
            order by request_ts, web_log_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged

),

numbered as (

    select
        *,
        first_value(web_log_id) over (
            partition by user_id, session_key, session_number
            order by request_ts, web_log_id
            rows between unbounded preceding and current row
        ) as first_web_log_id
    from counted

),

final as (

    select
        web_log_id,
        md5(cast(first_web_log_id as {{ dbt.type_string() }})) as web_session_id,
        user_id,
        course_id,
        session_key,
        request_ts,
        request_ts_local,
        activity_date,
        is_session_start,
        case
            when not is_session_end
                then {{ cd2_microseconds_between('request_ts', 'next_request_ts') }}
            else 0
        end as active_microseconds,
        external_tool_id,
        is_page_view,
        is_participation,
        is_assignment_view,
        is_quiz_view,
        is_discussion_view,
        is_file_view,
        is_wiki_page_view,
        is_lti_launch
    from numbered

)

select * from final
