{#-
    M12 content signal: per course with any such content, its external tools (not deleted or
    disabled), active pages, files (not deleted), discussions and announcements (active or
    locked) and available classic quizzes; null where the course has none of a kind.
-#}
with

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

content_courses as (

    select course_id from tool_counts
    union
    select course_id from page_counts
    union
    select course_id from file_counts
    union
    select course_id from topic_counts
    union
    select course_id from quiz_counts

),

final as (

    select
        content_courses.course_id,
        tool_counts.n_external_tools,
        page_counts.n_pages,
        file_counts.n_files,
        topic_counts.n_discussions,
        topic_counts.n_announcements,
        quiz_counts.n_classic_quizzes
    from content_courses
    left join tool_counts on content_courses.course_id = tool_counts.course_id
    left join page_counts on content_courses.course_id = page_counts.course_id
    left join file_counts on content_courses.course_id = file_counts.course_id
    left join topic_counts on content_courses.course_id = topic_counts.course_id
    left join quiz_counts on content_courses.course_id = quiz_counts.course_id

)

select * from final
