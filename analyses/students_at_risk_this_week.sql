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

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

this_week as (

    select risk.*
    from risk
    inner join courses on risk.course_id = courses.course_id
    cross join as_of
    where
        risk.week_in_term = {{
            cd2_week_in_term('as_of.as_of_local_date', 'courses.week1_start_local_date')
        }}
        and risk.risk_level in ('high', 'medium')

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
