{#-
    M13 funnel: per published module, how many of the course's students started and completed it,
    and the completion drop-off from the previous module. Small cells are suppressed.
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

modules as (

    select * from {{ ref('int_courses__modules') }}

),

module_progress as (

    select * from {{ ref('fct_module_progress') }}

),

student_courses as (

    select * from {{ ref('int_enrollment__student_courses') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

course_students as (

    -- students taking or having taken the course: dropped (inactive), pending and not yet
    -- started students are not part of the funnel
    select
        course_id,
        count(*) as n_students
    from student_courses
    where {{ cd2_status_in('effective_status', 'taking_or_took') }}
    group by 1

),

module_counts as (

    select
        context_module_id,
        count(*) filter (where is_started) as n_started,
        count(*) filter (where is_completed) as n_completed
    from module_progress
    where {{ cd2_status_in('student_status', 'taking_or_took') }}
    group by 1

),

funnel as (

    select
        modules.course_id,
        modules.context_module_id,
        modules.module_position,
        modules.module_rank,
        coalesce(course_students.n_students, 0) as n_students,
        coalesce(module_counts.n_started, 0) as n_started,
        coalesce(module_counts.n_completed, 0) as n_completed,
        {{ cd2_ratio('coalesce(module_counts.n_started, 0)', 'course_students.n_students') }}
            as pct_started,
        {{ cd2_ratio('coalesce(module_counts.n_completed, 0)', 'course_students.n_students') }}
            as pct_completed
    from modules
    left join course_students on modules.course_id = course_students.course_id
    left join module_counts on modules.context_module_id = module_counts.context_module_id

),

with_previous as (

    select
        *,
        lag(pct_completed) over (
            partition by course_id
            order by module_rank asc
        ) - pct_completed as completion_drop_off
    from funnel

),

final as (

    select
        with_previous.course_id,
        with_previous.context_module_id,
        with_previous.module_position,
        with_previous.module_rank,
        {{ cd2_is_suppressed('with_previous.n_students') }} as is_suppressed,
        {{ cd2_suppress('with_previous.n_students', 'with_previous.n_students') }} as n_students,
        {{ cd2_suppress('with_previous.n_students', 'with_previous.n_started') }} as n_started,
        {{ cd2_suppress('with_previous.n_students', 'with_previous.n_completed') }} as n_completed,
        {{ cd2_suppress('with_previous.n_students', 'with_previous.pct_started') }} as pct_started,
        {{ cd2_suppress('with_previous.n_students', 'with_previous.pct_completed') }}
            as pct_completed,
        {{ cd2_suppress('with_previous.n_students', 'with_previous.completion_drop_off') }}
            as completion_drop_off,
        as_of.as_of_ts as data_as_of
    from with_previous
    cross join as_of

)

select * from final
