{#-
    Tests per round on what changed (issue 25; DECISIONLOG "A round tests the rows it changed").

    A model whose rows carry the batch that last changed them names that column in its meta
    (`cd2_round_rows`: `_batch_id` in staging, `_cd2_round_batch_id` in the incremental event
    facts). After every invocation the on-run-end hook `cd2_record_round_tests` records, per such
    model whose every data test ran and passed (or warned), the highest mark its rows held:
    `cd2_meta.round_tests.tested_through`. In a selective round `cd2 run` hands those records to
    dbt in `CD2_ROUND_TESTED_THROUGH` (JSON, read at run time only, so it never makes dbt re-parse),
    and `get_where_subquery` narrows each test of such a model to the rows it has not passed yet:

    * row by row tests (`not_null`, `accepted_values`, `relationships` from the child's side,
      `expression_is_true`): rows with a newer mark;
    * `unique`, `unique_combination_of_columns`: every row sharing a key with a newer row, so a
      new row that duplicates an old one still fails;
    * any other test: every row.

    Every test checks every row when `CD2_FULL_TESTS` (or `CD2_FULL_KEY_TESTS`) is 1/true, in a
    plain `dbt build`/`dbt test`, and in a round that builds everything (the code changed): the
    scheduled workflow's weekly full check runs `CD2_FULL_TESTS=1 dbt test`.
-#}

{% macro cd2_full_tests() %}
    {%- set wanted = ['1', 'true'] -%}
    {{ return(
        env_var('CD2_FULL_TESTS', '') | lower in wanted
        or env_var('CD2_FULL_KEY_TESTS', '') | lower in wanted
    ) }}
{% endmacro %}


{#- The round's [mark column, tested through] for `relation`, none when every row is to be tested. -#}
{% macro cd2_round_tested_through(relation) %}
    {%- if not execute or cd2_full_tests() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set handed = env_var('CD2_ROUND_TESTED_THROUGH', '') -%}
    {%- if not handed -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set key = (relation.schema ~ '.' ~ relation.identifier) | lower -%}
    {{ return(fromjson(handed).get(key)) }}
{% endmacro %}


{#- The condition narrowing a test of `test_node` over `relation` to its untested rows; none: all rows. -#}
{% macro cd2_round_test_filter(relation, test_node) %}
    {%- set test = test_node.get('test_metadata') if test_node is mapping else none -%}
    {%- set mark = cd2_round_tested_through(relation) if test else none -%}
    {%- if mark is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set column, since = mark[0], mark[1] | int -%}
    {%- set newer = adapter.quote(column) ~ ' > ' ~ since -%}
    {%- set kwargs = test.get('kwargs', {}) -%}
    {%- if test.name in ['not_null', 'accepted_values', 'relationships', 'expression_is_true'] -%}
        {{ return(newer) }}
    {%- elif test.name == 'unique' and kwargs.get('column_name') -%}
        {%- set keys = [kwargs['column_name']] -%}
    {%- elif test.name == 'unique_combination_of_columns' and kwargs.get('combination_of_columns') -%}
        {%- set keys = kwargs['combination_of_columns'] -%}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set key_list = keys | join(', ') -%}
    {{ return('(' ~ key_list ~ ') in (select ' ~ key_list ~ ' from ' ~ relation ~ ' where ' ~ newer ~ ')') }}
{% endmacro %}


{#-
    dbt's hook for every generic test's `model` argument (the default applies the test's `where`
    config): also narrows the test to the round's untested rows (above).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set round_filter = cd2_round_test_filter(relation, model) -%}
    {%- if round_filter -%}
        {%- do conditions.append(round_filter) -%}
    {%- endif -%}
    {%- if conditions -%}
        {#- the alias keeps Spark from reading `where (flag)` as an alias `where` with a column list -#}
        {%- set filtered = '(select * from ' ~ relation ~ ' as cd2_test_rows where ' ~ conditions | join(' and ') -%}
        {%- do return(filtered ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#-
    on-run-end hook: for every model with a `cd2_round_rows` mark whose data tests all ran in
    this invocation and passed or warned, `cd2_meta.round_tests` records the highest mark its rows
    hold now (what those tests saw: nothing rebuilds a model after its tests in one invocation).
    A model with a failing, erroring or unrun test keeps its record, so its rows are tested again.
-#}
{% macro cd2_record_round_tests(results) %}
    {{- return(adapter.dispatch('cd2_record_round_tests', 'cd2')(results)) -}}
{% endmacro %}

{% macro default__cd2_record_round_tests(results) %}
    {#- nothing to record: only cd2 run's DuckDB rounds narrow their tests -#}
{% endmacro %}

{% macro duckdb__cd2_record_round_tests(results) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set status = {} -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- do status.update({result.node.unique_id: result.status}) -%}
    {%- endfor -%}
    {%- set tests_of = {} -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'test' and node.attached_node and node.test_metadata -%}
        {%- do tests_of.setdefault(node.attached_node, []).append(node.unique_id) -%}
    {%- endfor -%}
    {%- set records = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.config.meta.get('cd2_round_rows') and node.config.enabled -%}
        {%- set tests = tests_of.get(node.unique_id, []) -%}
        {%- set passed = [] -%}
        {%- for test in tests if status.get(test) in ['pass', 'warn'] -%}
            {%- do passed.append(test) -%}
        {%- endfor -%}
        {%- if tests and passed | length == tests | length -%}
            {%- set relation = api.Relation.create(
                database=node.database, schema=node.schema, identifier=node.alias or node.name) -%}
            {%- set column = node.config.meta['cd2_round_rows'] -%}
            {%- do records.append(
                'select ' ~ cd2_sql_string((node.schema ~ '.' ~ (node.alias or node.name)) | lower)
                ~ ' as relation, ' ~ cd2_sql_string(column) ~ ' as mark_column, max('
                ~ adapter.quote(column) ~ ') as tested_through from ' ~ relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if records %}
create schema if not exists cd2_meta;
create table if not exists cd2_meta.round_tests (
    relation varchar primary key, mark_column varchar, tested_through bigint
);
insert or replace into cd2_meta.round_tests
select * from (
    {{ records | join('\n    union all\n    ') }}
) as tested
where tested_through is not null
    {%- endif -%}
{% endmacro %}
