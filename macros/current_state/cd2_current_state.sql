{#-
    Current state of one CD2 table, from its append-only raw change log.

    * Latest version per key by `_meta_ts` (ties: the later `_batch_id`, then a delete wins);
      keys whose latest change is a delete (`_meta_action = 'D'`) are left out.
    * Rows are read from the latest committed snapshot batch on (a snapshot is the complete
      table; history tables such as web_logs read everything), and on incremental runs only
      from batches after the newest `_batch_id` the model holds.
    * Hard deletes and snapshot reconciliation are applied to the existing table by the
      pre-hook `cd2_current_state_prepare` before this select is merged in (delete+insert).
    * Columns: the CD2 columns of the table's source (`cd2_table_spec`; typed nulls where the raw
      table lacks them), then columns a newer schema version added to the raw table, then the
      load metadata.
-#}
{% macro cd2_current_state(namespace, table) %}
    {%- set spec = cd2_table_spec(namespace, table) -%}
    {%- set changes = source('raw_' ~ namespace, table) -%}
    {%- set batches = source('cd2_meta', 'batches') -%}
    {%- if not execute -%}
        {#- parse time: the source() calls above record the dependencies; no SQL is needed -#}
        {{ return('') }}
    {%- elif spec is none -%}
        {{ exceptions.raise_compiler_error(
            'cd2_current_state: no source raw_' ~ namespace ~ '.' ~ table ~ ' with meta.cd2_table in graph'
            ~ ' (a unit test overrides graph: see models/current_state/_current_state__unit_tests.yml)'
        ) }}
    {%- endif -%}
    {%- set raw_columns = cd2_raw_columns(changes) -%}
    {%- if raw_columns is none -%}
        {{ cd2_empty_current_state(spec) }}
    {%- else -%}
        {{ cd2_current_state_from_changes(spec, changes, batches, raw_columns) }}
    {%- endif -%}
{% endmacro %}


{% macro cd2_current_state_from_changes(spec, changes, batches, raw_columns) %}
    {{- return(adapter.dispatch('cd2_current_state_from_changes', 'cd2')(spec, changes, batches, raw_columns)) -}}
{% endmacro %}

{% macro default__cd2_current_state_from_changes(spec, changes, batches, raw_columns) %}
    {{ cd2_duckdb_only('cd2_current_state_from_changes') }}
{% endmacro %}

{% macro duckdb__cd2_current_state_from_changes(spec, changes, batches, raw_columns) %}
    {%- set key = adapter.quote(spec.key) -%}
with

changes as (

    select * from {{ changes }}

),
{%- if is_incremental() %}

current_state as (

    select * from {{ this }}

),
{%- endif %}
{%- if not spec.history %}

snapshots as (

    select batch_id from {{ batches }}
    where
        namespace = {{ cd2_sql_string(spec.namespace) }}
        and table_name = {{ cd2_sql_string(spec.table) }}
        and kind = 'snapshot'
        and status = 'committed'

),
{%- endif %}

bounds as (

    select
        greatest(
            {% if is_incremental() -%}
                (select coalesce(max(_batch_id), 0) + 1 from current_state)
            {%- else -%}
                1
            {%- endif %},
            {% if spec.history -%}
                1
            {%- else -%}
                (select coalesce(max(batch_id), 1) from snapshots)
            {%- endif %}
        ) as first_batch_id

),

latest_changes as (

    select * from changes
    where _batch_id >= (select first_batch_id from bounds)
    qualify row_number() over (
        partition by {{ key }}
        order by _meta_ts desc, _batch_id desc, _meta_action asc
    ) = 1

),

final as (

    select
        {{ cd2_current_state_columns(spec, raw_columns) | indent(8) }}
    from latest_changes
    where _meta_action = 'U'

)

select * from final
{%- endmacro %}


{#- The select list: the source's columns, then columns only the raw table has, then load metadata. -#}
{% macro cd2_current_state_columns(spec, raw_columns) %}
    {%- set load_columns = ['_meta_ts', '_batch_id', '_loaded_at', '_schema_version'] -%}
    {%- set catalogued = [] -%}
    {%- set items = [] -%}
    {%- for name, data_type in spec.columns -%}
        {%- do catalogued.append(name) -%}
        {%- if name in raw_columns -%}
            {%- do items.append(adapter.quote(name)) -%}
        {%- else -%}
            {%- do items.append('cast(null as ' ~ cd2_cast_type(data_type) ~ ') as ' ~ adapter.quote(name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in raw_columns -%}
        {%- if name not in catalogued and name not in load_columns and name != '_meta_action' -%}
            {%- do items.append(adapter.quote(name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in load_columns -%}
        {%- do items.append(name) -%}
    {%- endfor -%}
    {{- items | join(',\n') -}}
{% endmacro %}


{#- A typed, empty current state: the raw table does not exist yet (never synced). -#}
{% macro cd2_empty_current_state(spec) %}
    {%- set items = [] -%}
    {%- for name, data_type in spec.columns -%}
        {%- do items.append('cast(null as ' ~ cd2_cast_type(data_type) ~ ') as ' ~ adapter.quote(name)) -%}
    {%- endfor -%}
    {%- do items.append('cast(null as timestamp) as _meta_ts') -%}
    {%- do items.append('cast(null as bigint) as _batch_id') -%}
    {%- do items.append('cast(null as timestamp) as _loaded_at') -%}
    {%- do items.append('cast(null as integer) as _schema_version') -%}
with

final as (

    select
        {{ items | join(',\n') | indent(8) }}
    where false

)

select * from final
{%- endmacro %}


{#-
    Spark (the lake, without Delta or Iceberg: no merge, no delete): the current state is
    rebuilt whole from the raw change log on every run (the model is a table there, see
    dbt_project.yml), with the same rule: the latest version per key since the latest committed
    snapshot (history tables: everything), deletes left out. DECISIONLOG: "Spark rebuilds the
    current state".
-#}
{% macro spark__cd2_current_state_from_changes(spec, changes, batches, raw_columns) %}
    {%- set key = adapter.quote(spec.key) -%}
with

changes as (

    select * from {{ changes }}

),
{%- if not spec.history %}

snapshots as (

    select batch_id from {{ batches }}
    where
        namespace = {{ cd2_sql_string(spec.namespace) }}
        and table_name = {{ cd2_sql_string(spec.table) }}
        and kind = 'snapshot'
        and status = 'committed'

),
{%- endif %}

bounds as (

    select
        {% if spec.history -%}
            1
        {%- else -%}
            (select coalesce(max(batch_id), 1) from snapshots)
        {%- endif %} as first_batch_id

),

ranked_changes as (

    select
        *,
        row_number() over (
            partition by {{ key }}
            order by _meta_ts desc, _batch_id desc, _meta_action asc
        ) as change_rank
    from changes
    where _batch_id >= (select first_batch_id from bounds)

),

final as (

    select
        {{ cd2_current_state_columns(spec, raw_columns) | indent(8) }}
    from ranked_changes
    where change_rank = 1 and _meta_action = 'U'

)

select * from final
{%- endmacro %}
