{#-
    Every student request with its web session (M7). A session is a run of one user's requests
    with the same session key (the browser session; mobile and token calls have none and form
    their own runs), ordered by time (ties by request id), in which no gap reaches var
    cd2_session_gap_minutes; a request is in a session whatever its course.
    `active_microseconds` is the time until the next request of the same session (0 for its last
    request): the time spent on that page. A table: both web-activity facts read it.

    Incremental (cd2 mode): a round recomputes only the runs (user x session key) that got
    requests not sessionized yet (new batches, and the whole history of a pair that
    int_activity__student_requests added whole), each from the start of its session that holds
    the earliest new request: earlier sessions end with a gap of at least the session gap before
    that start, which requests at or after it cannot close. A late request (event time before the
    last round's) is placed the same way, however old. Runs that lost requests (a pair no longer
    tracked, deleted by the post-hook) are recomputed whole. Changing cd2_session_gap_minutes
    needs `--full-refresh`.
-#}
{#- dap_syncdb mode (no `_batch_id` to go by) and Spark (no delete): rebuilt whole. -#}
{{
    config(
        materialized='incremental' if cd2_merges_batches() else 'table',
        incremental_strategy='delete+insert',
        unique_key='web_log_id',
        on_schema_change='sync_all_columns',
        meta={'cd2_round_rows': '_cd2_round_batch_id'},
        post_hook="{{ cd2_delete_untracked_pairs('int_activity__tracked_students') }}",
    )
}}

-- depends_on: {{ ref('int_activity__tracked_students') }}
{%- set gap_microseconds = var('cd2_session_gap_minutes', 30) * 60000000 %}

with

student_requests as (

    select * from {{ ref('int_activity__student_requests') }}

),
{%- if is_incremental() %}

tracked_students as (

    select * from {{ ref('int_activity__tracked_students') }}

),

loaded as (

    select * from {{ this }}

),

watermark as (

    select coalesce(max(_batch_id), 0) as max_batch_id
    from loaded

),

loaded_pairs as (

    select distinct
        user_id,
        course_id
    from loaded

),

-- requests not sessionized yet: new batches, and pairs student_requests holds whole history of
new_requests as (

    select
        student_requests.user_id,
        student_requests.session_key,
        student_requests.request_ts
    from student_requests
    where {{ cd2_not_taken_in('student_requests', 'loaded_pairs') }}

),

earliest_new as (

    select
        user_id,
        session_key,
        min(request_ts) as first_new_ts
    from new_requests
    group by 1, 2

),

-- the start of the run's latest session that begins at or before its earliest new request
-- (null: none does, the whole run)
recompute_from as (

    select
        earliest_new.user_id,
        earliest_new.session_key,
        max(loaded.request_ts) as from_ts
    from earliest_new
    left join loaded
        on
            earliest_new.user_id = loaded.user_id
            and earliest_new.session_key is not distinct from loaded.session_key
            and loaded.is_session_start
            and loaded.request_ts <= earliest_new.first_new_ts
    group by 1, 2

),

-- runs with requests of pairs no longer tracked (the post-hook deletes those): recomputed whole
shrunk_runs as (

    select distinct
        loaded.user_id,
        loaded.session_key
    from loaded
    where not exists (
        select 1 from tracked_students
        where
            tracked_students.user_id = loaded.user_id
            and tracked_students.course_id = loaded.course_id
    )

),

affected_runs as (

    select
        user_id,
        session_key,
        case when bool_and(from_ts is not null) then min(from_ts) end as from_ts
    from (
        select
            user_id,
            session_key,
            from_ts
        from recompute_from
        union all
        select
            user_id,
            session_key,
            cast(null as timestamp) as from_ts
        from shrunk_runs
    ) as runs
    group by 1, 2

),
{%- endif %}

-- the round's mark on every row it (re)computes: the newest committed batch, which grows in every
-- round that brings anything new (downstream incremental models take rows marked after theirs)
round_mark as (

    {{ cd2_round_batch_mark() }}

),

requests as (

    select student_requests.*
    from student_requests
    {%- if is_incremental() %}
    inner join affected_runs
        on
            student_requests.user_id = affected_runs.user_id
            and student_requests.session_key is not distinct from affected_runs.session_key
    where affected_runs.from_ts is null or student_requests.request_ts >= affected_runs.from_ts
    {%- endif %}

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
        is_lti_launch,
        _batch_id,
        (select round_mark.round_batch_id from round_mark) as _cd2_round_batch_id
    from numbered

)

select * from final
