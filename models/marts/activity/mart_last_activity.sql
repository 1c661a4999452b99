{%- set inactivity_days = var('cd2_inactivity_days', [5, 7, 10, 14]) -%}
with

enrollments as (

    select * from {{ ref('int_enrollment__effective_enrollments') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

student_requests as (

    select * from {{ ref('int_activity__student_requests') }}

),

submissions as (

    select * from {{ ref('stg_canvas__submissions') }}

),

discussion_entries as (

    select * from {{ ref('stg_canvas__discussion_entries') }}

),

discussion_topics as (

    select * from {{ ref('stg_canvas__discussion_topics') }}

),

groups as (

    select * from {{ ref('stg_canvas__groups') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

active_students as (

    select *
    from enrollments
    where is_student and effective_status = 'active'

),

-- every source counts only what happened by as_of_ts ("now"), so a later cd2_as_of is reproducible
web_activity as (

    select
        user_id,
        course_id,
        max(request_ts) as last_web_activity_ts,
        max(request_ts) filter (where is_participation) as last_web_participation_ts
    from student_requests
    where request_ts <= (select as_of.as_of_ts from as_of)
    group by 1, 2

),

submission_activity as (

    select
        user_id,
        course_id,
        max(submitted_at) as last_submission_ts
    from submissions
    where
        not is_deleted
        and submitted_at <= (select as_of.as_of_ts from as_of)
    group by 1, 2

),

topic_courses as (

    select
        discussion_topics.discussion_topic_id,
        case discussion_topics.context_type
            when 'Course' then discussion_topics.context_id
            when 'Group' then groups.context_id
        end as course_id
    from discussion_topics
    left join groups
        on
            discussion_topics.context_type = 'Group'
            and discussion_topics.context_id = groups.group_id
            and groups.context_type = 'Course'
    where not discussion_topics.is_deleted

),

discussion_activity as (

    select
        discussion_entries.user_id,
        topic_courses.course_id,
        max(discussion_entries.created_at) as last_discussion_ts
    from discussion_entries
    inner join topic_courses
        on discussion_entries.discussion_topic_id = topic_courses.discussion_topic_id
    where
        not discussion_entries.is_deleted
        and discussion_entries.created_at <= (select as_of.as_of_ts from as_of)
    group by 1, 2

),

gathered as (

    select
        active_students.enrollment_id,
        active_students.user_id,
        active_students.course_id,
        active_students.course_section_id,
        active_students.term_id,
        web_activity.last_web_activity_ts,
        web_activity.last_web_participation_ts,
        submission_activity.last_submission_ts,
        discussion_activity.last_discussion_ts,
        case
            when active_students.last_activity_at <= as_of.as_of_ts
                then active_students.last_activity_at
        end as canvas_last_activity_at,
        active_students.total_activity_time,
        as_of.as_of_ts
    from active_students
    cross join as_of
    left join web_activity
        on
            active_students.user_id = web_activity.user_id
            and active_students.course_id = web_activity.course_id
    left join submission_activity
        on
            active_students.user_id = submission_activity.user_id
            and active_students.course_id = submission_activity.course_id
    left join discussion_activity
        on
            active_students.user_id = discussion_activity.user_id
            and active_students.course_id = discussion_activity.course_id

),

latest as (

    select
        *,
        greatest(
            last_web_activity_ts,
            last_submission_ts,
            last_discussion_ts,
            canvas_last_activity_at
        ) as last_activity_ts,
        greatest(
            last_web_participation_ts,
            last_submission_ts,
            last_discussion_ts
        ) as last_participation_ts
    from gathered

),

combined as (

    select
        *,
        -- whole days elapsed (24 h periods)
        {{ cd2_integer_divide(
            cd2_microseconds_between('last_activity_ts', 'as_of_ts'), 86400000000
        ) }} as days_since_last_activity
    from latest

),

final as (

    select
        combined.enrollment_id,
        user_keys.user_key,
        combined.course_id,
        combined.course_section_id,
        combined.term_id,
        combined.last_web_activity_ts,
        combined.last_submission_ts,
        combined.last_discussion_ts,
        combined.canvas_last_activity_at,
        combined.total_activity_time,
        combined.last_activity_ts,
        combined.last_participation_ts,
        combined.days_since_last_activity,
        combined.last_activity_ts is null as has_no_activity,
        {%- for days in inactivity_days %}
            coalesce(combined.days_since_last_activity >= {{ days }}, true) as inactive_{{ days }}d,
        {%- endfor %}
        combined.as_of_ts as data_as_of
    from combined
    inner join user_keys
        on combined.user_id = user_keys.user_id

)

select * from final
