{#-
    Post-hook of every current-state model (same transaction as the merge): records in
    `cd2_meta.model_state` the newest committed batch of the table and its schema version, i.e.
    what the model has consumed. `cd2 run` reads it to leave out models with nothing new to
    merge (see extract/unchanged.py). For the tombstone log it records the newest committed
    batch of any table (`cd2_tables_with_new_deletions` reads it). Does nothing for other
    models or when the extractor's batch log does not exist yet.
-#}
{% macro cd2_current_state_record() %}
    {%- set qname = this.schema ~ '.' ~ this.identifier -%}
    {%- if execute and model.name == 'cd2__deleted_rows' -%}
        {%- set batches = cd2_existing_table(this.database, 'cd2_meta', 'batches') -%}
        {%- if batches is not none %}
insert or replace into {{ this.database }}.cd2_meta.model_state
select
    '{{ this.schema }}' as namespace,
    '{{ this.identifier }}' as table_name,
    max(batch_id) as batch_id,
    cast(null as integer) as schema_version,
    cast(now() as timestamp) as built_at
from {{ batches }}
where status = 'committed'
        {%- endif -%}
    {%- elif execute and qname in cd2_catalog() -%}
        {%- set batches = cd2_existing_table(this.database, 'cd2_meta', 'batches') -%}
        {%- if batches is not none %}
insert or replace into {{ this.database }}.cd2_meta.model_state
select
    '{{ this.schema }}' as namespace,
    '{{ this.identifier }}' as table_name,
    max(batch_id) as batch_id,
    arg_max(schema_version, batch_id) as schema_version,
    cast(now() as timestamp) as built_at
from {{ batches }}
where namespace = '{{ this.schema }}' and table_name = '{{ this.identifier }}' and status = 'committed'
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{#- on-run-start hook: the table the post-hook writes (created once, not by racing threads). -#}
{% macro cd2_model_state_ddl() %}
create schema if not exists cd2_meta;
create table if not exists cd2_meta.model_state (
    namespace varchar not null,
    table_name varchar not null,
    batch_id bigint,
    schema_version integer,
    built_at timestamp,
    primary key (namespace, table_name)
)
{% endmacro %}


{#-
    on-run-end hook: after a run without errors, stores the fingerprint of the current-state
    code that `cd2 run` passed as var `cd2_code_fingerprint` (nothing when the var is absent).
-#}
{% macro cd2_record_code_fingerprint(results) %}
    {%- set fingerprint = var('cd2_code_fingerprint', none) -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
    {%- if execute and fingerprint and not failed %}
create schema if not exists cd2_meta;
create table if not exists cd2_meta.project_state (key varchar primary key, value varchar);
insert or replace into cd2_meta.project_state values ('current_state_fingerprint', '{{ fingerprint }}')
    {%- endif -%}
{% endmacro %}
