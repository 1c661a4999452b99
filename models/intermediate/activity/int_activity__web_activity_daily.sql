{#-
    One row per student, course and local day with web activity (M7); fct_web_activity_daily adds
    the as_of. Incremental (cd2 mode): the student x local days of requests
    int_activity__sessionized_requests (re)computed after this model's last build are recomputed
    whole, every course of them (a session merged or split changes n_sessions on each day it
    touches, and all its requests carry the new mark); rows that no longer exist (no request
    left that day, or a pair no longer tracked) are emitted once more flagged `_cd2_stale`, so
    delete+insert replaces them, and the post-hook deletes the flagged rows in the same
    transaction.
-#}
{#- dap_syncdb mode and Spark: rebuilt whole. -#}
{{ config(**cd2_event_fact_config(['user_key', 'course_id', 'activity_date'])) }}

-- depends_on: {{ ref('int_activity__tracked_student_keys') }}

with

web_requests as (

    select * from {{ ref('int_activity__web_requests') }}

),
{%- if is_incremental() %}

tracked_keys as (

    select * from {{ ref('int_activity__tracked_student_keys') }}

),

loaded as (

    select * from {{ this }}

),

watermark as (

    select coalesce(max(_cd2_round_batch_id), -1) as round_batch_id
    from loaded

),

-- student x local days with requests (re)computed since this model was built
changed_days as (

    select distinct
        user_key,
        activity_date
    from web_requests
    where _cd2_round_batch_id > (select watermark.round_batch_id from watermark)

),
{%- endif %}

requests as (

    select web_requests.*
    from web_requests
    {%- if is_incremental() %}
    inner join changed_days
        on
            web_requests.user_key = changed_days.user_key
            and web_requests.activity_date = changed_days.activity_date
    -- one bound for all: lets the scan skip older row groups
    where web_requests.activity_date >= (select min(changed_days.activity_date) from changed_days)
    {%- endif %}

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
        count(*) filter (where is_lti_launch) as n_lti_launches,
        max(_cd2_round_batch_id) as _cd2_round_batch_id,
        false as _cd2_stale
    from requests
    group by 1, 2, 3

),
{%- if is_incremental() %}

-- rows built before that no longer exist: emitted once more, flagged, for the post-hook
stale as (

    select loaded.* replace (true as _cd2_stale)
    from loaded
    where
        not exists (
            select 1 from daily
            where
                daily.user_key = loaded.user_key
                and daily.course_id = loaded.course_id
                and daily.activity_date = loaded.activity_date
        )
        and (
            exists (
                select 1 from changed_days
                where changed_days.user_key = loaded.user_key and changed_days.activity_date = loaded.activity_date
            )
            or not exists (
                select 1 from tracked_keys
                where tracked_keys.user_key = loaded.user_key and tracked_keys.course_id = loaded.course_id
            )
        )

),
{%- endif %}

final as (

    select * from daily
    {%- if is_incremental() %}
    union all
    select * from stale
    {%- endif %}

)

select * from final
