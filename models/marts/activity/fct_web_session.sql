{#-
    A view over int_activity__web_sessions where rounds build that model incrementally (cd2
    mode): `data_as_of`, the round's as_of, costs nothing to keep current. A table elsewhere.
-#}
{{ config(meta={'cd2_now': 'stamp'}, materialized='view' if cd2_merges_batches() else 'table') }}

with

web_sessions as (

    select * from {{ ref('int_activity__web_sessions') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        web_sessions.web_session_id,
        web_sessions.user_key,
        web_sessions.course_id,
        web_sessions.n_courses,
        web_sessions.has_session_key,
        web_sessions.start_ts,
        web_sessions.end_ts,
        {{ cd2_local_date('web_sessions.start_ts') }} as start_local_date,
        web_sessions.n_requests,
        web_sessions.n_page_views,
        web_sessions.n_participations,
        web_sessions.active_microseconds / 60000000.0 as active_minutes,
        as_of.as_of_ts as data_as_of
    from web_sessions
    cross join as_of

)

select * from final
