{#-
    Active modules of non-deleted courses with their order in the course (T17: only
    `workflow_state = 'active'` modules are published; unpublished and deleted ones are left out).
-#}
with

modules as (

    select * from {{ ref('stg_canvas__context_modules') }}

),

courses as (

    select * from {{ ref('stg_canvas__courses') }}

),

final as (

    select
        modules.context_module_id,
        modules.context_id as course_id,
        modules.position as module_position,
        row_number() over (
            partition by modules.context_id
            order by modules.position asc nulls last, modules.context_module_id asc
        ) as module_rank,
        count(*) over (partition by modules.context_id) as n_modules_in_course,
        coalesce(modules.require_sequential_progress, false) as require_sequential_progress
    from modules
    inner join courses on modules.context_id = courses.course_id
    where
        modules.context_type = 'Course'
        and modules.workflow_state = 'active'
        and not courses.is_deleted

)

select * from final
