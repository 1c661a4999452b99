{#-
    The Student Activity Score (M16) of every row of `inputs` (int_activity_score__weekly_inputs
    columns) within its cohort (`cohort`: the columns that group the students compared, e.g.
    course_id and week_in_term). Emits CTEs ending in `activity_scores`, one row per input row:
    each input's z-score in the cohort (0 when the input is null or has no spread: the term drops
    out), the score 5·z(submission ratio) + 2·z(active minutes) + z(sessions), its z-score and
    octile in the cohort (null when the cohort's scores are all equal; see cd2_octile), the same
    from week 1
    (`_cumulative`), and the cohort's size. One definition for the course and section marts.
-#}
{% macro cd2_activity_score_ctes(inputs, cohort) -%}
{%- set by = cohort | join(', ') -%}
{%- set measures = [
    'submission_ratio', 'active_minutes', 'n_sessions',
    'submission_ratio_cumulative', 'active_minutes_cumulative', 'n_sessions_cumulative'
] -%}
cohort_inputs as (

    select
        {{ by }},
        count(*) as n_cohort_students,
        {%- for measure in measures %}
        count({{ measure }}) as n_{{ measure }},
        avg({{ measure }}) as mean_{{ measure }},
        stddev_pop({{ measure }}) as sd_{{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ inputs }}
    group by {{ by }}

),

input_z as (

    select
        {{ inputs }}.*,
        cohort_inputs.n_cohort_students,
        {%- for measure in measures %}
        coalesce({{ cd2_z_score(
            inputs ~ '.' ~ measure,
            'cohort_inputs.mean_' ~ measure,
            'cohort_inputs.sd_' ~ measure,
            'cohort_inputs.n_' ~ measure
        ) }}, 0) as {{ measure }}_z{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ inputs }}
    inner join cohort_inputs
        on {{ cd2_same_cohort(inputs, 'cohort_inputs', cohort) }}

),

raw_scores as (

    select
        input_z.*,
        5 * submission_ratio_z + 2 * active_minutes_z + n_sessions_z as student_activity_score,
        5 * submission_ratio_cumulative_z
        + 2 * active_minutes_cumulative_z
        + n_sessions_cumulative_z as student_activity_score_cumulative
    from input_z

),

cohort_scores as (

    select
        {{ by }},
        count(*) as n_scores,
        avg(student_activity_score) as mean_score,
        stddev_pop(student_activity_score) as sd_score,
        avg(student_activity_score_cumulative) as mean_score_cumulative,
        stddev_pop(student_activity_score_cumulative) as sd_score_cumulative
    from raw_scores
    group by {{ by }}

),

scored as (

    select
        raw_scores.*,
        {{ cd2_z_score(
            'raw_scores.student_activity_score', 'cohort_scores.mean_score',
            'cohort_scores.sd_score', 'cohort_scores.n_scores'
        ) }} as student_activity_score_z,
        {{ cd2_z_score(
            'raw_scores.student_activity_score_cumulative', 'cohort_scores.mean_score_cumulative',
            'cohort_scores.sd_score_cumulative', 'cohort_scores.n_scores'
        ) }} as student_activity_score_cumulative_z
    from raw_scores
    inner join cohort_scores
        on {{ cd2_same_cohort('raw_scores', 'cohort_scores', cohort) }}

),

activity_scores as (

    select
        scored.*,
        case
            when scored.student_activity_score_z is not null
                then {{ cd2_octile(by, 'scored.student_activity_score') }}
        end as student_activity_score_octile,
        case
            when scored.student_activity_score_cumulative_z is not null
                then {{ cd2_octile(by, 'scored.student_activity_score_cumulative') }}
        end as student_activity_score_octile_cumulative
    from scored

)
{%- endmacro %}

{#- `left` and `right` share every column of `cohort`. -#}
{% macro cd2_same_cohort(left, right, cohort) -%}
    {%- for column in cohort %}
            {% if not loop.first %}and {% endif %}{{ left }}.{{ column }} = {{ right }}.{{ column }}
    {%- endfor -%}
{%- endmacro %}

{#- The eighth of the cohort a score falls in, 0.125 (lowest) to 1.0 (highest): the share of the
    cohort's other students with a lower score (percent_rank), in eighths. Tied students share
    the lower octile, so a block of students with no activity at all sits at the bottom. -#}
{% macro cd2_octile(cohort_columns, score) -%}
    {{ cd2_ratio(
        'least(floor(8 * percent_rank() over (partition by ' ~ cohort_columns ~ ' order by ' ~ score ~ ')) + 1, 8)',
        8
    ) }}
{%- endmacro %}
