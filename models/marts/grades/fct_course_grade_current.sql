{#- M2: current course grade per student enrollment (instructor-facing: unposted scores kept). -#}
with

enrollment_status as (

    select * from {{ ref('fct_enrollment_status') }}

),

scores as (

    select * from {{ ref('stg_canvas__scores') }}

),

course_scores as (

    -- T10: course totals only. Canvas sets course_score when neither a grading period nor an
    -- assignment group is set; both are also checked, defensively. Canvas keeps one course
    -- score per enrollment; the latest update wins should a copy appear.
    select
        enrollment_id,
        current_score,
        final_score,
        unposted_current_score,
        unposted_final_score,
        override_score,
        updated_at as score_updated_at
    from scores
    where
        course_score
        and workflow_state = 'active'
        and assignment_group_id is null
        and grading_period_id is null
    qualify row_number() over (
        partition by enrollment_id
        order by updated_at desc nulls last, score_id desc
    ) = 1

),

student_enrollments as (

    select
        enrollment_id,
        user_key,
        course_id,
        course_section_id,
        effective_status,
        data_as_of
    from enrollment_status
    where
        is_student
        and effective_status <> 'pending'

),

graded as (

    select
        student_enrollments.enrollment_id,
        student_enrollments.user_key,
        student_enrollments.course_id,
        student_enrollments.course_section_id,
        course_scores.current_score,
        course_scores.final_score,
        course_scores.unposted_current_score,
        course_scores.unposted_final_score,
        course_scores.override_score,
        coalesce(course_scores.override_score, course_scores.current_score) as effective_score,
        course_scores.score_updated_at,
        student_enrollments.effective_status,
        student_enrollments.data_as_of,
        {{ cd2_status_rank('student_enrollments.effective_status', 'grade_row_order') }}
            as status_rank
    from student_enrollments
    inner join course_scores
        on student_enrollments.enrollment_id = course_scores.enrollment_id

),

ranked as (

    -- T5: a student in two sections of one course has two score rows; course-level marts use
    -- one: best status, then the latest score update, then the lowest enrollment id.
    select
        *,
        row_number() over (
            partition by user_key, course_id
            order by status_rank asc, score_updated_at desc nulls last, enrollment_id asc
        ) = 1 as is_primary_in_course
    from graded

),

course_population as (

    -- course_z population: active students (one row each) with a score.
    select
        course_id,
        count(*) as n_scored,
        avg(effective_score) as mean_score,
        stddev_pop(effective_score) as sd_score
    from ranked
    where
        is_primary_in_course
        and effective_status = 'active'
        and effective_score is not null
    group by 1

),

final as (

    select
        ranked.enrollment_id,
        ranked.user_key,
        ranked.course_id,
        ranked.course_section_id,
        ranked.current_score,
        ranked.final_score,
        ranked.unposted_current_score,
        ranked.unposted_final_score,
        ranked.override_score,
        ranked.effective_score,
        case
            when course_population.n_scored >= 2 and course_population.sd_score > 0
                then
                    (ranked.effective_score - course_population.mean_score)
                    / course_population.sd_score
        end as course_z,
        ranked.is_primary_in_course,
        ranked.score_updated_at,
        ranked.effective_status,
        ranked.data_as_of
    from ranked
    left join course_population
        on ranked.course_id = course_population.course_id

)

select * from final
