{#-
    Teaching courses of the current term (dim_term.is_current; not non-teaching: sandbox,
    blueprint, template, Default Term), the scope of the ready questions in analyses/.
-#}
with

courses as (

    select * from {{ ref('dim_course') }}

),

terms as (

    select * from {{ ref('dim_term') }}

),

final as (

    select
        courses.course_id,
        courses.term_id,
        courses.course_code,
        courses.is_published
    from courses
    inner join terms on courses.term_id = terms.term_id
    where terms.is_current and not courses.is_non_teaching

)

select * from final
