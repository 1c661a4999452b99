{#-
    Teacher-side page views per course in the 30 days up to as_of_ts (M11 teacher_page_views_30d).
    The page-view rule is the shared macro cd2_is_page_view (as in int_activity__student_requests):
    GET, 2xx or 304, a known controller, not under /api/ unless cd2_page_views_include_api.
    That model only keeps students, so teachers are read here.
-#}
{#- A table, not a view: it scans every web_logs request of the last 30 days,
    and each of its tests and the mart reading it would scan them again (as a view, its three
    tests cost 99 s of a round on large). -#}
{{ config(materialized='table') }}

with

web_logs as (

    select * from {{ ref('stg_canvas_logs__web_logs') }}

),

enrollments as (

    select * from {{ ref('int_enrollment__effective_enrollments') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

-- anyone with a teacher, TA or designer enrollment in the course (any effective status; deleted,
-- rejected and test-user enrollments are not in int_enrollment__effective_enrollments)
teacher_side as (

    select distinct
        user_id,
        course_id
    from enrollments
    where is_teacher_side

),

teacher_requests as (

    select
        web_logs.web_log_id,
        web_logs.course_id,
        web_logs.http_method,
        web_logs.http_status,
        web_logs.web_application_controller,
        {{ cd2_is_api_request('web_logs.url_path') }} as is_api
    from web_logs
    inner join teacher_side
        on
            web_logs.user_id = teacher_side.user_id
            and web_logs.course_id = teacher_side.course_id
    cross join as_of
    where
        -- masquerading (T15): an administrator acting as the teacher is not the teacher
        web_logs.real_user_id is null
        and web_logs.timestamp >= as_of.as_of_ts - interval '30 days'
        and web_logs.timestamp <= as_of.as_of_ts

),

page_views as (

    select
        web_log_id,
        course_id
    from teacher_requests
    where {{ cd2_is_page_view() }}

),

final as (

    select
        course_id,
        count(*) as teacher_page_views_30d
    from page_views
    group by 1

)

select * from final
