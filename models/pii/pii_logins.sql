{#- Restricted: every login (pseudonym) of a user with its login name and SIS ids (T14). -#}
with

pseudonyms as (

    select * from {{ cd2_current_table('canvas', 'pseudonyms') }}

),

user_keys as (

    select * from {{ ref('pii_user_keys') }}

),

final as (

    select
        pseudonyms.id as pseudonym_id,
        pseudonyms.user_id,
        user_keys.user_key,
        pseudonyms.unique_id,
        pseudonyms.sis_user_id,
        pseudonyms.integration_id,
        pseudonyms.workflow_state,
        pseudonyms.is_inst_id,
        pseudonyms.created_at
    from pseudonyms
    left join user_keys on pseudonyms.user_id = user_keys.user_id

)

select * from final
