{#-
    "Now" for every mart rule: var cd2_as_of, else the latest watermark of the synced canvas
    tables (cd2 mode: the extractor's table_state; dap_syncdb mode: dap's table_sync).
-#}
{%- if cd2_reads_dap_tables() -%}
    {%- set watermarks = source('dap_meta', 'table_sync') -%}
    {%- set watermark_column, namespace_column = '"timestamp"', 'source_namespace' -%}
{%- else -%}
    {%- set watermarks = source('cd2_meta', 'table_state') -%}
    {%- set watermark_column, namespace_column = 'watermark', 'namespace' -%}
{%- endif -%}
{%- set synced = execute and adapter.get_relation(
    database=watermarks.database, schema=watermarks.schema, identifier=watermarks.identifier
) is not none -%}
with

watermark as (

    {% if synced -%}
        select max({{ watermark_column }}) as latest_watermark
        from {{ watermarks }}
        where {{ namespace_column }} = 'canvas'
    {%- else -%}
        -- nothing synced yet: the extractor's state table does not exist
        select cast(null as timestamp) as latest_watermark
    {%- endif %}

),

as_of_ts as (

    select
        {% if var('cd2_as_of') -%}
            cast('{{ var("cd2_as_of") }}' as timestamp)
        {%- else -%}
            latest_watermark
        {%- endif %} as as_of_ts
    from watermark

),

final as (

    select
        as_of_ts,
        {{ cd2_local_ts('as_of_ts') }} as as_of_local_ts,
        cast({{ cd2_local_ts('as_of_ts') }} as date) as as_of_local_date
    from as_of_ts

)

select * from final
