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

module_items as (

    select
        content_tag_id,
        context_module_id,
        content_type
    from content_tags
    where
        tag_type = 'context_module'
        and workflow_state = 'active'

),

final as (

    -- one pass over modules and their items: counts are 0 where a module has no items
    select
        modules.course_id,
        count(distinct modules.context_module_id) as n_modules,
        count(module_items.content_tag_id) as n_module_items,
        count(*) filter (where module_items.content_type = 'Assignment') as n_items_assignment,
        count(*) filter (where module_items.content_type = 'Quizzes::Quiz') as n_items_quiz,
        count(*) filter (where module_items.content_type = 'DiscussionTopic') as n_items_discussion,
        count(*) filter (where module_items.content_type = 'WikiPage') as n_items_page,
        count(*) filter (where module_items.content_type = 'Attachment') as n_items_file,
        count(*) filter (
            where module_items.content_type = 'ContextExternalTool'
        ) as n_items_external_tool,
        count(*) filter (where module_items.content_type = 'ExternalUrl') as n_items_external_url,
        count(*) filter (
            where module_items.content_type = 'ContextModuleSubHeader'
        ) as n_items_subheader
    from modules
    left join module_items on modules.context_module_id = module_items.context_module_id
    group by 1

)

select * from final
