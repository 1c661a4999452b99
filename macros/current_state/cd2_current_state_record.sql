{#-
    Post-hook of every current-state model (same transaction as the merge): records in
    `cd2_meta.model_state` the newest committed batch of the table and its schema version, i.e.
    what the model has consumed. It keeps `tested_batch_id` (see `cd2_record_tested_keys`; the
    pre-hook forgets the whole record on full refreshes). `cd2 run` reads `batch_id` to leave
    out models with nothing new to merge (see extract/unchanged.py). For the tombstone log
    it records the newest committed batch of any table (`cd2_tables_with_new_deletions` reads
    it). Does nothing for other models or when the extractor's batch log does not exist yet.
-#}
{% macro cd2_current_state_record() %}
    {{- return(adapter.dispatch('cd2_current_state_record', 'cd2')()) -}}
{% endmacro %}

{% macro default__cd2_current_state_record() %}
    {#- nothing to record: cd2 sync's model state exists in DuckDB only -#}
{% endmacro %}

{% macro duckdb__cd2_current_state_record() %}
    {#- a relation, quoted: the database is named after the file (`cd2-prod`, `full`, ...) -#}
    {%- set state = api.Relation.create(database=this.database, schema='cd2_meta', identifier='model_state') -%}
    {%- if execute and model.name == 'cd2__deleted_rows' -%}
        {%- set batches = cd2_existing_table(this.database, 'cd2_meta', 'batches') -%}
        {%- if batches is not none %}
insert or replace into {{ state }}
    (namespace, table_name, batch_id, schema_version, built_at, tested_batch_id)
select
    {{ cd2_sql_string(this.schema) }} as namespace,
    {{ cd2_sql_string(this.identifier) }} as table_name,
    max(batch_id) as batch_id,
    cast(null as integer) as schema_version,
    cast(now() as timestamp) as built_at,
    {{ cd2_recorded_tested_batch() }} as tested_batch_id
from {{ batches }}
where status = 'committed'
        {%- endif -%}
    {%- elif execute and cd2_table_spec(this.schema, this.identifier) is not none -%}
        {%- set batches = cd2_existing_table(this.database, 'cd2_meta', 'batches') -%}
        {%- if batches is not none %}
insert or replace into {{ state }}
    (namespace, table_name, batch_id, schema_version, built_at, tested_batch_id)
select
    {{ cd2_sql_string(this.schema) }} as namespace,
    {{ cd2_sql_string(this.identifier) }} as table_name,
    max(batch_id) as batch_id,
    arg_max(schema_version, batch_id) as schema_version,
    cast(now() as timestamp) as built_at,
    {{ cd2_recorded_tested_batch() }} as tested_batch_id
from {{ batches }}
where
    namespace = {{ cd2_sql_string(this.schema) }}
    and table_name = {{ cd2_sql_string(this.identifier) }}
    and status = 'committed'
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{#- The model's recorded tested_batch_id (read before the record is replaced). -#}
{% macro cd2_recorded_tested_batch() %}
    {%- set state = api.Relation.create(database=this.database, schema='cd2_meta', identifier='model_state') %}
    (
        select recorded.tested_batch_id from {{ state }} as recorded
        where
            recorded.namespace = {{ cd2_sql_string(this.schema) }}
            and recorded.table_name = {{ cd2_sql_string(this.identifier) }}
    )
{%- endmacro %}


{#- on-run-start hook: the table the post-hook writes (created once, not by racing threads). -#}
{% macro cd2_model_state_ddl() %}
    {{- return(adapter.dispatch('cd2_model_state_ddl', 'cd2')()) -}}
{% endmacro %}

{#- Spark rebuilds the current state whole every run (no model state to keep): nothing. -#}
{% macro spark__cd2_model_state_ddl() %}
    {{ return('') }}
{% endmacro %}

{% macro default__cd2_model_state_ddl() %}
create schema if not exists cd2_meta;
create table if not exists cd2_meta.model_state (
    namespace varchar not null,
    table_name varchar not null,
    batch_id bigint,
    schema_version integer,
    built_at timestamp,
    tested_batch_id bigint,
    primary key (namespace, table_name)
);
-- databases built before tested_batch_id existed
alter table cd2_meta.model_state add column if not exists tested_batch_id bigint
{% endmacro %}


{#-
    on-run-end hook: after a run without errors, stores the fingerprint of the current-state
    code that `cd2 run` passed as var `cd2_code_fingerprint` (nothing when the var is absent).
-#}
{% macro cd2_record_code_fingerprint(results) %}
    {{- return(adapter.dispatch('cd2_record_code_fingerprint', 'cd2')(results)) -}}
{% endmacro %}

{% macro default__cd2_record_code_fingerprint(results) %}
    {#- nothing to record: cd2 sync's model state exists in DuckDB only -#}
{% endmacro %}

{% macro duckdb__cd2_record_code_fingerprint(results) %}
    {%- set fingerprint = var('cd2_code_fingerprint', none) -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
    {%- if execute and fingerprint and not failed %}
create schema if not exists cd2_meta;
create table if not exists cd2_meta.project_state (key varchar primary key, value varchar);
insert or replace into cd2_meta.project_state values ('current_state_fingerprint', {{ cd2_sql_string(fingerprint) }})
    {%- endif -%}
{% endmacro %}


{#-
    on-run-end hook: for every current-state model whose incremental key tests
    (`unique_incremental`, `not_null_incremental`) all ran and passed in this invocation,
    records `tested_batch_id` = the model's `batch_id`: every row it holds has been checked.
    A model with a failing test keeps its old value, so the next run checks those rows again.
-#}
{% macro cd2_record_tested_keys(results) %}
    {{- return(adapter.dispatch('cd2_record_tested_keys', 'cd2')(results)) -}}
{% endmacro %}

{% macro spark__cd2_record_tested_keys(results) %}
    {{ return('') }}
{% endmacro %}

{% macro default__cd2_record_tested_keys(results) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set key_tests = ['not_null_incremental', 'unique_incremental'] -%}
    {%- set passed = {} -%}
    {%- set failed = [] -%}
    {%- for result in results -%}
        {%- set node = result.node -%}
        {%- set test = node.test_metadata if node.resource_type == 'test' else none -%}
        {%- if test and test.name in key_tests and node.attached_node -%}
            {%- if result.status == 'pass' -%}
                {%- do passed.setdefault(node.attached_node, []).append(test.name) -%}
            {%- else -%}
                {%- do failed.append(node.attached_node) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set tables = [] -%}
    {%- for unique_id, names in passed.items() -%}
        {%- if (names | unique | sort | list) == key_tests and unique_id not in failed and unique_id in graph.nodes -%}
            {%- set tested = graph.nodes[unique_id] -%}
            {%- do tables.append(cd2_sql_string(tested.schema ~ '.' ~ (tested.alias or tested.name))) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if tables %}
update cd2_meta.model_state
set tested_batch_id = batch_id
where namespace || '.' || table_name in ({{ tables | join(', ') }})
    {%- endif -%}
{% endmacro %}
