with

catalog as (

    select * from {{ ref('cd2_table_catalog') }}

),

final as (

    select
        namespace || '.' || table_name as cd2_table_id,
        namespace,
        table_name,
        primary_key,
        column_count,
        schema_version
    from catalog

)

select * from final
