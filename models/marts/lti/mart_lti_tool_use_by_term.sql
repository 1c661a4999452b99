{#-
    Per tool and term: how widely an LTI tool is used (issue 30): courses and accounts it was
    launched in, launches and launching people by role, from int_lti__launches. Student-derived
    numbers are hidden when fewer than cd2_min_cell_size students launched the tool that term.
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

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

term_launches as (

    select
        launches.external_tool_id,
        courses.term_id,
        courses.account_id,
        launches.course_id,
        launches.placement,
        launches.user_id,
        launches.launcher_role
    from launches
    -- dim_course leaves out deleted courses
    inner join courses
        on launches.course_id = courses.course_id

),

tool_terms as (

    select
        external_tool_id,
        term_id,
        count(distinct course_id) as n_courses,
        count(distinct account_id) as n_accounts,
        count(distinct placement) as n_placements,
        count(*) as n_launches,
        count(distinct case when launcher_role = 'student' then user_id end)
            as n_launching_students,
        sum(case when launcher_role = 'student' then 1 else 0 end) as n_student_launches,
        count(distinct case when launcher_role = 'teacher' then user_id end)
            as n_launching_teachers,
        sum(case when launcher_role = 'teacher' then 1 else 0 end) as n_teacher_launches
    from term_launches
    group by 1, 2

),

final as (

    select
        tool_terms.external_tool_id,
        external_tools.name as tool_name,
        external_tools.domain as tool_domain,
        external_tools.context_type as tool_context_type,
        tool_terms.term_id,
        tool_terms.n_courses,
        tool_terms.n_accounts,
        tool_terms.n_placements,
        {{ cd2_suppress('tool_terms.n_launching_students', 'tool_terms.n_launches') }}
            as n_launches,
        {{ cd2_suppress('tool_terms.n_launching_students', 'tool_terms.n_launching_students') }}
            as n_launching_students,
        {{ cd2_suppress('tool_terms.n_launching_students', 'tool_terms.n_student_launches') }}
            as n_student_launches,
        tool_terms.n_launching_teachers,
        tool_terms.n_teacher_launches,
        {{ cd2_is_suppressed('tool_terms.n_launching_students') }} as is_suppressed,
        as_of.as_of_ts as data_as_of
    from tool_terms
    left join external_tools
        on tool_terms.external_tool_id = external_tools.context_external_tool_id
    cross join as_of

)

select * from final
