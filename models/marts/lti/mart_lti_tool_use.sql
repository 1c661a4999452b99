{#-
    LTI tool use per course, tool, placement and week of the course (issue 30; after Unizin's
    mart_general.lti_tool, aggregated: DECISIONLOG "LTI tool use mart"). Launches and launching
    people by role from int_lti__launches; course size as Unizin's num_students (student or
    observer enrollments still enrolled). Student-derived numbers are hidden in cells behind
    fewer than cd2_min_cell_size launching students; teachers' numbers are not student data.
-#}
with

launches as (

    select * from {{ ref('int_lti__launches') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

external_tools as (

    select * from {{ ref('stg_canvas__context_external_tools') }}

),

enrollments as (

    select * from {{ ref('int_enrollment__effective_enrollments') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

-- Unizin num_students: Student or Observer enrollments not dropped, withdrawn or not enrolled
-- (here: not deleted/rejected, not pending, not inactive), each person counted once per course
course_sizes as (

    select
        course_id,
        count(distinct user_id) as n_course_students
    from enrollments
    where
        (is_student or is_observer)
        and {{ cd2_status_in('effective_status', 'enrolled') }}
    group by 1

),

weekly_launches as (

    select
        launches.course_id,
        courses.term_id,
        courses.account_id,
        launches.external_tool_id,
        launches.placement,
        {{ cd2_week_in_term('launches.activity_date', 'courses.week1_start_local_date') }}
            as week_in_term,
        courses.week1_start_local_date,
        launches.user_id,
        launches.launcher_role
    from launches
    -- dim_course leaves out deleted courses
    inner join courses
        on launches.course_id = courses.course_id

),

cells as (

    select
        course_id,
        term_id,
        account_id,
        external_tool_id,
        placement,
        week_in_term,
        {{ cd2_any_value('week1_start_local_date') }} + 7 * (week_in_term - 1)
            as week_start_local_date,
        count(*) as n_launches,
        count(distinct case when launcher_role = 'student' then user_id end)
            as n_launching_students,
        sum(case when launcher_role = 'student' then 1 else 0 end) as n_student_launches,
        count(distinct case when launcher_role = 'teacher' then user_id end)
            as n_launching_teachers,
        sum(case when launcher_role = 'teacher' then 1 else 0 end) as n_teacher_launches
    from weekly_launches
    group by 1, 2, 3, 4, 5, 6

),

final as (

    select
        cells.course_id,
        cells.term_id,
        cells.account_id,
        cells.external_tool_id,
        external_tools.name as tool_name,
        external_tools.domain as tool_domain,
        external_tools.context_type as tool_context_type,
        cells.placement,
        cells.week_in_term,
        cells.week_start_local_date,
        {{ cd2_suppress('course_sizes.n_course_students', 'course_sizes.n_course_students') }}
            as n_course_students,
        {{ cd2_suppress('cells.n_launching_students', 'cells.n_launches') }} as n_launches,
        {{ cd2_suppress('cells.n_launching_students', 'cells.n_launching_students') }}
            as n_launching_students,
        {{ cd2_suppress('cells.n_launching_students', 'cells.n_student_launches') }}
            as n_student_launches,
        cells.n_launching_teachers,
        cells.n_teacher_launches,
        {{ cd2_is_suppressed('cells.n_launching_students') }} as is_suppressed,
        as_of.as_of_ts as data_as_of
    from cells
    left join external_tools
        on cells.external_tool_id = external_tools.context_external_tool_id
    left join course_sizes
        on cells.course_id = course_sizes.course_id
    cross join as_of

)

select * from final
