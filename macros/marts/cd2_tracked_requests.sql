{#-
    The body of an incremental model of the web_logs requests of tracked people in their own
    course (int_activity__student_requests, int_activity__teacher_requests): `tracked` is a
    relation of user_id x course_id pairs (int_activity__tracked_students / _teachers), the same
    one the model's pre-hook `cd2_delete_untracked_pairs` names. Every request of a tracked pair
    is kept, classified (page view, file view, LTI launch …); masquerading requests are not.

    Incremental (cd2 mode): new batches of web_logs are added; pairs that are tracked but hold no
    rows yet (a new or re-activated enrollment) are read from the whole history.
-#}
{% macro cd2_tracked_requests(tracked) %}
{#-
    Incremental runs: the lowest batch that holds a candidate request (a new batch, or the history
    of a tracked pair with no rows yet), read first on the four plain columns it needs. As a literal
    it is pushed into the scan (zone maps: rows land in batch order), so a round projects only the
    new batches, not the whole history kept, unless a newly tracked pair has older requests.
-#}
{%- set lowest_batch = none -%}
{%- if is_incremental() and execute -%}
    {%- set lowest_query -%}
        with
        loaded as (select user_id, course_id, _batch_id from {{ this }}),
        watermark as (select coalesce(max(_batch_id), 0) as max_batch_id from loaded),
        loaded_pairs as (select distinct user_id, course_id from loaded)
        select coalesce(min(web_logs._batch_id), (select watermark.max_batch_id + 1 from watermark))
        from {{ ref('stg_canvas_logs__web_logs') }} as web_logs
        inner join {{ tracked }} as tracked
            on web_logs.user_id = tracked.user_id and web_logs.course_id = tracked.course_id
        where
            web_logs.real_user_id is null
            and {{ cd2_not_taken_in('web_logs', 'loaded_pairs') }}
    {%- endset -%}
    {%- set lowest_batch = run_query(lowest_query).columns[0].values()[0] -%}
{%- endif %}

with

web_logs as (

    select * from {{ ref('stg_canvas_logs__web_logs') }}

),

tracked_pairs as (

    select * from {{ tracked }}

),
{%- if is_incremental() %}

loaded as (

    select * from {{ this }}

),

loaded_pairs as (

    select distinct
        user_id,
        course_id
    from loaded

),

watermark as (

    select coalesce(max(_batch_id), 0) as max_batch_id
    from loaded

),

{%- endif %}

-- incremental runs: new batches, plus the whole history of tracked pairs that hold no rows yet
candidate_logs as (

    select web_logs.*
    from web_logs
    {%- if is_incremental() %}
    where
        web_logs._batch_id >= {{ lowest_batch if lowest_batch is not none else 0 }}
        and {{ cd2_not_taken_in('web_logs', 'loaded_pairs') }}
    {%- endif %}

),

student_requests as (

    select candidate_logs.*
    from candidate_logs
    inner join tracked_pairs
        on
            candidate_logs.user_id = tracked_pairs.user_id
            and candidate_logs.course_id = tracked_pairs.course_id
    -- masquerading (T15): the request was made by an administrator, not the person
    where candidate_logs.real_user_id is null

),

api_flagged as (

    select
        *,
        {{ cd2_is_api_request() }} as is_api
    from student_requests

),

classified as (

    select
        *,
        {{ cd2_is_page_view() }} as is_page_view,
        coalesce(
            http_method = 'GET'
            and http_status between 200 and 399
            and web_application_controller = 'files'
            and web_application_action in ('show', 'download', 'show_relative')
            and not is_api,
            false
        ) as is_file_view,
        coalesce(
            http_method = 'GET'
            and (http_status between 200 and 299 or http_status = 304)
            and web_application_controller = 'external_tools'
            and web_application_action in ('show', 'retrieve')
            and not is_api,
            false
        ) as is_lti_launch
    from api_flagged

),

final as (

    select
        web_log_id,
        user_id,
        course_id,
        timestamp as request_ts,
        {{ cd2_local_ts('timestamp') }} as request_ts_local,
        cast({{ cd2_local_ts('timestamp') }} as date) as activity_date,
        session_key,
        http_method,
        http_status,
        url_path,
        web_application_controller,
        web_application_action,
        assignment_id,
        quiz_id,
        discussion_id,
        case
            when is_lti_launch and web_application_action = 'show'
                then cast(
                    nullif(
                        {{ cd2_regexp_group('url_path', "'/external_tools/([0-9]+)'") }}, ''
                    ) as bigint
                )
        end as external_tool_id,
        is_api,
        is_page_view,
        coalesce(participated, false) as is_participation,
        is_page_view and assignment_id is not null as is_assignment_view,
        is_page_view and quiz_id is not null as is_quiz_view,
        is_page_view and discussion_id is not null as is_discussion_view,
        is_file_view,
        is_page_view and web_application_controller = 'wiki_pages' as is_wiki_page_view,
        is_lti_launch,
        _batch_id
    from classified

)

select * from final
{% endmacro %}
