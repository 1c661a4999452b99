{#- Conformed section dimension; cross-listed sections keep their original course (T5). -#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

sections as (

    select * from {{ ref('stg_canvas__course_sections') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        sections.course_section_id as section_id,
        sections.course_id,
        sections.nonxlist_course_id,
        sections.nonxlist_course_id is not null as is_crosslisted,
        -- a sandbox's default section repeats the owner's name: show the course code instead
        case
            when courses.is_sandbox then courses.course_code
            else sections.name
        end as section_name,
        sections.sis_source_id,
        sections.workflow_state,
        sections.is_deleted,
        coalesce(sections.default_section, false) as is_default_section,
        sections.start_at,
        sections.end_at,
        coalesce(sections.restrict_enrollments_to_section_dates, false)
            as restrict_enrollments_to_section_dates,
        sections.enrollment_term_id as term_id,
        as_of.as_of_ts as data_as_of
    from sections
    left join courses on sections.course_id = courses.course_id
    cross join as_of

)

select * from final
