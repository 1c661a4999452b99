{#-
    One row per live submission of a student (M3) with Canvas's missing/late rules (T9), as of
    the round's now: the rows of fct_submission without its as_of.

    Incremental (cd2 mode): a round recomputes only the submissions something changed for since
    this model's last build (watermark: the highest `_cd2_round_batch_id` it holds):
    * the submission itself, its assignment or its quiz submission came in a newer batch;
    * an external-tool assignment got a changed submission (its New Quizzes flag reads every
      submission's `cached_quiz_lti`);
    * its quiz submission is gone (hard deletes: recomputed while it stays gone);
    * the student x course standing differs from the one stored (new, gone, or another effective
      status: that status reads now, so a course that ends concludes its students);
    * now crossed the due date + grace either way (`is_past_due` would change).
    Rows that no longer exist (soft or hard deleted, their assignment deleted, the student pending
    or gone, a test user) are emitted once more flagged `_cd2_stale`; delete+insert replaces them
    and the post-hook deletes them. Changing cd2_timeliness_include_offline_types or the
    pseudonym secret needs `--full-refresh`.
-#}
{#- dap_syncdb mode and Spark: rebuilt whole. -#}
{{ config(**cd2_event_fact_config('submission_id')) }}

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
{%- if is_incremental() %}

loaded as (

    select * from {{ this }}

),

watermark as (

    select coalesce(max(_cd2_round_batch_id), -1) as round_batch_id
    from loaded

),

new_batches as (

    select
        submission_id,
        assignment_id
    from submissions
    where _batch_id > (select watermark.round_batch_id from watermark)

),

-- student x course standings that differ from the ones stored (new, gone or another status)
current_standings as (

    select
        user_id,
        course_id,
        effective_status
    from student_courses
    where effective_status <> 'pending'

),

loaded_standings as (

    select distinct
        user_id,
        course_id,
        student_enrollment_status
    from loaded

),

changed_standings as (

    select
        coalesce(current_standings.user_id, loaded_standings.user_id) as user_id,
        coalesce(current_standings.course_id, loaded_standings.course_id) as course_id
    from current_standings
    full outer join loaded_standings
        on
            current_standings.user_id = loaded_standings.user_id
            and current_standings.course_id = loaded_standings.course_id
    where current_standings.effective_status is distinct from loaded_standings.student_enrollment_status

),

changed_assignments as (

    select assignment_id
    from assignments
    where _batch_id > (select watermark.round_batch_id from watermark)

    union

    -- an external-tool assignment is a New Quiz when any of its submissions says so
    select assignments.assignment_id
    from assignments
    inner join new_batches on assignments.assignment_id = new_batches.assignment_id
    where {{ cd2_array_contains('assignments.submission_types', "'external_tool'") }}

),

changed as (

    select submission_id from new_batches

    union

    select submissions.submission_id
    from submissions
    inner join changed_assignments on submissions.assignment_id = changed_assignments.assignment_id

    union

    select submissions.submission_id
    from submissions
    inner join quiz_submissions on submissions.quiz_submission_id = quiz_submissions.quiz_submission_id
    where quiz_submissions._batch_id > (select watermark.round_batch_id from watermark)

    union

    select submissions.submission_id
    from submissions
    where
        submissions.quiz_submission_id is not null
        and not exists (
            select 1 from quiz_submissions
            where quiz_submissions.quiz_submission_id = submissions.quiz_submission_id
        )

    union

    select submissions.submission_id
    from submissions
    inner join changed_standings
        on
            submissions.user_id = changed_standings.user_id
            and submissions.course_id = changed_standings.course_id

    union

    -- now crossed the due date either way (a superset: the grace is 0 or 1 minute)
    select loaded.submission_id
    from loaded
    cross join as_of
    where
        loaded.is_past_due is distinct from coalesce(loaded.due_at_effective <= as_of.as_of_ts, false)
        or loaded.is_past_due
        is distinct from coalesce(loaded.due_at_effective + interval '1 minute' <= as_of.as_of_ts, false)

),
{%- endif %}

-- the round's mark on every row it (re)computes
round_mark as (

    {{ cd2_round_batch_mark() }}

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

-- the submissions this build (re)computes: all of them, or on incremental runs the changed ones
candidates as (

    select submissions.*
    from submissions
    {%- if is_incremental() %}
    where submissions.submission_id in (select changed.submission_id from changed)
    {%- endif %}

),

kept as (

    select
        candidates.*,
        students.effective_status as student_enrollment_status,
        assignments.points_possible
    from candidates
    inner join students
        on
            candidates.user_id = students.user_id
            and candidates.course_id = students.course_id
    inner join assignments on candidates.assignment_id = assignments.assignment_id
    where
        candidates.workflow_state is distinct from 'deleted'
        and assignments.workflow_state is distinct from 'deleted'
        and candidates.user_id not in (select test_users.user_id from test_users)

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

evaluated as (

    select
        statused.submission_id,
        statused.assignment_id,
        statused.course_id,
        statused.user_id,
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
        (select round_mark.round_batch_id from round_mark) as _cd2_round_batch_id,
        false as _cd2_stale
    from statused
    left join user_keys as students on statused.user_id = students.user_id
    left join user_keys as graders
        on
            statused.grader_id = graders.user_id
            and statused.grader_id > 0

),
{%- if is_incremental() %}

-- rows built before that no longer exist: emitted once more, flagged, for the post-hook
stale as (

    select loaded.* replace (true as _cd2_stale)
    from loaded
    where
        not exists (select 1 from evaluated where evaluated.submission_id = loaded.submission_id)
        and (
            loaded.submission_id in (select changed.submission_id from changed)
            -- hard deletes: the submission or its assignment is gone
            or not exists (select 1 from submissions where submissions.submission_id = loaded.submission_id)
            or not exists (select 1 from assignments where assignments.assignment_id = loaded.assignment_id)
        )

),
{%- endif %}

final as (

    select * from evaluated
    {%- if is_incremental() %}
    union all
    select * from stale
    {%- endif %}

)

select * from final
