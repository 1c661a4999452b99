{#- "Now" for every mart rule: var cd2_as_of, else the latest synced canvas watermark. -#}
with

table_state as (

    select * from {{ source('cd2_meta', 'table_state') }}

),

watermark as (

    select max(watermark) as latest_watermark
    from table_state
    where namespace = 'canvas'

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
