{#-
    The tombstone log: one row per hard delete CD2 sent (`_meta_action = 'D'`), and one row
    per key a new snapshot removed (present before the snapshot, absent from it), for every
    CD2 table that has landed (`cd2_table_specs`: every source with `meta.cd2_table`; the model
    file names their sources, so dbt records them at parse time). Every run reads only the tables
    whose batches hold deletes or are re-snapshots (cd2_tables_with_new_deletions); incremental
    runs only batches newer than the newest `_batch_id` already logged (a batch that logged
    nothing is re-read harmlessly).
-#}
{% macro cd2_deleted_rows() %}
    {%- set parts = [] -%}
    {%- set batches = source('cd2_meta', 'batches') -%}
    {%- set pending = cd2_tables_with_new_deletions(batches) -%}
    {%- for spec in cd2_table_specs() or [] -%}
        {%- set changes = source('raw_' ~ spec.namespace, spec.table) -%}
        {%- if (pending is none or spec.qualified_name in pending) and cd2_raw_columns(changes) is not none -%}
            {%- do parts.append(cd2_hard_deletes(spec, changes)) -%}
            {%- if not spec.history -%}
                {%- do parts.append(cd2_snapshot_removals(spec, changes, batches)) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
with
{% if is_incremental() %}
logged as (

    select * from {{ this }}

),
{% endif %}
watermark as (

    select
        {% if is_incremental() -%}
            (select coalesce(max(_batch_id), 0) from logged)
        {%- else -%}
            0
        {%- endif %} as last_batch_id

),

deleted_rows as (

    {% if parts -%}
        {{ parts | join('\n\n    union all\n\n    ') }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as namespace,
        cast(null as {{ dbt.type_string() }}) as table_name,
        cast(null as {{ dbt.type_string() }}) as key_value,
        cast(null as {{ dbt.type_string() }}) as deletion_type,
        cast(null as timestamp) as _meta_ts,
        cast(null as bigint) as _batch_id
    where false
    {%- endif %}

),

final as (

    select distinct * from deleted_rows

)

select * from final
{%- endmacro %}


{% macro cd2_hard_deletes(spec, changes) %}
    select
        {{ cd2_sql_string(spec.namespace) }} as namespace,
        {{ cd2_sql_string(spec.table) }} as table_name,
        cast({{ adapter.quote(spec.key) }} as {{ dbt.type_string() }}) as key_value,
        'hard_delete' as deletion_type,
        _meta_ts,
        _batch_id
    from {{ changes }}
    where
        _meta_action = 'D'
        and _batch_id > (select last_batch_id from watermark)
{%- endmacro %}


{#-
    Keys present just before a new snapshot (latest version since the previous snapshot is an
    upsert) and absent from it. The latest version by a ranking subquery (portable to Spark).
-#}
{% macro cd2_snapshot_removals(spec, changes, batches) %}
    {%- set key = adapter.quote(spec.key) -%}
    select
        {{ cd2_sql_string(spec.namespace) }} as namespace,
        {{ cd2_sql_string(spec.table) }} as table_name,
        cast(before_snapshot.key_value as {{ dbt.type_string() }}) as key_value,
        'snapshot_reconciliation' as deletion_type,
        before_snapshot.snapshot_at as _meta_ts,
        before_snapshot.snapshot_batch_id as _batch_id
    from (
        select
            changes.{{ key }} as key_value,
            changes._meta_action,
            snapshots.batch_id as snapshot_batch_id,
            snapshots.snapshot_at,
            row_number() over (
                partition by snapshots.batch_id, changes.{{ key }}
                order by changes._meta_ts desc, changes._batch_id desc, changes._meta_action asc
            ) as change_rank
        from {{ changes }} as changes
        inner join (
            select * from (
                select
                    batch_id,
                    snapshot_at,
                    lag(batch_id) over (order by batch_id) as previous_batch_id
                from {{ batches }}
                where
                    namespace = {{ cd2_sql_string(spec.namespace) }}
                    and table_name = {{ cd2_sql_string(spec.table) }}
                    and kind = 'snapshot'
                    and status = 'committed'
            ) as ordered_snapshots
            where
                previous_batch_id is not null
                and batch_id > (select last_batch_id from watermark)
        ) as snapshots
            on
                changes._batch_id >= snapshots.previous_batch_id
                and changes._batch_id < snapshots.batch_id
    ) as before_snapshot
    where
        before_snapshot.change_rank = 1
        and before_snapshot._meta_action = 'U'
        and not exists (
            select 1 from {{ changes }} as in_snapshot
            where
                in_snapshot._batch_id = before_snapshot.snapshot_batch_id
                and in_snapshot.{{ key }} = before_snapshot.key_value
        )
{%- endmacro %}




{#-
    The tables ('namespace.table') that can add tombstones: those with a committed batch that
    holds hard deletes, or is a snapshot with an earlier snapshot before it, newer than the
    newest batch the previous run saw (recorded in cd2_meta.model_state by the post-hook; on
    full refreshes: any batch). None (= every table) when the batch log does not exist yet.
    Most tables never delete and were snapshotted once: a full refresh reads only the others.
-#}
{% macro cd2_tables_with_new_deletions(batches) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set log = cd2_existing_table(batches.database, batches.schema, batches.identifier) -%}
    {%- if log is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = cd2_existing_table(batches.database, 'cd2_meta', 'model_state') -%}
    {#- the newest batch the last run saw (post-hook), else the newest logged tombstone's -#}
    {%- set seen -%}
        {%- if not is_incremental() -%}
            0
        {%- elif state is not none -%}
            coalesce((
                select max(batch_id) from {{ state }}
                where namespace = {{ cd2_sql_string(this.schema) }} and table_name = {{ cd2_sql_string(this.identifier) }}
            ), (select coalesce(max(_batch_id), 0) from {{ this }}))
        {%- else -%}
            (select coalesce(max(_batch_id), 0) from {{ this }})
        {%- endif -%}
    {%- endset -%}
    {%- set query -%}
        select distinct committed.namespace || '.' || committed.table_name
        from (
            select
                namespace,
                table_name,
                batch_id,
                kind,
                deletes,
                min(case when kind = 'snapshot' then batch_id end)
                    over (partition by namespace, table_name) as first_snapshot_id
            from {{ batches }}
            where status = 'committed'
        ) as committed
        where
            committed.batch_id > {{ seen }}
            and (
                (committed.kind = 'snapshot' and committed.batch_id > committed.first_snapshot_id)
                or coalesce(committed.deletes, 0) > 0
            )
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{% endmacro %}
