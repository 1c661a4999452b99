{{ config(meta={'cd2_now': 'stamp'}) }}

with

student_requests as (

    select * from {{ ref('int_activity__student_requests') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

external_tools as (

    select * from {{ ref('stg_canvas__context_external_tools') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

launches as (

    select
        student_requests.course_id,
        courses.term_id,
        student_requests.external_tool_id,
        {{ cd2_week_in_term('student_requests.activity_date', 'courses.week1_start_local_date') }}
            as week_in_term,
        courses.week1_start_local_date,
        student_requests.user_id
    from student_requests
    -- dim_course leaves out deleted courses
    inner join courses
        on student_requests.course_id = courses.course_id
    where student_requests.is_lti_launch

),

cells as (

    select
        course_id,
        term_id,
        external_tool_id,
        week_in_term,
        {{ cd2_any_value('week1_start_local_date') }} + 7 * (week_in_term - 1)
            as week_start_local_date,
        count(distinct user_id) as n_launching_students,
        count(*) as n_launches
    from launches
    group by 1, 2, 3, 4

),

final as (

    select
        cells.course_id,
        cells.term_id,
        cells.external_tool_id,
        external_tools.name as tool_name,
        external_tools.domain as tool_domain,
        cells.week_in_term,
        cells.week_start_local_date,
        {{ cd2_suppress('cells.n_launching_students', 'cells.n_launching_students') }}
            as n_students,
        {{ cd2_suppress('cells.n_launching_students', 'cells.n_launches') }} as n_launches,
        {{ cd2_is_suppressed('cells.n_launching_students') }} as is_suppressed,
        as_of.as_of_ts as data_as_of
    from cells
    left join external_tools
        on cells.external_tool_id = external_tools.context_external_tool_id
    cross join as_of

)

select * from final
