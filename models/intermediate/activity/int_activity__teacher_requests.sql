{#-
    web_logs requests of teacher-side people (int_activity__tracked_teachers) in their own
    course, the whole history the warehouse kept, classified as the students' requests are
    (macro cd2_tracked_requests). Read by int_adoption__teacher_page_views and
    int_lti__launches, so a round scans only the new web_logs batches for them.

    Incremental (cd2 mode): new batches of web_logs are added; the pre-hook deletes the requests
    of pairs no longer tracked (enrollment deleted, a test user), and pairs that are tracked but
    hold no rows yet (a new enrollment) are read from the whole history. Changing cd2_time_zone
    or cd2_page_views_include_api needs `--full-refresh`.
-#}
{{ config(**cd2_request_model_config('int_activity__tracked_teachers')) }}
{{ cd2_tracked_requests(ref('int_activity__tracked_teachers')) }}
