{#- M2: current course grade per student enrollment (instructor-facing: unposted scores kept). -#}
with

student_scores as (

    select * from {{ ref('int_grades__student_scores') }}

),

graded as (

    -- the course totals of the grade base (one per student enrollment)
    select
        enrollment_id,
        user_key,
        course_id,
        course_section_id,
        current_score,
        final_score,
        unposted_current_score,
        unposted_final_score,
        override_score,
        coalesce(override_score, current_score) as effective_score,
        score_updated_at,
        effective_status,
        data_as_of,
        {{ cd2_status_rank('effective_status', 'grade_row_order') }} as status_rank
    from student_scores
    where is_course_score

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
        {{ cd2_z_score(
            'ranked.effective_score',
            'course_population.mean_score',
            'course_population.sd_score',
            'course_population.n_scored'
        ) }} as course_z,
        ranked.is_primary_in_course,
        ranked.score_updated_at,
        ranked.effective_status,
        ranked.data_as_of
    from ranked
    left join course_population
        on ranked.course_id = course_population.course_id

)

select * from final
