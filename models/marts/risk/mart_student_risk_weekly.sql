{#-
    M9: weekly early-alert composite per active student and course. Each run computes the rows of
    the current week of every course (week_in_term of as_of_local_date) and replaces that course
    week's earlier rows (delete+insert on course_id + week_in_term); earlier weeks are kept, so
    the table records what was known during each week (CD2 itself has no history).
    full_refresh = false: `dbt build --full-refresh` does not rebuild (and so does not wipe) the
    history; dropping the table by hand is the only way to reset it.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['course_id', 'week_in_term'],
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}

with

student_courses as (

    select * from {{ ref('mart_student_course') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

course_grade_current as (

    select * from {{ ref('fct_course_grade_current') }}

),

course_grade_daily as (

    select * from {{ ref('fct_course_grade_daily') }}

),

student_timeliness as (

    select * from {{ ref('mart_student_timeliness') }}

),

web_activity_daily as (

    select * from {{ ref('fct_web_activity_daily') }}

),

last_activity as (

    select * from {{ ref('mart_last_activity') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

course_weeks as (

    -- the current week of every course that has a week 1 and is not deleted
    select
        courses.course_id,
        courses.week1_start_local_date,
        {{ cd2_week_in_term('as_of.as_of_local_date', 'courses.week1_start_local_date') }}
            as week_in_term,
        courses.week1_start_local_date + 7 * (week_in_term - 1) as week_start_local_date,
        as_of.as_of_local_date,
        as_of.as_of_ts
    from courses
    cross join as_of
    where
        not coalesce(courses.is_deleted, false)
        and courses.week1_start_local_date is not null

),

active_students as (

    -- one row per student active in the course (best status of their enrollments), from week 1 on
    select
        student_courses.user_key,
        student_courses.course_id,
        student_courses.term_id,
        course_weeks.week_in_term,
        course_weeks.week_start_local_date,
        course_weeks.as_of_local_date,
        course_weeks.as_of_ts
    from student_courses
    inner join course_weeks
        on student_courses.course_id = course_weeks.course_id
    where
        student_courses.effective_status = 'active'
        and student_courses.user_key is not null
        and course_weeks.week_in_term >= 1

),

current_grades as (

    -- T5: the course-level row of the grades marts (is_primary_in_course)
    select
        user_key,
        course_id,
        enrollment_id,
        effective_score
    from course_grade_current
    where is_primary_in_course

),

grades_week_ago as (

    -- the same enrollment's daily snapshot of seven local days earlier
    select
        course_grade_daily.enrollment_id,
        course_grade_daily.effective_score
    from course_grade_daily
    cross join as_of
    where course_grade_daily.snapshot_date = as_of.as_of_local_date - 7

),

week_activity as (

    -- web activity from the first day of the week to today (the week so far)
    select
        active_students.user_key,
        active_students.course_id,
        sum(web_activity_daily.n_page_views) as n_page_views_week,
        sum(web_activity_daily.n_participations) as n_participations_week
    from active_students
    inner join web_activity_daily
        on
            active_students.user_key = web_activity_daily.user_key
            and active_students.course_id = web_activity_daily.course_id
            and web_activity_daily.activity_date
            between active_students.week_start_local_date and active_students.as_of_local_date
    group by 1, 2

),

course_activity as (

    -- a student in two sections has one row per enrollment with the same course-level activity
    select
        user_key,
        course_id,
        max(last_activity_ts) as last_activity_ts,
        min(days_since_last_activity) as days_since_last_activity,
        bool_and(has_no_activity) as has_no_activity
    from last_activity
    group by 1, 2

),

components as (

    select
        active_students.user_key,
        active_students.course_id,
        active_students.week_in_term,
        active_students.term_id,
        active_students.week_start_local_date,
        current_grades.effective_score,
        grades_week_ago.effective_score as effective_score_7d_ago,
        current_grades.effective_score - grades_week_ago.effective_score as score_change_7d,
        coalesce(student_timeliness.n_missing, 0) as n_missing,
        coalesce(student_timeliness.n_late, 0) as n_late,
        coalesce(week_activity.n_page_views_week, 0) as n_page_views_week,
        coalesce(week_activity.n_participations_week, 0) as n_participations_week,
        course_activity.last_activity_ts,
        course_activity.days_since_last_activity,
        course_activity.has_no_activity,
        active_students.as_of_ts
    from active_students
    left join current_grades
        on
            active_students.user_key = current_grades.user_key
            and active_students.course_id = current_grades.course_id
    left join grades_week_ago
        on current_grades.enrollment_id = grades_week_ago.enrollment_id
    left join student_timeliness
        on
            active_students.user_key = student_timeliness.user_key
            and active_students.course_id = student_timeliness.course_id
    left join week_activity
        on
            active_students.user_key = week_activity.user_key
            and active_students.course_id = week_activity.course_id
    left join course_activity
        on
            active_students.user_key = course_activity.user_key
            and active_students.course_id = course_activity.course_id

),

course_engagement as (

    -- page views of the course's active students in the same week: population mean and sd
    select
        course_id,
        count(*) as n_students,
        avg(n_page_views_week) as mean_page_views,
        stddev_pop(n_page_views_week) as sd_page_views
    from components
    group by 1

),

scored as (

    select
        components.*,
        case
            when course_engagement.n_students >= 2 and course_engagement.sd_page_views > 0
                then
                    (components.n_page_views_week - course_engagement.mean_page_views)
                    / course_engagement.sd_page_views
        end as page_views_z
    from components
    inner join course_engagement
        on components.course_id = course_engagement.course_id

),

flagged as (

    -- a null input leaves its flag false
    select
        scored.*,
        coalesce(
            scored.effective_score < {{ var('cd2_risk_score_below', 70) }}, false
        ) as is_low_score,
        coalesce(
            scored.score_change_7d <= -{{ var('cd2_risk_score_drop_points', 10) }}, false
        ) as is_score_dropping,
        coalesce(
            scored.n_missing >= {{ var('cd2_risk_missing_at_least', 2) }}, false
        ) as has_missing_work,
        coalesce(
            scored.has_no_activity
            or scored.days_since_last_activity >= {{ var('cd2_risk_inactive_days', 7) }},
            false
        ) as is_inactive,
        coalesce(
            scored.page_views_z < {{ var('cd2_risk_page_views_z_below', -1.0) }}, false
        ) as is_low_engagement
    from scored

),

final as (

    select
        user_key,
        course_id,
        week_in_term,
        term_id,
        week_start_local_date,
        effective_score,
        effective_score_7d_ago,
        score_change_7d,
        n_missing,
        n_late,
        n_page_views_week,
        n_participations_week,
        page_views_z,
        last_activity_ts,
        days_since_last_activity,
        has_no_activity,
        is_low_score,
        is_score_dropping,
        has_missing_work,
        is_inactive,
        is_low_engagement,
        cast(is_low_score as integer)
        + cast(is_score_dropping as integer)
        + cast(has_missing_work as integer)
        + cast(is_inactive as integer)
        + cast(is_low_engagement as integer) as risk_points,
        case
            when risk_points >= 3 then 'high'
            when risk_points = 2 then 'medium'
            when risk_points = 1 then 'low'
            else 'none'
        end as risk_level,
        as_of_ts as data_as_of
    from flagged

)

select * from final
