{#- Per student and course (M4): timeliness of past-due work that counts (Unizin rule). -#}
with

submissions as (

    select * from {{ ref('fct_submission') }}

),

counted as (

    select
        user_key,
        course_id,
        count(*) filter (where counts_for_timeliness and is_past_due) as n_assigned_due,
        count(*) filter (
            where counts_for_timeliness and is_past_due and is_submitted
        ) as n_submitted,
        count(*) filter (
            where counts_for_timeliness and is_past_due and timeliness_status = 'on_time'
        ) as n_on_time,
        count(*) filter (
            where counts_for_timeliness and is_past_due and timeliness_status = 'late'
        ) as n_late,
        count(*) filter (
            where counts_for_timeliness and is_past_due and timeliness_status = 'missing'
        ) as n_missing,
        count(*) filter (
            where counts_for_timeliness and is_past_due and timeliness_status = 'excused'
        ) as n_excused,
        count(*) filter (
            where counts_for_timeliness and is_past_due and timeliness_status = 'custom'
        ) as n_custom,
        avg(hours_before_due) filter (
            where counts_for_timeliness and is_past_due
        ) as avg_hours_before_due,
        avg(score_pct) filter (
            where counts_for_timeliness and is_past_due and is_posted
        ) as avg_score_pct,
        {{ cd2_any_value('data_as_of') }} as data_as_of
    from submissions
    group by 1, 2

),

final as (

    select
        user_key,
        course_id,
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
