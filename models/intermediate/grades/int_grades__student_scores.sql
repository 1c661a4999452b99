{#-
    The grade base (T10): the active Canvas score rows of student enrollments that are not
    pending, one per enrollment and kind: the course total (`course_score`, no assignment group,
    no grading period) and each assignment group's score. Canvas keeps one of each; the latest
    update wins should a copy appear. Instructor-facing: unposted scores are kept.
-#}
with

enrollments as (

    select * from {{ ref('int_enrollment__effective_enrollments') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

scores as (

    select * from {{ ref('stg_canvas__scores') }}

),

ranked_scores as (

    -- course totals: Canvas sets course_score when neither a grading period nor an assignment
    -- group is set; both are also checked, defensively. Group rows: course_score false.
    select
        enrollment_id,
        assignment_group_id,
        course_score as is_course_score,
        current_score,
        final_score,
        unposted_current_score,
        unposted_final_score,
        override_score,
        updated_at as score_updated_at,
        row_number() over (
            partition by enrollment_id, course_score, assignment_group_id
            order by updated_at desc nulls last, score_id desc
        ) as rank_of_score
    from scores
    where
        workflow_state = 'active'
        and (
            (course_score and assignment_group_id is null and grading_period_id is null)
            or (not course_score and assignment_group_id is not null)
        )

),

kept_scores as (

    select
        enrollment_id,
        assignment_group_id,
        is_course_score,
        current_score,
        final_score,
        unposted_current_score,
        unposted_final_score,
        override_score,
        score_updated_at
    from ranked_scores
    where rank_of_score = 1

),

student_enrollments as (

    select
        enrollments.enrollment_id,
        user_keys.user_key,
        enrollments.course_id,
        enrollments.course_section_id,
        enrollments.effective_status,
        enrollments.data_as_of
    from enrollments
    left join user_keys on enrollments.user_id = user_keys.user_id
    where
        enrollments.is_student
        and enrollments.effective_status <> 'pending'

),

final as (

    select
        student_enrollments.enrollment_id,
        kept_scores.assignment_group_id,
        kept_scores.is_course_score,
        student_enrollments.user_key,
        student_enrollments.course_id,
        student_enrollments.course_section_id,
        kept_scores.current_score,
        kept_scores.final_score,
        kept_scores.unposted_current_score,
        kept_scores.unposted_final_score,
        kept_scores.override_score,
        kept_scores.score_updated_at,
        student_enrollments.effective_status,
        student_enrollments.data_as_of
    from student_enrollments
    inner join kept_scores
        on student_enrollments.enrollment_id = kept_scores.enrollment_id

)

select * from final
