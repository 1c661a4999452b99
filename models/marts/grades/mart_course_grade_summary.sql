{#- M6 course summary: students, graded students, mean and median score, share below the DFW
    threshold. -#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

graded_enrollments as (

    select * from {{ ref('int_grades__graded_enrollments') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

course_totals as (

    select
        course_id,
        term_id,
        count(distinct user_key) as n_students,
        count(effective_score) as n_graded,
        avg(effective_score) as mean_score,
        {{ cd2_percentile_cont('effective_score', 0.5) }} as median_score,
        {{ cd2_ratio(
            'count(case when effective_score < ' ~ var('cd2_grade_dfw_threshold') ~ ' then 1 end)',
            'nullif(count(effective_score), 0)'
        ) }} as pct_below_threshold
    from graded_enrollments
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
