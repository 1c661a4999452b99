{#-
    M12: what a course is built from (modules, items, assignments, pages, files, discussions,
    quizzes, tools, grading setup). Published content only (T17); nothing student-derived, so no
    small-cell suppression.
-#}
with

courses as (

    select * from {{ ref('dim_course') }}

),

course_settings as (

    select * from {{ ref('stg_canvas__courses') }}

),

modules as (

    select * from {{ ref('int_courses__modules') }}

),

content_tags as (

    select * from {{ ref('stg_canvas__content_tags') }}

),

assignments as (

    select * from {{ ref('stg_canvas__assignments') }}

),

assignment_rules as (

    select * from {{ ref('int_submissions__assignment_rules') }}

),

assignment_groups as (

    select * from {{ ref('stg_canvas__assignment_groups') }}

),

late_policies as (

    select * from {{ ref('stg_canvas__late_policies') }}

),

external_tools as (

    select * from {{ ref('stg_canvas__context_external_tools') }}

),

wiki_pages as (

    select * from {{ ref('stg_canvas__wiki_pages') }}

),

attachments as (

    select * from {{ ref('stg_canvas__attachments') }}

),

discussion_topics as (

    select * from {{ ref('stg_canvas__discussion_topics') }}

),

quizzes as (

    select * from {{ ref('stg_canvas__quizzes') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

module_counts as (

    select
        course_id,
        count(*) as n_modules
    from modules
    group by 1

),

module_items as (

    select
        modules.course_id,
        count(*) as n_module_items,
        count(*) filter (where content_tags.content_type = 'Assignment') as n_items_assignment,
        count(*) filter (where content_tags.content_type = 'Quizzes::Quiz') as n_items_quiz,
        count(*) filter (where content_tags.content_type = 'DiscussionTopic') as n_items_discussion,
        count(*) filter (where content_tags.content_type = 'WikiPage') as n_items_page,
        count(*) filter (where content_tags.content_type = 'Attachment') as n_items_file,
        count(*) filter (
            where content_tags.content_type = 'ContextExternalTool'
        ) as n_items_external_tool,
        count(*) filter (where content_tags.content_type = 'ExternalUrl') as n_items_external_url,
        count(*) filter (
            where content_tags.content_type = 'ContextModuleSubHeader'
        ) as n_items_subheader
    from content_tags
    inner join modules on content_tags.context_module_id = modules.context_module_id
    where
        content_tags.tag_type = 'context_module'
        and content_tags.workflow_state = 'active'
    group by 1

),

published_assignments as (

    select
        assignments.context_id as course_id,
        assignments.assignment_id,
        assignments.due_at,
        assignments.points_possible,
        assignment_rules.is_new_quiz and not assignment_rules.is_quiz as is_new_quiz_only,
        case
            when assignment_rules.is_quiz or assignment_rules.is_new_quiz then 'quiz'
            when list_contains(assignments.submission_types, 'discussion_topic') then 'discussion'
            when list_contains(assignments.submission_types, 'external_tool') then 'external_tool'
            when list_has_any(
                assignments.submission_types,
                [
                    'online_upload',
                    'online_text_entry',
                    'online_url',
                    'media_recording',
                    'student_annotation'
                ]
            ) then 'online'
            when list_contains(assignments.submission_types, 'on_paper') then 'on_paper'
            when list_contains(assignments.submission_types, 'not_graded') then 'not_graded'
            when
                -- list_distinct drops null elements
                coalesce(len(list_distinct(assignments.submission_types)), 0) = 0
                or list_contains(assignments.submission_types, 'none')
                then 'no_submission'
            else 'other'
        end as submission_group
    from assignments
    inner join assignment_rules on assignments.assignment_id = assignment_rules.assignment_id
    where assignment_rules.is_published

),

assignment_stats as (

    select
        course_id,
        count(*) as n_assignments,
        count(*) filter (where submission_group = 'online') as n_assignments_online,
        count(*) filter (where submission_group = 'quiz') as n_assignments_quiz,
        count(*) filter (where submission_group = 'discussion') as n_assignments_discussion,
        count(*) filter (where submission_group = 'external_tool') as n_assignments_external_tool,
        count(*) filter (where submission_group = 'on_paper') as n_assignments_on_paper,
        count(*) filter (where submission_group = 'no_submission') as n_assignments_no_submission,
        count(*) filter (where submission_group = 'not_graded') as n_assignments_not_graded,
        count(*) filter (where submission_group = 'other') as n_assignments_other,
        count(due_at) as n_assignments_with_due_date,
        count(*) filter (where is_new_quiz_only) as n_new_quizzes,
        sum(points_possible) as total_points_possible,
        avg(points_possible) as avg_points_possible,
        quantile_cont(points_possible, 0.5) as median_points_possible,
        max(points_possible) as max_points_possible
    from published_assignments
    group by 1

),

group_counts as (

    select
        context_id as course_id,
        count(*) as n_assignment_groups
    from assignment_groups
    where context_type = 'Course' and not is_deleted
    group by 1

),

late_policy_flags as (

    select
        course_id,
        bool_or(coalesce(late_submission_deduction_enabled, false)) as is_late_deduction_enabled,
        bool_or(coalesce(missing_submission_deduction_enabled, false))
            as is_missing_deduction_enabled
    from late_policies
    group by 1

),

tool_counts as (

    select
        context_id as course_id,
        count(*) as n_external_tools
    from external_tools
    where
        context_type = 'Course'
        and coalesce(workflow_state, '') not in ('deleted', 'disabled')
    group by 1

),

page_counts as (

    select
        context_id as course_id,
        count(*) as n_pages
    from wiki_pages
    where context_type = 'Course' and workflow_state = 'active'
    group by 1

),

file_counts as (

    select
        context_id as course_id,
        count(*) as n_files
    from attachments
    where
        context_type = 'Course'
        and not is_deleted
        and coalesce(file_state, 'available') <> 'deleted'
    group by 1

),

topic_counts as (

    select
        context_id as course_id,
        count(*) filter (where coalesce(type, '') <> 'Announcement') as n_discussions,
        count(*) filter (where type = 'Announcement') as n_announcements
    from discussion_topics
    where context_type = 'Course' and workflow_state in ('active', 'locked')
    group by 1

),

quiz_counts as (

    select
        context_id as course_id,
        count(*) as n_classic_quizzes
    from quizzes
    where context_type = 'Course' and workflow_state = 'available'
    group by 1

),

final as (

    select
        courses.course_id,
        courses.term_id,
        courses.account_id,
        courses.is_published,
        courses.is_non_teaching,
        coalesce(module_counts.n_modules, 0) as n_modules,
        coalesce(module_items.n_module_items, 0) as n_module_items,
        coalesce(module_items.n_items_assignment, 0) as n_items_assignment,
        coalesce(module_items.n_items_quiz, 0) as n_items_quiz,
        coalesce(module_items.n_items_discussion, 0) as n_items_discussion,
        coalesce(module_items.n_items_page, 0) as n_items_page,
        coalesce(module_items.n_items_file, 0) as n_items_file,
        coalesce(module_items.n_items_external_tool, 0) as n_items_external_tool,
        coalesce(module_items.n_items_external_url, 0) as n_items_external_url,
        coalesce(module_items.n_items_subheader, 0) as n_items_subheader,
        coalesce(assignment_stats.n_assignments, 0) as n_assignments,
        coalesce(assignment_stats.n_assignments_online, 0) as n_assignments_online,
        coalesce(assignment_stats.n_assignments_quiz, 0) as n_assignments_quiz,
        coalesce(assignment_stats.n_assignments_discussion, 0) as n_assignments_discussion,
        coalesce(assignment_stats.n_assignments_external_tool, 0) as n_assignments_external_tool,
        coalesce(assignment_stats.n_assignments_on_paper, 0) as n_assignments_on_paper,
        coalesce(assignment_stats.n_assignments_no_submission, 0) as n_assignments_no_submission,
        coalesce(assignment_stats.n_assignments_not_graded, 0) as n_assignments_not_graded,
        coalesce(assignment_stats.n_assignments_other, 0) as n_assignments_other,
        coalesce(assignment_stats.n_assignments_with_due_date, 0) as n_assignments_with_due_date,
        assignment_stats.n_assignments_with_due_date / assignment_stats.n_assignments
            as pct_assignments_with_due_date,
        assignment_stats.total_points_possible,
        assignment_stats.avg_points_possible,
        assignment_stats.median_points_possible,
        assignment_stats.max_points_possible,
        coalesce(group_counts.n_assignment_groups, 0) as n_assignment_groups,
        coalesce(course_settings.group_weighting_scheme = 'percent', false) as uses_group_weights,
        late_policy_flags.course_id is not null as has_late_policy,
        coalesce(late_policy_flags.is_late_deduction_enabled, false) as is_late_deduction_enabled,
        coalesce(late_policy_flags.is_missing_deduction_enabled, false)
            as is_missing_deduction_enabled,
        coalesce(tool_counts.n_external_tools, 0) as n_external_tools,
        coalesce(page_counts.n_pages, 0) as n_pages,
        coalesce(file_counts.n_files, 0) as n_files,
        coalesce(topic_counts.n_discussions, 0) as n_discussions,
        coalesce(topic_counts.n_announcements, 0) as n_announcements,
        coalesce(quiz_counts.n_classic_quizzes, 0) as n_classic_quizzes,
        coalesce(assignment_stats.n_new_quizzes, 0) as n_new_quizzes,
        coalesce(quiz_counts.n_classic_quizzes, 0)
        + coalesce(assignment_stats.n_new_quizzes, 0) as n_quizzes,
        as_of.as_of_ts as data_as_of
    from courses
    inner join course_settings on courses.course_id = course_settings.course_id
    left join module_counts on courses.course_id = module_counts.course_id
    left join module_items on courses.course_id = module_items.course_id
    left join assignment_stats on courses.course_id = assignment_stats.course_id
    left join group_counts on courses.course_id = group_counts.course_id
    left join late_policy_flags on courses.course_id = late_policy_flags.course_id
    left join tool_counts on courses.course_id = tool_counts.course_id
    left join page_counts on courses.course_id = page_counts.course_id
    left join file_counts on courses.course_id = file_counts.course_id
    left join topic_counts on courses.course_id = topic_counts.course_id
    left join quiz_counts on courses.course_id = quiz_counts.course_id
    cross join as_of
    where not courses.is_deleted

)

select * from final
