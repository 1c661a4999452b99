-- Late and missing work by week of term, over the current term's teaching courses: is the
-- share of late or missing work rising as the term goes on?
with

weekly as (

    select * from {{ ref('mart_student_timeliness_weekly') }}

),

courses as (

    select * from {{ ref('dim_course') }}

),

terms as (

    select * from {{ ref('dim_term') }}

),

current_term as (

    select weekly.*
    from weekly
    inner join courses on weekly.course_id = courses.course_id
    inner join terms on courses.term_id = terms.term_id
    where terms.is_current and not courses.is_non_teaching

),

final as (

    select
        week_in_term,
        count(distinct course_id) as n_courses,
        sum(n_assigned_due) as n_assigned_due,
        sum(n_late) as n_late,
        sum(n_missing) as n_missing,
        sum(n_late) / nullif(sum(n_assigned_due - n_excused), 0) as late_share,
        sum(n_missing) / nullif(sum(n_assigned_due - n_excused), 0) as missing_share
    from current_term
    group by 1

)

select * from final
order by 1
