{#- Local calendar-day spine over every dated term (earliest term start to latest term end). -#}
{{ config(meta={'cd2_now': 'local_date'}) }}

with

terms as (

    select * from {{ ref('dim_term') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

bounds as (

    select
        min(start_local_date) as first_day,
        max(end_local_date) as last_day
    from terms
    where not is_deleted

),

spine as (

    select {{ cd2_each_day('first_day', 'last_day') }} as date_day
    from bounds
    where first_day is not null and last_day is not null

),

final as (

    select
        spine.date_day,
        cast(extract(year from spine.date_day) as bigint) as calendar_year,
        cast(extract(month from spine.date_day) as bigint) as calendar_month,
        cast(extract(day from spine.date_day) as bigint) as day_of_month,
        cast({{ cd2_iso_weekday('spine.date_day') }} as bigint) as day_of_week,
        {{ cd2_day_name('spine.date_day') }} as day_name,
        cast(date_trunc('week', spine.date_day) as date) as iso_week_start,
        cast({{ cd2_iso_year('spine.date_day') }} as bigint) as iso_year,
        cast(extract(week from spine.date_day) as bigint) as iso_week,
        {{ cd2_iso_weekday('spine.date_day') }} in (6, 7) as is_weekend,
        spine.date_day <= as_of.as_of_local_date as is_past_or_today,
        as_of.as_of_ts as data_as_of
    from spine
    cross join as_of

)

select * from final
