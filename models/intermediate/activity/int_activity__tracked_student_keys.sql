{#-
    The student x course pairs whose requests count (int_activity__tracked_students) by the
    student's pseudonymous key: what the incremental web-activity models check their stored rows
    against (a row of a pair no longer here is retired).
-#}
with

tracked_students as (

    select * from {{ ref('int_activity__tracked_students') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

final as (

    select
        user_keys.user_key,
        tracked_students.course_id
    from tracked_students
    inner join user_keys
        on tracked_students.user_id = user_keys.user_id

)

select * from final
