"""The monitoring pages: a district organizer sees its district only (even when it asks for
another), the figures link to their leads, targets are marked and edited by admins with a
source, activities count toward enterprises served (issue 16). The role gate of every route
is in tests/test_access_matrix.py."""
import re
from datetime import date

from matchmaker.audit.models import AuditEntry
from matchmaker.extensions import db
from matchmaker.monitoring.models import Activity, Target
from tests import test_monitoring_indicators as dataset

at = dataset.at
world = dataset.world  # the hand-made dataset, as a fixture here too

YEAR = "?kind=year&year=2026"


def test_district_organizer_sees_its_district_even_when_asking_for_another(world, client_as):
    client = client_as("organizer", district="永川区")
    page = client.get(f"/monitoring/{YEAR}&district=渝北区").get_data(as_text=True)
    assert "监测督导 · 2026年 · 永川区" in page
    assert 'data-figure="borrowers"><a' in page and ">4</a>" in page  # 永川's 4 户, not 5
    assert "渝北区" not in page.split('id="by-district"')[1].split("</table>")[0]
    drill = client.get(f"/monitoring/drill{YEAR}&figure=funded&dimension=district&key=渝北区")
    assert drill.status_code == 200
    assert f'data-lead="{world["leads"][4].id}"' not in drill.get_data(as_text=True)


def test_city_organizer_filters_a_district_and_drills_into_a_figure(world, client_as):
    client = client_as("organizer")
    page = client.get(f"/monitoring/{YEAR}").get_data(as_text=True)
    table = page.split('id="by-district"')[1].split("</table>")[0]
    assert "永川区" in table and "渝北区" in table
    drill = client.get(f"/monitoring/drill{YEAR}&figure=first_loan").get_data(as_text=True)
    leads = world["leads"]
    shown = {lead.id for lead in leads.values() if f'data-lead="{lead.id}"' in drill}
    assert shown == {leads[1].id, leads[8].id, leads[4].id}  # 2026's first loans, both districts
    assert world["yc"][1].name in drill  # the enterprise's name, linked for the organizer
    assert world["yc"][1].uscc not in drill and "联系人" not in drill.split("<table")[1]
    assert client.get(f"/monitoring/drill{YEAR}&figure=nonsense").status_code == 404


def test_a_figure_behind_its_target_is_marked(world, client_as):
    db.session.get(Target, "borrowers_growth").value = 50  # 永川 grew 33.33 %
    page = client_as("organizer", district="永川区").get(f"/monitoring/{YEAR}").get_data(
        as_text=True)
    assert 'data-behind="borrowers_growth"' in page
    assert 'data-behind="rate_change"' not in page  # the rate fell: 降本 met


def test_bad_period_arguments_fall_back_quietly(world, client_as):
    client = client_as("organizer")
    assert client.get("/monitoring/?kind=week&year=1800&number=99").status_code == 200
    # a malformed number is refused app-wide (issue 19: malformed query numbers are 400)
    assert client.get("/monitoring/?year=abc").status_code == 400
    assert client.get("/monitoring/?kind=quarter&year=2026&number=9").status_code == 200


def test_admin_edits_a_target_with_its_source(client_as):
    client = client_as("admin")
    response = client.post("/monitoring/targets/borrowers_growth",
                           data={"value": "12", "source": ""})
    assert response.status_code == 400
    assert "请注明目标值的政策依据" in response.get_data(as_text=True)
    response = client.post("/monitoring/targets/borrowers_growth",
                           data={"value": "12", "source": "2027年区政府工作报告"})
    assert response.status_code == 302
    target = db.session.get(Target, "borrowers_growth")
    assert (target.value, target.source) == (12, "2027年区政府工作报告")
    assert db.session.query(AuditEntry).filter_by(action="monitoring.target_updated").count() == 1
    assert client.get("/monitoring/targets/no_such_target").status_code == 404
    page = client_as("organizer").get("/monitoring/targets").get_data(as_text=True)
    assert "渝经信规范〔2024〕7号" in page and "/monitoring/targets/" not in page  # no edit link


def test_a_district_organizer_records_an_activity_for_its_own_district(client_as, monkeypatch):
    from matchmaker import clock
    monkeypatch.setattr(clock, "now", lambda: at(date(2026, 12, 4)))
    client = client_as("organizer", district="永川区")
    form = {"kind": "roadshow", "title": "永川区智能装备路演", "day": "2026-11-20",
            "district": "渝北区", "enterprises": "12", "institutions": "5",
            "attendees": "重庆甲公司\n重庆乙公司"}
    assert client.post("/monitoring/activities", data=form).status_code == 400  # not its own
    form["district"] = ""  # the service puts the organizer's district in
    assert client.post("/monitoring/activities", data=form).status_code == 302
    activity = db.session.query(Activity).one()
    assert (activity.district, activity.enterprises) == ("永川区", 12)
    late = client.post("/monitoring/activities", data={**form, "day": "2027-01-05"})
    assert late.status_code == 400 and "活动日期不能晚于今天" in late.get_data(as_text=True)
    bad = client.post("/monitoring/activities", data={**form, "enterprises": "-1"})
    assert bad.status_code == 400 and "0到10000家" in bad.get_data(as_text=True)
    other = client_as("organizer", district="渝北区").get("/monitoring/activities")
    assert "永川区智能装备路演" not in other.get_data(as_text=True)
    page = client.get(f"/monitoring/{YEAR}").get_data(as_text=True)
    assert "线下活动 12" in page


def test_the_stored_figures_are_recomputed_when_a_lead_changes(world, client_as, app,
                                                                monkeypatch):
    from matchmaker.monitoring import snapshots
    from matchmaker.monitoring.indicators import Period, Slice
    from matchmaker.monitoring.models import Snapshot
    monkeypatch.setitem(app.config, "MONITORING_MAX_AGE_SECONDS", 900)
    client = client_as("organizer", district="永川区")
    page = client.get(f"/monitoring/{YEAR}").get_data(as_text=True)
    assert borrowers(page) == 4 and "数据更新于 10:00" in page and "正在后台更新" not in page
    row = db.session.get(Snapshot, snapshots.key_of(Period("year", 2026), Slice("永川区")))
    assert row.computed_at == at(date(2026, 12, 4)) and row.district == "永川区"
    row.figures = snapshots.encode(dataset.indicators(Period("year", 2025), Slice("永川区")))
    db.session.flush()  # a worker reads what is stored, not its own memory: 2025's 3 户 now
    assert borrowers(client.get(f"/monitoring/{YEAR}").get_data(as_text=True)) == 3
    lead = world["leads"][3]
    lead.status, lead.funded_at = "approved", None  # the leasing loan is no longer funded
    lead.updated_at = at(date(2026, 12, 4), 11)
    db.session.flush()
    page = client.get(f"/monitoring/{YEAR}").get_data(as_text=True)
    # the stamp changed: recomputed (in the refresh job, inline here) before the page renders
    assert borrowers(page) == 3
    assert dataset.indicators(Period("year", 2026), Slice("永川区")).funded.borrowers == 3
    assert row.computed_at == at(date(2026, 12, 4)) and row.stamp == snapshots.stamp("永川区")


def borrowers(page: str) -> int:
    return int(re.search(r'data-figure="borrowers"><a [^>]*>(\d+)</a>', page).group(1))


def test_changed_figures_are_shown_marked_while_the_refresh_job_waits(world, client_as, app,
                                                                      monkeypatch):
    """With a refresh already waiting in the queue (a busy worker), the page serves what is
    stored, says when it was computed and that it is being updated; once the job has run,
    the figures are the new ones."""
    from matchmaker.jobs import runner
    from matchmaker.jobs.models import Job
    from matchmaker.monitoring import snapshots
    monkeypatch.setitem(app.config, "MONITORING_MAX_AGE_SECONDS", 900)
    client = client_as("organizer", district="永川区")
    assert borrowers(client.get(f"/monitoring/{YEAR}").get_data(as_text=True)) == 4
    waiting = Job(kind="monitoring.refresh", params={"warm": False}, description="更新监测督导数据",
                  key=snapshots.REFRESH_KEY, status="queued")
    db.session.add(waiting)
    lead = world["leads"][3]
    lead.status, lead.funded_at = "approved", None
    lead.updated_at = at(date(2026, 12, 4), 11)
    db.session.flush()
    page = client.get(f"/monitoring/{YEAR}").get_data(as_text=True)
    assert borrowers(page) == 4 and "data-updating" in page
    assert "数据更新于 10:00（此后线索有变化或数据已超过15分钟，正在后台更新" in page
    assert db.session.query(Job).filter_by(kind="monitoring.refresh").count() == 1  # reused
    assert runner.run_inline(waiting) == "done"
    page = client.get(f"/monitoring/{YEAR}").get_data(as_text=True)
    assert borrowers(page) == 3 and "data-updating" not in page
