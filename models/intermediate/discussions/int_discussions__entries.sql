{#-
    Discussion entries that count for participation (M10): not deleted, in a topic that is not an
    announcement and not deleted, attributed to a course (group topics through their group's
    course). The message never leaves this model: only its length with HTML tags stripped.
-#}
with

discussion_entries as (

    select * from {{ ref('stg_canvas__discussion_entries') }}

),

discussion_topics as (

    select * from {{ ref('stg_canvas__discussion_topics') }}

),

groups as (

    select * from {{ ref('stg_canvas__groups') }}

),

topics as (

    select
        discussion_topics.discussion_topic_id,
        case discussion_topics.context_type
            when 'Course' then discussion_topics.context_id
            when 'Group' then groups.context_id
        end as course_id,
        discussion_topics.posted_at
    from discussion_topics
    left join groups
        on
            discussion_topics.context_type = 'Group'
            and discussion_topics.context_id = groups.group_id
            and groups.context_type = 'Course'
    where
        not discussion_topics.is_deleted
        and coalesce(discussion_topics.type, '') <> 'Announcement'

),

entries as (

    select
        discussion_entries.discussion_entry_id,
        discussion_entries.discussion_topic_id,
        topics.course_id,
        discussion_entries.user_id,
        discussion_entries.parent_id,
        discussion_entries.parent_id is null as is_post,
        -- T12: truncated messages (null in staging) have no length.
        case
            when not discussion_entries.is_message_truncated
                then length({{ cd2_regexp_replace_all(
                    'discussion_entries.message', "'<[^>]*>'", "''"
                ) }})
        end as entry_length,
        discussion_entries.created_at,
        topics.posted_at as topic_posted_at
    from discussion_entries
    inner join topics
        on discussion_entries.discussion_topic_id = topics.discussion_topic_id
    where
        not discussion_entries.is_deleted
        and topics.course_id is not null

),

final as (

    select
        entries.discussion_entry_id,
        entries.discussion_topic_id,
        entries.course_id,
        entries.user_id,
        entries.parent_id,
        parents.user_id as parent_user_id,
        entries.is_post,
        entries.entry_length,
        entries.created_at,
        {{ cd2_local_date('entries.created_at') }} as created_local_date,
        entries.topic_posted_at
    from entries
    left join entries as parents
        on entries.parent_id = parents.discussion_entry_id

)

select * from final
