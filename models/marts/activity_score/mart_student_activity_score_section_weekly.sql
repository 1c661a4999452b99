{#-
    M16 by section: the Student Activity Score compared within the section instead of the whole
    course, for courses whose students are in two or more sections. The inputs are the student's
    in the course (activity and submissions are not tied to a section in CD2); a student in two
    sections of a course has a row in each.
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

course_inputs as (

    select * from {{ ref('int_activity_score__weekly_inputs') }}

),

enrollments as (

    select * from {{ ref('fct_enrollment_status') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

student_sections as (

    select distinct
        user_key,
        course_id,
        course_section_id
    from enrollments
    where
        is_student
        and effective_status in ('active', 'soft_concluded', 'completed')
        and user_key is not null
        and course_section_id is not null

),

sectioned_courses as (

    select course_id
    from student_sections
    group by 1
    having count(distinct course_section_id) >= 2

),

inputs as (

    select
        course_inputs.user_key,
        course_inputs.course_id,
        student_sections.course_section_id,
        course_inputs.term_id,
        course_inputs.week_in_term,
        course_inputs.week_start_local_date,
        course_inputs.n_assignments_due,
        course_inputs.n_submitted,
        course_inputs.submission_ratio,
        course_inputs.active_minutes,
        course_inputs.n_sessions,
        course_inputs.n_assignments_due_cumulative,
        course_inputs.n_submitted_cumulative,
        course_inputs.submission_ratio_cumulative,
        course_inputs.active_minutes_cumulative,
        course_inputs.n_sessions_cumulative
    from course_inputs
    inner join student_sections
        on
            course_inputs.user_key = student_sections.user_key
            and course_inputs.course_id = student_sections.course_id
    inner join sectioned_courses
        on course_inputs.course_id = sectioned_courses.course_id

),

{{ cd2_activity_score_ctes('inputs', ['course_section_id', 'week_in_term']) }},

final as (

    select
        activity_scores.user_key,
        activity_scores.course_section_id,
        activity_scores.course_id,
        activity_scores.term_id,
        activity_scores.week_in_term,
        activity_scores.week_start_local_date,
        activity_scores.n_assignments_due,
        activity_scores.n_submitted,
        activity_scores.submission_ratio,
        activity_scores.active_minutes,
        activity_scores.n_sessions,
        activity_scores.student_activity_score,
        activity_scores.student_activity_score_z,
        activity_scores.student_activity_score_octile,
        activity_scores.student_activity_score_cumulative,
        activity_scores.student_activity_score_cumulative_z,
        activity_scores.student_activity_score_octile_cumulative,
        activity_scores.n_cohort_students as n_section_students,
        activity_scores.n_cohort_students >= 10 as section_has_10_or_more_students,
        as_of.as_of_ts as data_as_of
    from activity_scores
    cross join as_of

)

select * from final
