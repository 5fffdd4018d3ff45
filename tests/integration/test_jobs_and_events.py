"""Jobs and automation events, as the API shows them."""

from __future__ import annotations

from stocksync.api.context import services


def test_given_a_job_reported_from_two_workers_when_read_then_progress_and_errors_add_up(api):
    jobs = services().jobs
    job = jobs.create("catalogue_load", subject="channel-1", total=10, job_id="load-1")
    jobs.start(job.job_id)
    jobs.progress(job.job_id, done=4, bytes_done=100, errors=[{"row": 3, "field": "price", "reason": "not a number"}])
    jobs.progress(job.job_id, done=6, bytes_done=150)
    jobs.finish(job.job_id, succeeded=True, result={"created": 9})

    answer = api.get("/jobs/load-1").body

    assert (answer["status"], answer["done"], answer["total"], answer["bytes_done"]) == ("succeeded", 10, 10, 250)
    assert answer["errors"] == [{"row": 3, "field": "price", "reason": "not a number"}]
    assert answer["result"] == {"created": 9}
    assert [j.job_id for j in jobs.list_for("channel-1")] == ["load-1"]


def test_given_a_job_created_twice_with_one_id_when_read_then_there_is_one(api):
    jobs = services().jobs
    first = jobs.create("auto_link", subject="c", job_id="same")
    jobs.progress("same", done=1)
    again = jobs.create("auto_link", subject="c", job_id="same")
    assert first.job_id == again.job_id
    assert int(again.done) == 1


def test_given_unknown_job_when_read_then_404(api):
    assert api.get("/jobs/nope").status == 404


def test_given_automation_events_when_listed_then_newest_first_and_filtered_by_kind(api):
    channel = api.post("/channels", {"name": "Rakuten", "type": "rakuten"}).body["channel_id"]
    log = services().automation_log
    log.record(channel, "RAKUTEN_MAPPING_SYNC", "Listings report fetched", {"listings": 12})
    log.record(channel, "CATALOGUE_LOADED", "12 listings loaded")

    events = api.get(f"/channels/{channel}/events").body["events"]
    only_sync = api.get(f"/channels/{channel}/events", kind="RAKUTEN_MAPPING_SYNC").body["events"]

    assert [e["kind"] for e in events] == ["CATALOGUE_LOADED", "RAKUTEN_MAPPING_SYNC"]
    assert only_sync[0]["details"] == {"listings": 12}


def test_given_a_subjects_jobs_when_listed_then_newest_first_paged_and_only_that_subjects(api):
    jobs = services().jobs
    for number in range(3):
        jobs.create("auto_link", subject="channel-paged", job_id=f"paged-{number}")
    jobs.create("auto_link", subject="another-channel", job_id="elsewhere")
    jobs.finish("paged-2", succeeded=True, result={"linked": 4})

    first = api.get("/jobs", subject="channel-paged", limit="2").body
    rest = api.get("/jobs", subject="channel-paged", limit="2", cursor=first["next_cursor"]).body

    assert [job["job_id"] for job in first["jobs"]] == ["paged-2", "paged-1"]
    assert first["jobs"][0]["status"] == "succeeded" and first["jobs"][0]["result"] == {"linked": 4}
    assert [job["job_id"] for job in rest["jobs"]] == ["paged-0"]
    assert rest["next_cursor"] is None


def test_given_no_subject_when_jobs_are_listed_then_the_request_is_refused(api):
    assert api.get("/jobs").status == 422
