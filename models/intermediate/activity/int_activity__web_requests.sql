{#-
    The web-activity base of the activity facts (fct_web_session, fct_web_activity_daily): every
    sessionized student request (int_activity__sessionized_requests) with the student's
    pseudonymous user_key instead of the user id. Requests of users without a key are left out,
    as the facts did when they joined the key after aggregating.
-#}
with

sessionized_requests as (

    select * from {{ ref('int_activity__sessionized_requests') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

final as (

    select
        sessionized_requests.web_log_id,
        sessionized_requests.web_session_id,
        user_keys.user_key,
        sessionized_requests.course_id,
        sessionized_requests.session_key,
        sessionized_requests.request_ts,
        sessionized_requests.activity_date,
        sessionized_requests.is_session_start,
        sessionized_requests.active_microseconds,
        sessionized_requests.is_page_view,
        sessionized_requests.is_participation,
        sessionized_requests.is_assignment_view,
        sessionized_requests.is_quiz_view,
        sessionized_requests.is_discussion_view,
        sessionized_requests.is_file_view,
        sessionized_requests.is_wiki_page_view,
        sessionized_requests.is_lti_launch,
        sessionized_requests._cd2_round_batch_id
    from sessionized_requests
    inner join user_keys
        on sessionized_requests.user_id = user_keys.user_id

)

select * from final
