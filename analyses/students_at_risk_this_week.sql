-- Students at medium or high risk in the current week of their course, most flags first.
-- Compile with `dbt compile --select students_at_risk_this_week` and run the SQL in
-- target/compiled/. Names: join user_key to pii.pii_users (restricted) only if you may.
with

risk as (

    select * from {{ ref('mart_student_risk_weekly') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

current_weeks as (

    select * from {{ ref('int_courses__current_weeks') }}

),

this_week as (

    select risk.*
    from risk
    inner join current_weeks
        on
            risk.course_id = current_weeks.course_id
            and risk.week_in_term = current_weeks.week_in_term
    where risk.risk_level in ('high', 'medium')

),

final as (

    select
        courses.course_code,
        this_week.user_key,
        this_week.risk_level,
        this_week.risk_points,
        this_week.effective_score,
        this_week.score_change_7d,
        this_week.n_missing,
        this_week.days_since_last_activity,
        this_week.page_views_z
    from this_week
    inner join courses on this_week.course_id = courses.course_id

)

select * from final
order by 4 desc, 1 asc, 2 asc
