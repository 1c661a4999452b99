{#- z-score of a value against a population's mean and population standard deviation; null when
    the population has fewer than two members or no spread. -#}
{% macro cd2_z_score(value, mean, sd, n) -%}
    case
        when {{ n }} >= 2 and {{ sd }} > 0
            then ({{ value }} - {{ mean }}) / {{ sd }}
    end
{%- endmacro %}
