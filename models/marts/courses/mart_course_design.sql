{#-
    M12: what a course is built from (modules, items, assignments, pages, files, discussions,
    quizzes, tools, grading setup). Published content only (T17); nothing student-derived, so no
    small-cell suppression. One intermediate model per signal (int_courses__design_*), joined
    here.
-#}
with

courses as (

    select * from {{ ref('dim_course') }}

),

design_modules as (

    select * from {{ ref('int_courses__design_modules') }}

),

design_assignments as (

    select * from {{ ref('int_courses__design_assignments') }}

),

design_grading as (

    select * from {{ ref('int_courses__design_grading') }}

),

design_content as (

    select * from {{ ref('int_courses__design_content') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        courses.course_id,
        courses.term_id,
        courses.account_id,
        courses.is_published,
        courses.is_non_teaching,
        coalesce(design_modules.n_modules, 0) as n_modules,
        coalesce(design_modules.n_module_items, 0) as n_module_items,
        coalesce(design_modules.n_items_assignment, 0) as n_items_assignment,
        coalesce(design_modules.n_items_quiz, 0) as n_items_quiz,
        coalesce(design_modules.n_items_discussion, 0) as n_items_discussion,
        coalesce(design_modules.n_items_page, 0) as n_items_page,
        coalesce(design_modules.n_items_file, 0) as n_items_file,
        coalesce(design_modules.n_items_external_tool, 0) as n_items_external_tool,
        coalesce(design_modules.n_items_external_url, 0) as n_items_external_url,
        coalesce(design_modules.n_items_subheader, 0) as n_items_subheader,
        coalesce(design_assignments.n_assignments, 0) as n_assignments,
        coalesce(design_assignments.n_assignments_online, 0) as n_assignments_online,
        coalesce(design_assignments.n_assignments_quiz, 0) as n_assignments_quiz,
        coalesce(design_assignments.n_assignments_discussion, 0) as n_assignments_discussion,
        coalesce(design_assignments.n_assignments_external_tool, 0) as n_assignments_external_tool,
        coalesce(design_assignments.n_assignments_on_paper, 0) as n_assignments_on_paper,
        coalesce(design_assignments.n_assignments_no_submission, 0) as n_assignments_no_submission,
        coalesce(design_assignments.n_assignments_not_graded, 0) as n_assignments_not_graded,
        coalesce(design_assignments.n_assignments_other, 0) as n_assignments_other,
        coalesce(design_assignments.n_assignments_with_due_date, 0) as n_assignments_with_due_date,
        design_assignments.pct_assignments_with_due_date,
        design_assignments.total_points_possible,
        design_assignments.avg_points_possible,
        design_assignments.median_points_possible,
        design_assignments.max_points_possible,
        design_grading.n_assignment_groups,
        design_grading.uses_group_weights,
        design_grading.has_late_policy,
        design_grading.is_late_deduction_enabled,
        design_grading.is_missing_deduction_enabled,
        coalesce(design_content.n_external_tools, 0) as n_external_tools,
        coalesce(design_content.n_pages, 0) as n_pages,
        coalesce(design_content.n_files, 0) as n_files,
        coalesce(design_content.n_discussions, 0) as n_discussions,
        coalesce(design_content.n_announcements, 0) as n_announcements,
        coalesce(design_content.n_classic_quizzes, 0) as n_classic_quizzes,
        coalesce(design_assignments.n_new_quizzes, 0) as n_new_quizzes,
        coalesce(design_content.n_classic_quizzes, 0)
        + coalesce(design_assignments.n_new_quizzes, 0) as n_quizzes,
        as_of.as_of_ts as data_as_of
    from courses
    inner join design_grading on courses.course_id = design_grading.course_id
    left join design_modules on courses.course_id = design_modules.course_id
    left join design_assignments on courses.course_id = design_assignments.course_id
    left join design_content on courses.course_id = design_content.course_id
    cross join as_of
    where not courses.is_deleted

)

select * from final
