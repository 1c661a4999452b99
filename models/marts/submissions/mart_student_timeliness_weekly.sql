{#- Per student, course and week of the due date (M4 weekly): past-due work that counts. -#}
with

submissions as (

    select * from {{ ref('fct_submission') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

due_work as (

    select
        submissions.*,
        {{ cd2_week_in_term(
            cd2_local_date('submissions.due_at_effective'),
            'courses.week1_start_local_date'
        ) }} as week_in_term,
        courses.week1_start_local_date
    from submissions
    inner join courses on submissions.course_id = courses.course_id
    where
        submissions.counts_for_timeliness
        and submissions.is_past_due
        -- courses with no start date at all (Default Term without dates) have no term weeks
        and courses.week1_start_local_date is not null

),

counted as (

    select
        user_key,
        course_id,
        week_in_term,
        {{ cd2_any_value('week1_start_local_date') }} + 7 * (week_in_term - 1)
            as week_start_local_date,
        count(*) as n_assigned_due,
        count(*) filter (where is_submitted) as n_submitted,
        count(*) filter (where timeliness_status = 'on_time') as n_on_time,
        count(*) filter (where timeliness_status = 'late') as n_late,
        count(*) filter (where timeliness_status = 'missing') as n_missing,
        count(*) filter (where timeliness_status = 'excused') as n_excused,
        count(*) filter (where timeliness_status = 'custom') as n_custom,
        avg(hours_before_due) as avg_hours_before_due,
        avg(score_pct) filter (where is_posted) as avg_score_pct,
        {{ cd2_any_value('data_as_of') }} as data_as_of
    from due_work
    group by 1, 2, 3

),

final as (

    select
        user_key,
        course_id,
        week_in_term,
        week_start_local_date,
        n_assigned_due,
        n_submitted,
        n_on_time,
        n_late,
        n_missing,
        n_excused,
        n_custom,
        {{ cd2_ratio('n_on_time', 'n_assigned_due - n_excused') }} as pct_on_time,
        avg_hours_before_due,
        avg_score_pct,
        data_as_of
    from counted

)

select * from final
