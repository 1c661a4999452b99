{#-
    M9: weekly early-alert composite per active student and course. Each run computes the rows of
    the current week of every course (week_in_term of as_of_local_date) and replaces that course
    week's earlier rows (delete+insert on course_id + week_in_term); earlier weeks are kept, so
    the table records what was known during each week (CD2 itself has no history).
    full_refresh = false: `dbt build --full-refresh` does not rebuild (and so does not wipe) the
    history; dropping the table by hand is the only way to reset it.
-#}
{{ config(**cd2_history_config(['course_id', 'week_in_term'])) }}

with

students_weekly as (

    select * from {{ ref('int_risk__students_weekly') }}

),

grades_weekly as (

    select * from {{ ref('int_risk__grades_weekly') }}

),

student_timeliness as (

    select * from {{ ref('mart_student_timeliness') }}

),

engagement_weekly as (

    select * from {{ ref('int_risk__engagement_weekly') }}

),

last_activity as (

    select * from {{ ref('int_risk__last_activity') }}

),

scored as (

    -- one signal model each: population, grades, timeliness, engagement, inactivity
    select
        students_weekly.user_key,
        students_weekly.course_id,
        students_weekly.week_in_term,
        students_weekly.term_id,
        students_weekly.week_start_local_date,
        grades_weekly.effective_score,
        grades_weekly.effective_score_7d_ago,
        grades_weekly.score_change_7d,
        coalesce(student_timeliness.n_missing, 0) as n_missing,
        coalesce(student_timeliness.n_late, 0) as n_late,
        engagement_weekly.n_page_views_week,
        engagement_weekly.n_participations_week,
        last_activity.last_activity_ts,
        last_activity.days_since_last_activity,
        last_activity.has_no_activity,
        students_weekly.as_of_ts,
        engagement_weekly.page_views_z
    from students_weekly
    left join grades_weekly using (user_key, course_id)
    left join student_timeliness using (user_key, course_id)
    inner join engagement_weekly using (user_key, course_id)
    left join last_activity using (user_key, course_id)
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

pointed as (

    select
        *,
        cast(is_low_score as integer)
        + cast(is_score_dropping as integer)
        + cast(has_missing_work as integer)
        + cast(is_inactive as integer)
        + cast(is_low_engagement as integer) as risk_points
    from flagged

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
        risk_points,
        case
            when risk_points >= 3 then 'high'
            when risk_points = 2 then 'medium'
            when risk_points = 1 then 'low'
            else 'none'
        end as risk_level,
        as_of_ts as data_as_of
    from pointed

)

select * from final
