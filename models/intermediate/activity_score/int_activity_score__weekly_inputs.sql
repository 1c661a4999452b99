{#-
    The three weekly inputs of the Student Activity Score (M16) per student, course and week of
    term, from week 1 to the course's current week (or the week its course or term ended):
    assignments due and submitted (published, with a due date and points possible > 0, not
    excused, due by as_of, placed in the week of the student's due date), minutes active in
    Canvas and web sessions in the course (fct_web_activity_daily), and the same summed from
    week 1. A student with nothing in a week has zeros; no assignment due gives a null ratio.
-#}
{#- A table, not a view: both activity-score marts and four tests read it, and as a view each
    computed it again over every student week of the term (16 + 13 s of a large round for the
    marts, 11 s for the tests). -#}
{{ config(materialized='table') }}

with

student_courses as (

    select * from {{ ref('mart_student_course') }}

),

course_weeks as (

    select * from {{ ref('int_courses__current_weeks') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

terms as (

    select * from {{ ref('dim_term') }}

),

submissions as (

    select * from {{ ref('fct_submission') }}

),

assignment_rules as (

    select * from {{ ref('int_submissions__assignment_rules') }}

),

web_activity as (

    select * from {{ ref('fct_web_activity_daily') }}

),

-- the last day a course's weeks run to: as_of, or the end of the course (else its term) if earlier
course_spans as (

    select
        course_weeks.course_id,
        course_weeks.week1_start_local_date,
        course_weeks.as_of_ts,
        case
            when
                coalesce({{ cd2_local_date('courses.conclude_at') }}, terms.end_local_date)
                < course_weeks.as_of_local_date
                then coalesce({{ cd2_local_date('courses.conclude_at') }}, terms.end_local_date)
            else course_weeks.as_of_local_date
        end as last_local_date
    from course_weeks
    inner join courses
        on course_weeks.course_id = courses.course_id
    left join terms
        on courses.term_id = terms.term_id
    where course_weeks.week_in_term >= 1

),

course_days as (

    select
        course_id,
        week1_start_local_date,
        {{ cd2_each_day('week1_start_local_date', 'last_local_date') }} as local_date
    from course_spans
    where last_local_date >= week1_start_local_date

),

course_week_list as (

    select distinct
        course_id,
        week1_start_local_date,
        {{ cd2_week_in_term('local_date', 'week1_start_local_date') }} as week_in_term
    from course_days

),

-- students who were in the course: active now, or concluded since (not pending or removed)
students as (

    select
        user_key,
        course_id,
        term_id
    from student_courses
    where
        effective_status in ('active', 'soft_concluded', 'completed')
        and user_key is not null

),

due_work as (

    select
        submissions.user_key,
        submissions.course_id,
        {{ cd2_week_in_term(
            cd2_local_date('submissions.due_at_effective'), 'course_spans.week1_start_local_date'
        ) }} as week_in_term,
        count(*) as n_assignments_due,
        sum(case when submissions.is_submitted then 1 else 0 end) as n_submitted
    from submissions
    inner join assignment_rules
        on submissions.assignment_id = assignment_rules.assignment_id
    inner join course_spans
        on submissions.course_id = course_spans.course_id
    where
        assignment_rules.is_published
        and submissions.due_at_effective is not null
        and submissions.due_at_effective <= course_spans.as_of_ts
        and submissions.points_possible > 0
        and not submissions.is_excused
    group by 1, 2, 3

),

week_activity as (

    select
        web_activity.user_key,
        web_activity.course_id,
        {{ cd2_week_in_term('web_activity.activity_date', 'course_spans.week1_start_local_date') }}
            as week_in_term,
        sum(web_activity.active_minutes) as active_minutes,
        sum(web_activity.n_sessions) as n_sessions
    from web_activity
    inner join course_spans
        on web_activity.course_id = course_spans.course_id
    group by 1, 2, 3

),

student_weeks as (

    select
        students.user_key,
        students.course_id,
        students.term_id,
        course_week_list.week_in_term,
        course_week_list.week1_start_local_date
        + 7 * (course_week_list.week_in_term - 1) as week_start_local_date,
        coalesce(due_work.n_assignments_due, 0) as n_assignments_due,
        coalesce(due_work.n_submitted, 0) as n_submitted,
        coalesce(week_activity.active_minutes, 0) as active_minutes,
        coalesce(week_activity.n_sessions, 0) as n_sessions
    from students
    inner join course_week_list
        on students.course_id = course_week_list.course_id
    left join due_work
        on
            students.user_key = due_work.user_key
            and students.course_id = due_work.course_id
            and course_week_list.week_in_term = due_work.week_in_term
    left join week_activity
        on
            students.user_key = week_activity.user_key
            and students.course_id = week_activity.course_id
            and course_week_list.week_in_term = week_activity.week_in_term

),

cumulated as (

    select
        user_key,
        course_id,
        term_id,
        week_in_term,
        week_start_local_date,
        n_assignments_due,
        n_submitted,
        active_minutes,
        n_sessions,
        sum(n_assignments_due) over (
            partition by user_key, course_id order by week_in_term
            rows between unbounded preceding and current row
        ) as n_assignments_due_cumulative,
        sum(n_submitted) over (
            partition by user_key, course_id order by week_in_term
            rows between unbounded preceding and current row
        ) as n_submitted_cumulative,
        sum(active_minutes) over (
            partition by user_key, course_id order by week_in_term
            rows between unbounded preceding and current row
        ) as active_minutes_cumulative,
        sum(n_sessions) over (
            partition by user_key, course_id order by week_in_term
            rows between unbounded preceding and current row
        ) as n_sessions_cumulative
    from student_weeks

),

final as (

    select
        user_key,
        course_id,
        term_id,
        week_in_term,
        week_start_local_date,
        n_assignments_due,
        n_submitted,
        {{ cd2_ratio('n_submitted', 'n_assignments_due') }} as submission_ratio,
        active_minutes,
        n_sessions,
        n_assignments_due_cumulative,
        n_submitted_cumulative,
        {{ cd2_ratio('n_submitted_cumulative', 'n_assignments_due_cumulative') }}
            as submission_ratio_cumulative,
        active_minutes_cumulative,
        n_sessions_cumulative
    from cumulated

)

select * from final
