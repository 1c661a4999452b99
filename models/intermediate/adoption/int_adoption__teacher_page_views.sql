{#-
    Teacher-side page views per course in the 30 days up to as_of_ts (M11 teacher_page_views_30d),
    from int_activity__teacher_requests: teacher, TA or designer enrollments of the course, any
    effective status, masquerading left out, classified by the shared page-view rule
    cd2_is_page_view (GET, 2xx or 304, a known controller, not under /api/ unless
    cd2_page_views_include_api), as the students' requests are.
-#}
{#- A table, not a view: its tests and the mart reading it would compute it again. -#}
{{ config(materialized='table') }}

with

teacher_requests as (

    select * from {{ ref('int_activity__teacher_requests') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        teacher_requests.course_id,
        count(*) as teacher_page_views_30d
    from teacher_requests
    cross join as_of
    where
        teacher_requests.is_page_view
        and teacher_requests.request_ts >= as_of.as_of_ts - interval '30 days'
        and teacher_requests.request_ts <= as_of.as_of_ts
    group by 1

)

select * from final
