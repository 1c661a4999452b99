{#- Users behind Canvas's "Student View" (test students, T3): left out of every mart. -#}
with

enrollments as (

    select * from {{ ref('stg_canvas__enrollments') }}

),

final as (

    select distinct user_id
    from enrollments
    where type = 'StudentViewEnrollment'

)

select * from final
