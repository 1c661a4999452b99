{#- The effective enrollment statuses (DECISIONLOG "Effective enrollment status (M1)") and every
    named set and order of them the marts use, in one place. int_enrollment__effective_enrollments
    derives the status; everything else names a set or an order from here. -#}
{% macro cd2_enrollment_statuses(name='all') -%}
    {%- set statuses = {
        'all': ['pending', 'not_started', 'active', 'soft_concluded', 'completed', 'inactive'],
        'taking_or_took': ['active', 'soft_concluded', 'completed'],
        'enrolled': ['not_started', 'active', 'soft_concluded', 'completed'],
        'needs_grading': ['active', 'not_started', 'soft_concluded'],
        'student_course_order': ['active', 'not_started', 'soft_concluded', 'completed', 'inactive'],
        'grade_row_order': ['active', 'soft_concluded', 'completed', 'not_started'],
    } -%}
    {%- if name not in statuses -%}
        {{ exceptions.raise_compiler_error('unknown enrollment status set: ' ~ name) }}
    {%- endif -%}
    {{ return(statuses[name]) }}
{%- endmacro %}

{#- `expr in (<the named set>)`. -#}
{% macro cd2_status_in(expr, name) -%}
    {{ expr }} in (
        {%- for status in cd2_enrollment_statuses(name) -%}
            '{{ status }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    )
{%- endmacro %}

{#- Rank of a status in a named order: 1 for its first status, n + 1 for any other. -#}
{% macro cd2_status_rank(expr, name) -%}
    {%- set order = cd2_enrollment_statuses(name) -%}
    case {{ expr }}
        {%- for status in order %}
            when '{{ status }}' then {{ loop.index }}
        {%- endfor %}
        else {{ order | length + 1 }}
    end
{%- endmacro %}
