{#-
    Conformed account dimension with the ancestor path for department / college roll-ups
    (CD1 `account_dim` subaccount levels). Depth 0 is the root account.
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with recursive

accounts as (

    select * from {{ ref('stg_canvas__accounts') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

ancestry as (

    -- every account with each of its ancestors, itself at distance 0; the distance cap stops a
    -- (corrupt) parent cycle
    select
        account_id,
        account_id as ancestor_id,
        0 as distance
    from accounts

    union all

    select
        ancestry.account_id,
        parents.parent_account_id as ancestor_id,
        ancestry.distance + 1 as distance
    from ancestry
    inner join accounts as parents on ancestry.ancestor_id = parents.account_id
    where
        parents.parent_account_id is not null
        and ancestry.distance < 50

),

paths as (

    select
        ancestry.account_id,
        max(ancestry.distance) as depth,  -- noqa: RF04
        {{ cd2_ordered_array_agg('ancestry.ancestor_id', 'ancestry.distance', descending=true) }}
            as account_id_path,
        {{ cd2_ordered_string_agg(
            "coalesce(ancestors.name, '#' || cast(ancestry.ancestor_id as " ~ dbt.type_string() ~ "))",
            "' > '",
            'ancestry.distance',
            descending=true
        ) }} as account_path
    from ancestry
    left join accounts as ancestors on ancestry.ancestor_id = ancestors.account_id
    group by 1

),

final as (

    select
        accounts.account_id,
        accounts.name as account_name,
        accounts.parent_account_id,
        {{ cd2_array_element('paths.account_id_path', 1) }} as root_account_id,
        accounts.sis_source_id,
        accounts.workflow_state,
        accounts.is_deleted,
        accounts.default_time_zone,
        paths.depth,
        paths.account_path,
        paths.account_id_path,
        {{ cd2_array_element('paths.account_id_path', 2) }} as level_1_account_id,
        {{ cd2_array_element('paths.account_id_path', 3) }} as level_2_account_id,
        {{ cd2_array_element('paths.account_id_path', 4) }} as level_3_account_id,
        as_of.as_of_ts as data_as_of
    from accounts
    inner join paths on accounts.account_id = paths.account_id
    cross join as_of

)

select * from final
