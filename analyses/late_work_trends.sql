-- Late and missing work by week of term, over the current term's teaching courses: is the
-- share of late or missing work rising as the term goes on?
with

weekly as (

    select * from {{ ref('mart_student_timeliness_weekly') }}

),

current_term_courses as (

    select * from {{ ref('int_courses__current_term_courses') }}

),

current_term as (

    select weekly.*
    from weekly
    inner join current_term_courses on weekly.course_id = current_term_courses.course_id

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
