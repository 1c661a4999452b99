{#-
    M11: LMS adoption per course. Structure counts come from mart_course_design (published
    content, T17; quizzes counted once, T18); people and activity from the enrollment, activity
    and submission marts. Student-derived columns follow small-cell suppression.
-#}
{%- set min_cell_size = var('cd2_min_cell_size', 10) %}
with

course_design as (

    select * from {{ ref('mart_course_design') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

student_courses as (

    select * from {{ ref('mart_student_course') }}

),

enrollment_status as (

    select * from {{ ref('fct_enrollment_status') }}

),

last_activity as (

    select * from {{ ref('mart_last_activity') }}

),

submissions as (

    select * from {{ ref('fct_submission') }}

),

teacher_page_views as (

    select * from {{ ref('int_adoption__teacher_page_views') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

-- students who take, took or will take the course: invited-only (pending) and dropped
-- (inactive) students are not counted
student_counts as (

    select
        course_id,
        count(*) filter (
            where {{ cd2_status_in('effective_status', 'enrolled') }}
        ) as n_students,
        count(*) filter (where is_active) as n_students_active
    from student_courses
    group by 1

),

-- one row per active student: the latest activity over the student's active enrollments
student_last_activity as (

    select
        last_activity.user_key,
        last_activity.course_id,
        max(last_activity.last_activity_ts) as last_activity_ts
    from last_activity
    inner join student_courses
        on
            last_activity.user_key = student_courses.user_key
            and last_activity.course_id = student_courses.course_id
    where student_courses.is_active
    group by 1, 2

),

recent_counts as (

    select
        student_last_activity.course_id,
        count(*) filter (
            where student_last_activity.last_activity_ts >= as_of.as_of_ts - interval '7 days'
        ) as n_students_active_7d
    from student_last_activity
    cross join as_of
    group by 1

),

teacher_counts as (

    select
        course_id,
        count(distinct user_key) as n_teachers
    from enrollment_status
    where is_teacher_side and is_active
    group by 1

),

graded_counts as (

    select
        course_id,
        count(*) filter (where is_graded) as n_graded_submissions
    from submissions
    group by 1

),

combined as (

    select
        course_design.course_id,
        course_design.term_id,
        course_design.account_id,
        courses.publish_state,
        courses.is_published,
        courses.is_non_teaching,
        coalesce(student_counts.n_students, 0) as n_students,
        coalesce(student_counts.n_students_active, 0) as n_students_active,
        coalesce(recent_counts.n_students_active_7d, 0) as n_students_active_7d,
        coalesce(teacher_counts.n_teachers, 0) as n_teachers,
        course_design.n_assignments as n_published_assignments,
        coalesce(graded_counts.n_graded_submissions, 0) as n_graded_submissions,
        course_design.n_modules,
        course_design.n_module_items,
        course_design.n_pages,
        course_design.n_files,
        course_design.n_discussions,
        course_design.n_announcements,
        course_design.n_quizzes,
        courses.has_syllabus,
        coalesce(teacher_page_views.teacher_page_views_30d, 0) as teacher_page_views_30d,
        coalesce(student_counts.n_students, 0) < {{ min_cell_size }} as is_suppressed
    from course_design
    inner join courses on course_design.course_id = courses.course_id
    left join student_counts on course_design.course_id = student_counts.course_id
    left join recent_counts on course_design.course_id = recent_counts.course_id
    left join teacher_counts on course_design.course_id = teacher_counts.course_id
    left join graded_counts on course_design.course_id = graded_counts.course_id
    left join teacher_page_views on course_design.course_id = teacher_page_views.course_id

),

final as (

    select
        combined.course_id,
        combined.term_id,
        combined.account_id,
        combined.publish_state,
        combined.is_published,
        combined.is_non_teaching,
        combined.n_students > 0 as has_students,
        case when not combined.is_suppressed then combined.n_students end as n_students,
        case
            when not combined.is_suppressed then combined.n_students_active
        end as n_students_active,
        combined.n_teachers,
        case
            when
                not combined.is_suppressed
                and combined.n_students_active >= {{ min_cell_size }}
                then {{ cd2_ratio('combined.n_students_active_7d', 'combined.n_students_active') }}
        end as pct_students_active_7d,
        combined.n_published_assignments,
        case
            when not combined.is_suppressed then combined.n_graded_submissions
        end as n_graded_submissions,
        combined.n_graded_submissions > 0 as uses_gradebook,
        combined.n_modules,
        combined.n_module_items > 0 as uses_modules,
        combined.n_pages,
        combined.n_files,
        combined.n_discussions,
        combined.n_announcements,
        combined.n_quizzes,
        combined.has_syllabus,
        combined.teacher_page_views_30d,
        combined.is_suppressed,
        as_of.as_of_ts as data_as_of
    from combined
    cross join as_of

)

select * from final
