{#- M6: students per grade band and course
    (A >= 90, B >= 80, C >= 70, D >= 60, F < 60, no_grade). -#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

graded_enrollments as (

    select * from {{ ref('int_grades__graded_enrollments') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

bands as (

    select
        band_list.grade_band,
        band_list.band_order,
        band_list.band_min_score
    from (
        values
        ('A', 1, 90.0),
        ('B', 2, 80.0),
        ('C', 3, 70.0),
        ('D', 4, 60.0),
        ('F', 5, null),
        ('no_grade', 6, null)
    ) as band_list (grade_band, band_order, band_min_score)

),

students as (

    select
        course_id,
        term_id,
        user_key,
        case
            when effective_score is null then 'no_grade'
            when effective_score >= 90 then 'A'
            when effective_score >= 80 then 'B'
            when effective_score >= 70 then 'C'
            when effective_score >= 60 then 'D'
            else 'F'
        end as grade_band
    from graded_enrollments

),

course_totals as (

    select
        course_id,
        term_id,
        count(distinct user_key) as n_students
    from students
    group by 1, 2

),

band_counts as (

    select
        course_id,
        grade_band,
        count(distinct user_key) as n_students
    from students
    group by 1, 2

),

final as (

    select
        course_totals.course_id,
        bands.grade_band,
        course_totals.term_id,
        bands.band_order,
        bands.band_min_score,
        {{ cd2_suppress(
            'course_totals.n_students',
            'coalesce(band_counts.n_students, 0)'
        ) }} as n_students,
        {{ cd2_suppress(
            'course_totals.n_students',
            cd2_ratio('coalesce(band_counts.n_students, 0)', 'course_totals.n_students')
        ) }} as pct_of_students,
        {{ cd2_is_suppressed('course_totals.n_students') }} as is_suppressed,
        as_of.as_of_ts as data_as_of
    from course_totals
    cross join bands
    left join band_counts
        on
            course_totals.course_id = band_counts.course_id
            and bands.grade_band = band_counts.grade_band
    cross join as_of

)

select * from final
