{#-
    M9 grade signal: per student and course, the course-level grade (the is_primary_in_course
    row of fct_course_grade_current, T5) and that enrollment's daily snapshot of exactly seven
    local days before as_of_local_date (fct_course_grade_daily).
-#}
{{ config(meta={'cd2_now': 'local_date'}) }}

with

course_grade_current as (

    select * from {{ ref('fct_course_grade_current') }}

),

course_grade_daily as (

    select * from {{ ref('fct_course_grade_daily') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

current_grades as (

    select
        user_key,
        course_id,
        enrollment_id,
        effective_score
    from course_grade_current
    where is_primary_in_course

),

grades_week_ago as (

    select
        course_grade_daily.enrollment_id,
        course_grade_daily.effective_score
    from course_grade_daily
    cross join as_of
    where course_grade_daily.snapshot_date = as_of.as_of_local_date - 7

),

final as (

    select
        current_grades.user_key,
        current_grades.course_id,
        current_grades.enrollment_id,
        current_grades.effective_score,
        grades_week_ago.effective_score as effective_score_7d_ago,
        current_grades.effective_score - grades_week_ago.effective_score as score_change_7d
    from current_grades
    left join grades_week_ago
        on current_grades.enrollment_id = grades_week_ago.enrollment_id

)

select * from final
