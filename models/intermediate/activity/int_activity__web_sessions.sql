{#-
    One row per web session (M7): its student, course (that of the request opening it), span,
    requests and active time; fct_web_session adds the as_of. Incremental (cd2 mode): requests
    int_activity__sessionized_requests (re)computed after this model's last build mark the
    students to look at, each from the earliest such request (`from_ts`). Sessions of those
    students that reach `from_ts` are recomputed from all their requests (a session of another
    browser session key that began earlier is read whole), and those that no longer exist
    (merged, renamed by an earlier first request, or all of whose requests were dropped with a
    pair no longer tracked) are removed: the model emits them once more flagged `_cd2_stale`,
    so delete+insert replaces them, and the post-hook deletes the flagged rows in the same
    transaction. Earlier sessions cannot change (see int_activity__sessionized_requests).
-#}
{#- dap_syncdb mode and Spark: rebuilt whole. -#}
{{ config(**cd2_event_fact_config('web_session_id')) }}

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

-- students with requests (re)computed since this model was built, from the earliest of them
changed as (

    select
        user_key,
        min(request_ts) as from_ts
    from web_requests
    where _cd2_round_batch_id > (select watermark.round_batch_id from watermark)
    group by 1

),

-- how far back their recomputed sessions can reach: a session already built that ends at or
-- after from_ts may have begun earlier
reach as (

    select
        changed.user_key,
        changed.from_ts,
        least(changed.from_ts, coalesce(min(loaded.start_ts), changed.from_ts)) as scan_from_ts
    from changed
    left join loaded
        on
            changed.user_key = loaded.user_key
            and loaded.end_ts >= changed.from_ts
    group by 1, 2

),

recomputed_sessions as (

    select distinct web_requests.web_session_id
    from web_requests
    inner join reach
        on web_requests.user_key = reach.user_key
    where web_requests.request_ts >= reach.from_ts

),
{%- endif %}

requests as (

    select web_requests.*
    from web_requests
    {%- if is_incremental() %}
    inner join reach
        on web_requests.user_key = reach.user_key
    inner join recomputed_sessions
        on web_requests.web_session_id = recomputed_sessions.web_session_id
    where
        web_requests.request_ts >= reach.scan_from_ts
        -- one bound for all: lets the scan skip older row groups
        and web_requests.request_ts >= (select min(reach.scan_from_ts) from reach)
    {%- endif %}

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
        sum(active_microseconds) as active_microseconds,
        max(_cd2_round_batch_id) as _cd2_round_batch_id,
        false as _cd2_stale
    from requests
    group by 1, 2

),
{%- if is_incremental() %}

-- sessions built before that no longer exist: emitted once more, flagged, for the post-hook
stale as (

    select
        loaded.web_session_id,
        loaded.user_key,
        loaded.course_id,
        loaded.n_courses,
        loaded.has_session_key,
        loaded.start_ts,
        loaded.end_ts,
        loaded.n_requests,
        loaded.n_page_views,
        loaded.n_participations,
        loaded.active_microseconds,
        loaded._cd2_round_batch_id,
        true as _cd2_stale
    from loaded
    where
        not exists (
            select 1 from recomputed_sessions
            where recomputed_sessions.web_session_id = loaded.web_session_id
        )
        and (
            exists (
                select 1 from changed
                where changed.user_key = loaded.user_key and loaded.end_ts >= changed.from_ts
            )
            -- opened by a request of a pair no longer tracked: every request of it was dropped
            or not exists (
                select 1 from tracked_keys
                where tracked_keys.user_key = loaded.user_key and tracked_keys.course_id = loaded.course_id
            )
        )

),
{%- endif %}

final as (

    select * from sessions
    {%- if is_incremental() %}
    union all
    select * from stale
    {%- endif %}

)

select * from final
