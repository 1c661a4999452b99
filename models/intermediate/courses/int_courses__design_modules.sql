{#-
    M12 module signal: per course with published modules (int_courses__modules), how many
    modules and module items (active context-module tags) it has, by item type.
-#}
with

modules as (

    select * from {{ ref('int_courses__modules') }}

),

content_tags as (

    select * from {{ ref('stg_canvas__content_tags') }}

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

final as (

    select
        module_counts.course_id,
        module_counts.n_modules,
        coalesce(module_items.n_module_items, 0) as n_module_items,
        coalesce(module_items.n_items_assignment, 0) as n_items_assignment,
        coalesce(module_items.n_items_quiz, 0) as n_items_quiz,
        coalesce(module_items.n_items_discussion, 0) as n_items_discussion,
        coalesce(module_items.n_items_page, 0) as n_items_page,
        coalesce(module_items.n_items_file, 0) as n_items_file,
        coalesce(module_items.n_items_external_tool, 0) as n_items_external_tool,
        coalesce(module_items.n_items_external_url, 0) as n_items_external_url,
        coalesce(module_items.n_items_subheader, 0) as n_items_subheader
    from module_counts
    left join module_items on module_counts.course_id = module_items.course_id

)

select * from final
