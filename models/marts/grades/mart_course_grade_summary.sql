{#- M6 course summary: students, graded students, mean and median score, share below the DFW
    threshold. -#}
with

course_grade_current as (

    select * from {{ ref('fct_course_grade_current') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

students as (

    -- Same population as mart_course_grade_distribution.
    select
        course_grade_current.course_id,
        courses.term_id,
        course_grade_current.user_key,
        course_grade_current.effective_score
    from course_grade_current
    inner join courses
        on course_grade_current.course_id = courses.course_id
    where
        course_grade_current.is_primary_in_course
        and {{ cd2_status_in('course_grade_current.effective_status', 'taking_or_took') }}
        and not coalesce(courses.is_deleted, false)
        {%- if var('cd2_exclude_non_teaching_courses') %}
            and not coalesce(courses.is_non_teaching, false)
        {%- endif %}

),

course_totals as (

    select
        course_id,
        term_id,
        count(distinct user_key) as n_students,
        count(effective_score) as n_graded,
        avg(effective_score) as mean_score,
        quantile_cont(effective_score, 0.5) as median_score,
        count(
            case when effective_score < {{ var('cd2_grade_dfw_threshold') }} then 1 end
        ) / nullif(count(effective_score), 0) as pct_below_threshold
    from students
    group by 1, 2

),

final as (

    select
        course_totals.course_id,
        course_totals.term_id,
        {{ cd2_suppress('course_totals.n_students', 'course_totals.n_students') }} as n_students,
        {{ cd2_suppress('course_totals.n_students', 'course_totals.n_graded') }} as n_graded,
        {{ cd2_suppress('course_totals.n_students', 'course_totals.mean_score') }} as mean_score,
        {{ cd2_suppress('course_totals.n_students', 'course_totals.median_score') }}
            as median_score,
        {{ cd2_suppress('course_totals.n_students', 'course_totals.pct_below_threshold') }}
            as pct_below_threshold,
        {{ cd2_is_suppressed('course_totals.n_students') }} as is_suppressed,
        as_of.as_of_ts as data_as_of
    from course_totals
    cross join as_of

)

select * from final
