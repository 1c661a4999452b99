{#- One row per live submission of a student (M3): Canvas's missing/late rules (T9). -#}
with

submissions as (

    select * from {{ ref('stg_canvas__submissions') }}

),

assignments as (

    select * from {{ ref('stg_canvas__assignments') }}

),

assignment_rules as (

    select * from {{ ref('int_submissions__assignment_rules') }}

),

quiz_submissions as (

    select * from {{ ref('stg_canvas__quiz_submissions') }}

),

student_courses as (

    select * from {{ ref('int_enrollment__student_courses') }}

),

test_users as (

    select * from {{ ref('int_core__test_users') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

students as (

    -- students of the course who accepted (invited / creation_pending only: left out)
    select
        user_id,
        course_id,
        effective_status
    from student_courses
    where effective_status <> 'pending'

),

kept as (

    select
        submissions.*,
        students.effective_status as student_enrollment_status,
        assignments.points_possible
    from submissions
    inner join students
        on
            submissions.user_id = students.user_id
            and submissions.course_id = students.course_id
    inner join assignments on submissions.assignment_id = assignments.assignment_id
    where
        submissions.workflow_state is distinct from 'deleted'
        and assignments.workflow_state is distinct from 'deleted'
        and submissions.user_id not in (select test_users.user_id from test_users)

),

joined as (

    select
        kept.*,
        assignment_rules.is_quiz,
        assignment_rules.expects_digital_submission,
        assignment_rules.counts_for_timeliness,
        quiz_submissions.workflow_state as quiz_submission_state,
        as_of.as_of_ts,
        -- Canvas gives classic quizzes one extra minute (missing: by the assignment's type,
        -- late: by the submission's type)
        case
            when assignment_rules.is_quiz then interval '1 minute' else interval '0 minutes'
        end as missing_grace,
        case
            when kept.submission_type = 'online_quiz' then interval '1 minute'
            else interval '0 minutes'
        end as late_grace
    from kept
    left join assignment_rules on kept.assignment_id = assignment_rules.assignment_id
    left join quiz_submissions
        on kept.quiz_submission_id = quiz_submissions.quiz_submission_id
    cross join as_of

),

prepared as (

    select
        *,
        coalesce(excused, false) as is_excused,
        submission_type is not null as is_submitted,
        cached_due_date is not null
        and as_of_ts >= cached_due_date + missing_grace as is_past_due
    from joined

),

flagged as (

    select
        *,
        -- canvas-lms Submission.missing
        coalesce(
            not is_excused
            and custom_grade_status_id is null
            and late_policy_status is distinct from 'extended'
            and (
                late_policy_status = 'missing'
                or (
                    is_past_due
                    and submission_type is null
                    and (
                        coalesce(expects_digital_submission, false)
                        or coalesce(cached_quiz_lti, false)
                    )
                    and not (late_policy_status is null and grader_id is not null)
                )
            ),
            false
        ) as is_missing,
        -- canvas-lms Submission.late
        coalesce(
            not is_excused
            and custom_grade_status_id is null
            and (
                late_policy_status = 'late'
                or (
                    late_policy_status is null
                    and submitted_at >= cached_due_date + late_grace
                    and (quiz_submission_id is null or quiz_submission_state = 'complete')
                )
            ),
            false
        ) as is_late,
        -- canvas-lms Submission#graded?
        is_excused or (score is not null and workflow_state = 'graded') as is_graded,
        -- canvas-lms Submission.needs_grading_conditions
        coalesce(
            submission_type is not null
            and not is_excused
            and (
                workflow_state = 'pending_review'
                or (
                    workflow_state in ('submitted', 'graded')
                    and (score is null or grade_matches_current_submission = false)
                )
            ),
            false
        ) as needs_grading
    from prepared

),

statused as (

    select
        *,
        case
            when is_excused then 'excused'
            when custom_grade_status_id is not null then 'custom'
            when late_policy_status = 'extended' then 'extended'
            when is_missing then 'missing'
            when is_late then 'late'
            when is_submitted then 'on_time'
            when cached_due_date is null then 'floating'
            when not is_past_due then 'not_yet_due'
            else 'floating'
        end as timeliness_status
    from flagged

),

final as (

    select
        statused.submission_id,
        statused.assignment_id,
        statused.course_id,
        students.user_key,
        graders.user_key as grader_key,
        statused.student_enrollment_status,
        statused.workflow_state,
        statused.submission_type,
        statused.submitted_at,
        statused.cached_due_date as due_at_effective,
        statused.graded_at,
        statused.posted_at,
        statused.posted_at is not null as is_posted,
        statused.score,
        statused.points_possible,
        statused.score / nullif(statused.points_possible, 0) as score_pct,
        statused.excused,
        statused.late_policy_status,
        case
            when statused.submitted_at is null then null
            when statused.seconds_late_override is not null then statused.seconds_late_override
            when statused.cached_due_date is not null
                then greatest(
                    0,
                    {{ cd2_integer_divide(
                        cd2_microseconds_between('statused.cached_due_date', 'statused.submitted_at'),
                        1000000
                    ) }}
                )
        end as seconds_late,
        {{ cd2_microseconds_between('statused.submitted_at', 'statused.cached_due_date') }}
        / 3600000000.0 as hours_before_due,
        statused.is_submitted,
        statused.is_past_due,
        statused.is_graded,
        statused.needs_grading,
        statused.is_missing,
        statused.is_late,
        statused.timeliness_status = 'on_time' as is_on_time,
        statused.is_excused,
        statused.timeliness_status,
        coalesce(statused.counts_for_timeliness, false) as counts_for_timeliness,
        statused.group_id,
        statused.group_id is not null as is_group_submission,
        statused.attempt,
        statused.custom_grade_status_id,
        statused.custom_grade_status_id is not null as has_custom_grade_status,
        statused.as_of_ts as data_as_of
    from statused
    left join user_keys as students on statused.user_id = students.user_id
    left join user_keys as graders
        on
            statused.grader_id = graders.user_id
            and statused.grader_id > 0

)

select * from final
