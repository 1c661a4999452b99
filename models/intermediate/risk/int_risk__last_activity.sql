{#-
    M9 inactivity signal: mart_last_activity at the course level. A student in two sections has
    one row per enrollment with the same course-level activity: the latest activity, the fewest
    days since, and no activity only if no enrollment has any.
-#}
with

last_activity as (

    select * from {{ ref('mart_last_activity') }}

),

final as (

    select
        user_key,
        course_id,
        max(last_activity_ts) as last_activity_ts,
        min(days_since_last_activity) as days_since_last_activity,
        bool_and(has_no_activity) as has_no_activity
    from last_activity
    group by 1, 2

)

select * from final
