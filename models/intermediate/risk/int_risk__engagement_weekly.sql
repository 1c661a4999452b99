{#-
    M9 engagement signal: per student of int_risk__students_weekly, web activity of the week so
    far (from the first local day of the week to as_of_local_date) and the z-score of its page
    views among the course's active students (population sd; none when the course has fewer
    than two students or no spread).
-#}
with

students_weekly as (

    select * from {{ ref('int_risk__students_weekly') }}

),

web_activity_daily as (

    select * from {{ ref('fct_web_activity_daily') }}

),

week_activity as (

    select
        students_weekly.user_key,
        students_weekly.course_id,
        sum(web_activity_daily.n_page_views) as n_page_views_week,
        sum(web_activity_daily.n_participations) as n_participations_week
    from students_weekly
    inner join web_activity_daily
        on
            students_weekly.user_key = web_activity_daily.user_key
            and students_weekly.course_id = web_activity_daily.course_id
            and web_activity_daily.activity_date
            between students_weekly.week_start_local_date and students_weekly.as_of_local_date
    group by 1, 2

),

student_activity as (

    -- every student of the week, no requests = 0
    select
        students_weekly.user_key,
        students_weekly.course_id,
        coalesce(week_activity.n_page_views_week, 0) as n_page_views_week,
        coalesce(week_activity.n_participations_week, 0) as n_participations_week
    from students_weekly
    left join week_activity
        on
            students_weekly.user_key = week_activity.user_key
            and students_weekly.course_id = week_activity.course_id

),

course_engagement as (

    select
        course_id,
        count(*) as n_students,
        avg(n_page_views_week) as mean_page_views,
        stddev_pop(n_page_views_week) as sd_page_views
    from student_activity
    group by 1

),

final as (

    select
        student_activity.user_key,
        student_activity.course_id,
        student_activity.n_page_views_week,
        student_activity.n_participations_week,
        {{ cd2_z_score(
            'student_activity.n_page_views_week',
            'course_engagement.mean_page_views',
            'course_engagement.sd_page_views',
            'course_engagement.n_students'
        ) }} as page_views_z
    from student_activity
    inner join course_engagement
        on student_activity.course_id = course_engagement.course_id

)

select * from final
