{#-
    M12: what a course is built from (modules, items, assignments, pages, files, discussions,
    quizzes, tools, grading setup). Published content only (T17); nothing student-derived, so no
    small-cell suppression. One intermediate model per signal (int_courses__design_*), joined
    here.
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

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
        {%- for column in [
            'n_modules', 'n_module_items', 'n_items_assignment', 'n_items_quiz',
            'n_items_discussion', 'n_items_page', 'n_items_file', 'n_items_external_tool',
            'n_items_external_url', 'n_items_subheader'
        ] %}
            coalesce(design_modules.{{ column }}, 0) as {{ column }},
        {%- endfor %}
        {%- for column in [
            'n_assignments', 'n_assignments_online', 'n_assignments_quiz',
            'n_assignments_discussion', 'n_assignments_external_tool', 'n_assignments_on_paper',
            'n_assignments_no_submission', 'n_assignments_not_graded', 'n_assignments_other',
            'n_assignments_with_due_date'
        ] %}
            coalesce(design_assignments.{{ column }}, 0) as {{ column }},
        {%- endfor %}
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
        {%- for column in [
            'n_external_tools', 'n_pages', 'n_files', 'n_discussions', 'n_announcements',
            'n_classic_quizzes'
        ] %}
            coalesce(design_content.{{ column }}, 0) as {{ column }},
        {%- endfor %}
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
