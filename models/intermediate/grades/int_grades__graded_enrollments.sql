{#-
    The population of the course grade marts (M6): one row per student and course (the
    enrollment fct_course_grade_current marks is_primary_in_course) whose best status is active,
    soft-concluded or completed, in courses that are not deleted and, by default (var
    cd2_exclude_non_teaching_courses), teaching courses.
-#}
with

course_grade_current as (

    select * from {{ ref('fct_course_grade_current') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

final as (

    select
        course_grade_current.enrollment_id,
        course_grade_current.user_key,
        course_grade_current.course_id,
        courses.term_id,
        course_grade_current.effective_score
    from course_grade_current
    inner join courses
        on course_grade_current.course_id = courses.course_id
    where
        course_grade_current.is_primary_in_course
        and {{ cd2_status_in('course_grade_current.effective_status', 'taking_or_took') }}
        and not coalesce(courses.is_deleted, false)
        {%- if var('cd2_exclude_non_teaching_courses') %}
            and not coalesce(courses.is_non_teaching, false)
        {%- endif %}

)

select * from final
