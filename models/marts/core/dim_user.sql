{#-
    Conformed person dimension without identifiers (section 4): no names, logins, SIS ids or
    user_id, only the pseudonymous user_key and flags about the chosen login.
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

users as (

    select * from {{ ref('stg_canvas__users') }}

),

pseudonyms as (

    select * from {{ ref('stg_canvas__pseudonyms') }}

),

chosen_pseudonyms as (

    select * from {{ ref('int_core__chosen_pseudonym') }}

),

test_users as (

    select * from {{ ref('int_core__test_users') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

logins as (

    -- Inst ID logins (Canvas Identity's rows) are counted apart and never as the user's logins;
    -- a null flag (data from before CD2 carried it) is a regular login
    select
        user_id,
        count(*) filter (
            where workflow_state = 'active' and not coalesce(is_inst_id, false)
        ) as n_logins,
        count(*) filter (where coalesce(is_inst_id, false)) as n_inst_id_logins,
        max(greatest(current_login_at, last_login_at)) filter (
            where not coalesce(is_inst_id, false)
        ) as last_login_at
    from pseudonyms
    group by 1

),

final as (

    select
        user_keys.user_key,
        users.workflow_state,
        users.is_deleted,
        test_users.user_id is not null as is_test_user,
        users.merged_into_user_id is not null as is_merged_away,
        merged_into_keys.user_key as merged_into_user_key,
        chosen_pseudonyms.chosen_by as chosen_login_source,
        coalesce(chosen_pseudonyms.has_sis_id, false) as has_sis_id,
        coalesce(logins.n_logins, 0) as n_logins,
        coalesce(logins.n_inst_id_logins, 0) as n_inst_id_logins,
        logins.last_login_at,
        as_of.as_of_ts as data_as_of
    from users
    inner join user_keys on users.user_id = user_keys.user_id
    left join user_keys as merged_into_keys on users.merged_into_user_id = merged_into_keys.user_id
    left join test_users on users.user_id = test_users.user_id
    left join chosen_pseudonyms on users.user_id = chosen_pseudonyms.user_id
    left join logins on users.user_id = logins.user_id
    cross join as_of

)

select * from final
