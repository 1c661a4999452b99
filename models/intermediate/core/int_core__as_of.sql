{#- "Now" for every mart rule: var cd2_as_of, else the latest synced canvas watermark. -#}
{%- set table_state = source('cd2_meta', 'table_state') -%}
{%- set synced = execute and adapter.get_relation(
    database=table_state.database, schema=table_state.schema, identifier=table_state.identifier
) is not none -%}
with

watermark as (

    {% if synced -%}
        select max(watermark) as latest_watermark
        from {{ table_state }}
        where namespace = 'canvas'
    {%- else -%}
        -- nothing synced yet: the extractor's state table does not exist
        select cast(null as timestamp) as latest_watermark
    {%- endif %}

),

final as (

    select
        {% if var('cd2_as_of') -%}
            cast('{{ var("cd2_as_of") }}' as timestamp)
        {%- else -%}
            latest_watermark
        {%- endif %} as as_of_ts,
        {{ cd2_local_ts('as_of_ts') }} as as_of_local_ts,
        cast(as_of_local_ts as date) as as_of_local_date
    from watermark

)

select * from final
