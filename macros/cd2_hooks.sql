{#-
    Whether this dbt command runs the on-run-start hooks before any node. `compile` and
    `docs generate` render hooks beside the models, in parallel threads, and `parse`/`ls` run
    nothing: a hook that reads or changes the database acts only in these commands.
-#}
{% macro cd2_hooks_run_before_nodes() %}
    {{ return(flags.WHICH in ('build', 'run', 'test', 'seed', 'snapshot', 'retry')) }}
{% endmacro %}
