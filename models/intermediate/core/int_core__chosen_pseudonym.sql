{#-
    The one login (pseudonym) that stands for each user (P9, T14), without its identifiers.
    Inst ID logins (`is_inst_id`, written by Canvas Identity) are never chosen; a null flag
    (data from before CD2 carried it) counts as a regular login.
    1. the login the user's SIS enrollments name (`enrollments.sis_pseudonym_id`, most recently
       updated enrollment first), if that login is the user's and not deleted;
    2. else an active login, one with an SIS id first, then by `position` (Canvas's own order
       for SIS pseudonyms);
    3. else any login of the user, non-deleted first, then by SIS id, `position`, id.
-#}
with

users as (

    select * from {{ ref('stg_canvas__users') }}

),

pseudonyms as (

    select * from {{ ref('stg_canvas__pseudonyms') }}

),

pii_logins as (

    -- restricted: read only to know whether a login carries an SIS id
    select * from {{ ref('pii_logins') }}

),

enrollments as (

    select * from {{ ref('stg_canvas__enrollments') }}

),

logins as (

    -- the user's own logins: Inst ID logins are Canvas Identity's rows, not a login to choose
    select
        pseudonyms.pseudonym_id,
        pseudonyms.user_id,
        pseudonyms.workflow_state,
        pseudonyms.is_deleted,
        pseudonyms.position,
        pii_logins.sis_user_id is not null as has_sis_id
    from pseudonyms
    left join pii_logins on pseudonyms.pseudonym_id = pii_logins.pseudonym_id
    where not coalesce(pseudonyms.is_inst_id, false)

),

sis_enrollment_logins as (

    select
        enrollments.user_id,
        enrollments.sis_pseudonym_id as pseudonym_id,
        1 as preference,
        row_number() over (
            partition by enrollments.user_id
            order by enrollments.updated_at desc nulls last, enrollments.enrollment_id desc
        ) as rank_in_preference
    from enrollments
    inner join logins
        on
            enrollments.sis_pseudonym_id = logins.pseudonym_id
            and enrollments.user_id = logins.user_id
    where not logins.is_deleted

),

active_logins as (

    select
        user_id,
        pseudonym_id,
        2 as preference,
        row_number() over (
            partition by user_id
            order by
                not has_sis_id asc,
                position asc nulls last,
                pseudonym_id asc
        ) as rank_in_preference
    from logins
    where workflow_state = 'active'

),

any_logins as (

    select
        user_id,
        pseudonym_id,
        3 as preference,
        row_number() over (
            partition by user_id
            order by
                is_deleted asc,
                not has_sis_id asc,
                position asc nulls last,
                pseudonym_id asc
        ) as rank_in_preference
    from logins

),

candidates as (

    select * from sis_enrollment_logins
    union all
    select * from active_logins
    union all
    select * from any_logins

),

ranked_candidates as (

    select
        user_id,
        pseudonym_id,
        preference,
        row_number() over (
            partition by user_id
            order by preference asc, rank_in_preference asc
        ) as rank_of_candidate
    from candidates
    where user_id is not null

),

chosen as (

    select
        user_id,
        pseudonym_id,
        preference
    from ranked_candidates
    where rank_of_candidate = 1

),

final as (

    select
        chosen.user_id,
        chosen.pseudonym_id,
        case chosen.preference
            when 1 then 'sis_enrollment'
            when 2 then 'active_login'
            else 'any'
        end as chosen_by,
        logins.has_sis_id
    from chosen
    inner join users on chosen.user_id = users.user_id
    inner join logins on chosen.pseudonym_id = logins.pseudonym_id

)

select * from final
