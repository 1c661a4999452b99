{#- Restricted: names next to user_id and user_key (the only model with names). -#}
with

users as (

    select * from {{ cd2_current_table('canvas', 'users') }}

),

user_keys as (

    select * from {{ ref('pii_user_keys') }}

),

final as (

    select
        users.id as user_id,
        user_keys.user_key,
        users.name,
        users.sortable_name,
        users.short_name,
        users.pronouns,
        users.workflow_state
    from users
    left join user_keys on users.id = user_keys.user_id

)

select * from final
