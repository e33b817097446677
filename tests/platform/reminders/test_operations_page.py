"""The operations page: queues, workers, a failed job's traceback and its retry, and the
reminder backlog — over the real Valkey server."""

from __future__ import annotations

from rq import SimpleWorker

from formflow.jobs.queue import connect, queue
from formflow.people import service as people
from formflow.reminders.service import schedule
from tests.platform.reminders.test_durability import admin, runtime  # noqa: F401 - fixtures

PASSWORD = "operations password"


def _boom() -> None:
    raise RuntimeError("the mail server said no")


def test_admins_see_queues_failed_jobs_and_the_backlog_and_retry(app, runtime, admin, clock):  # noqa: F811
    app.config["WTF_CSRF_ENABLED"] = False
    with runtime.write() as work:
        user = people.get_user(work, "admin")
        people.set_password(work, user, PASSWORD)
        user.language = "en"
        schedule(
            work, "notify", "later", clock.advance(hours=1), {"user_id": admin.id, "title": "x"}
        )
    jobs = queue(runtime.config.redis_url, runtime.config.reminder_queue)
    jobs.enqueue(_boom, description="send the weekly report")
    SimpleWorker([jobs], connection=connect(runtime.config.redis_url)).work(burst=True)
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert runtime.config.reminder_queue in page
    assert "send the weekly report" in page and "the mail server said no" in page
    assert "<td>pending</td><td>1</td>" in page
    failed_id = jobs.failed_job_registry.get_job_ids()[0]
    answer = client.post(f"/admin/jobs/failed/{failed_id}/retry")
    assert answer.status_code == 302
    assert jobs.count == 1 and jobs.failed_job_registry.count == 0


def test_only_admins_see_background_work(app, runtime, admin):  # noqa: F811
    app.config["WTF_CSRF_ENABLED"] = False
    with runtime.write() as work:
        people.create_user(work, "rep", password=PASSWORD, language="en")
    client = app.test_client()
    client.post("/login", data={"username": "rep", "password": PASSWORD})
    assert client.get("/admin/jobs/").status_code == 403
