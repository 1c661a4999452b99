{#- Per course and week of submission (M14): how fast teachers grade; small cells hidden. -#}
with

submissions as (

    select * from {{ ref('fct_submission') }}

),

submission_comments as (

    select * from {{ ref('stg_canvas__submission_comments') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

feedback as (

    -- visible comments by someone other than the student (teacher, TA, peer)
    select distinct submission_comments.submission_id
    from submission_comments
    inner join submissions
        on submission_comments.submission_id = submissions.submission_id
    left join user_keys as authors
        on submission_comments.author_id = authors.user_id
    where
        submission_comments.draft is not true
        and submission_comments.hidden is not true
        and submission_comments.provisional_grade_id is null
        and authors.user_key is distinct from submissions.user_key

),

handed_in as (

    -- teacher-graded work only: quizzes and LTI tools grade themselves
    select
        submissions.*,
        {{ cd2_week_in_term(
            cd2_local_date('submissions.submitted_at'),
            'courses.week1_start_local_date'
        ) }} as week_in_term,
        courses.week1_start_local_date,
        coalesce(submissions.graded_at >= submissions.submitted_at, false) as is_graded_after,
        {{ cd2_microseconds_between('submissions.submitted_at', 'submissions.graded_at') }}
        / 3600000000.0 as hours_to_grade,
        feedback.submission_id is not null as has_feedback,
        -- old enough for the 7-day test to be decided
        submissions.submitted_at <= submissions.data_as_of - interval '7 days' as is_week_old
    from submissions
    inner join courses on submissions.course_id = courses.course_id
    left join feedback on submissions.submission_id = feedback.submission_id
    where
        submissions.submitted_at is not null
        and submissions.submission_type not in ('online_quiz', 'basic_lti_launch')
        -- courses with no start date at all (Default Term without dates) have no term weeks
        and courses.week1_start_local_date is not null

),

per_week as (

    select
        course_id,
        week_in_term,
        {{ cd2_any_value('week1_start_local_date') }} + 7 * (week_in_term - 1)
            as week_start_local_date,
        count(distinct user_key) as n_students,
        count(*) as n_submitted,
        count(*) filter (where is_graded_after) as n_graded,
        {{ cd2_percentile_cont('hours_to_grade', 0.5) }} filter (
            where is_graded_after
        ) as median_hours_to_grade,
        count(*) filter (where is_week_old) as n_submitted_7d_ago,
        count(*) filter (
            where is_week_old and is_graded_after and hours_to_grade <= 168
        ) as n_graded_within_7d,
        count(*) filter (where is_graded_after and has_feedback) as n_graded_with_feedback,
        {{ cd2_any_value('data_as_of') }} as data_as_of
    from handed_in
    group by 1, 2

),

rated as (

    select
        *,
        {{ cd2_ratio('n_graded_within_7d', 'n_submitted_7d_ago') }} as pct_graded_within_7d,
        {{ cd2_ratio('n_graded_with_feedback', 'n_graded') }} as feedback_comment_rate
    from per_week

),

final as (

    select
        course_id,
        week_in_term,
        week_start_local_date,
        {{ cd2_suppress('n_students', 'n_students') }} as n_students,
        {{ cd2_suppress('n_students', 'n_submitted') }} as n_submitted,
        {{ cd2_suppress('n_students', 'n_graded') }} as n_graded,
        {{ cd2_suppress('n_students', 'median_hours_to_grade') }} as median_hours_to_grade,
        {{ cd2_suppress('n_students', 'pct_graded_within_7d') }} as pct_graded_within_7d,
        {{ cd2_suppress('n_students', 'feedback_comment_rate') }} as feedback_comment_rate,
        {{ cd2_is_suppressed('n_students') }} as is_suppressed,
        data_as_of
    from rated

)

select * from final
