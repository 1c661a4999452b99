{#-
    A view over int_activity__web_activity_daily where rounds build that model incrementally (cd2
    mode): `data_as_of`, the round's as_of, costs nothing to keep current. A table elsewhere.
-#}
{{ config(meta={'cd2_now': 'stamp'}, materialized='view' if cd2_merges_batches() else 'table') }}

with

web_activity_daily as (

    select * from {{ ref('int_activity__web_activity_daily') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        web_activity_daily.user_key,
        web_activity_daily.course_id,
        web_activity_daily.activity_date,
        web_activity_daily.n_requests,
        web_activity_daily.n_page_views,
        web_activity_daily.n_participations,
        web_activity_daily.n_sessions,
        web_activity_daily.active_microseconds / 60000000.0 as active_minutes,
        web_activity_daily.first_ts,
        web_activity_daily.last_ts,
        web_activity_daily.n_assignment_views,
        web_activity_daily.n_quiz_views,
        web_activity_daily.n_discussion_views,
        web_activity_daily.n_file_views,
        web_activity_daily.n_wiki_page_views,
        web_activity_daily.n_lti_launches,
        as_of.as_of_ts as data_as_of
    from web_activity_daily
    cross join as_of

)

select * from final
