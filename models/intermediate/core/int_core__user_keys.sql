{#-
    The one way marts reach a person: user_id -> user_key (the pseudonymous key) for every user
    id a mart can meet. Ephemeral: it is compiled into the marts that join it and is never a
    relation of its own, so the user_id <-> user_key crosswalk stays in the restricted `pii`
    schema (pii_user_keys) only.
-#}
{{ config(materialized='ephemeral') }}

with

pii_user_keys as (

    -- restricted: only the pseudonymous key per user id leaves it
    select * from {{ ref('pii_user_keys') }}

),

final as (

    select
        user_id,
        user_key
    from pii_user_keys

)

select * from final
