{#-
    web_logs requests of students in their own course (M7 base filters), the whole history the
    warehouse kept (canvas_logs.web_logs is append-only past DAP's 30 days, P4).

    Incremental (cd2 mode): new batches of web_logs are added; the pre-hook deletes the requests of
    student x course pairs no longer tracked (enrollment deleted, became pending, test user), and
    pairs that are tracked but hold no rows yet (a new or re-activated enrollment) are read
    from the whole history. Changing cd2_time_zone or cd2_page_views_include_api needs
    `--full-refresh`.
-#}
{{ config(**cd2_request_model_config('int_activity__tracked_students')) }}
{{ cd2_tracked_requests(ref('int_activity__tracked_students')) }}
