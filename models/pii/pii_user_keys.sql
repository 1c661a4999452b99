{#- The crosswalk user_id <-> user_key (restricted). Every user id a mart can meet gets a key. -#}
with

users as (

    select * from {{ ref('stg_canvas__users') }}

),

enrollments as (

    select * from {{ ref('stg_canvas__enrollments') }}

),

submissions as (

    select * from {{ ref('stg_canvas__submissions') }}

),

user_ids as (

    select user_id from users
    union
    select user_id from enrollments
    union
    select user_id from submissions
    union
    select grader_id from submissions

),

pads as (

    select {{ cd2_hmac_pads() }}
    from (select {{ cd2_hmac_key() }} as hmac_key) as secret

),

final as (

    select
        user_ids.user_id,
        {{ cd2_user_key('user_ids.user_id') }} as user_key
    from user_ids
    cross join pads
    where user_ids.user_id is not null

)

select * from final
