"""The monthly and quarterly Excel report to 市经信委: made by a job, kept as dated files,
downloaded by the organizers of its district (another district's report is 404) (issue 16)."""
import io
from datetime import date

from openpyxl import load_workbook

from matchmaker import clock
from matchmaker.extensions import db
from matchmaker.jobs.registry import REGISTRY
from matchmaker.monitoring import report
from matchmaker.monitoring.models import Report
from tests import test_monitoring_indicators as dataset

world = dataset.world  # the hand-made dataset (clock frozen on 2026-12-04)


def _cells(content: bytes, sheet="主要指标") -> dict:
    ws = load_workbook(io.BytesIO(content))[sheet]
    return {row[1]: row for row in ws.iter_rows(min_row=5, values_only=True)} | {
        "title": ws["A1"].value, "unit": ws["A2"].value}


def test_a_district_organizer_generates_and_downloads_its_report(world, client_as):
    client = client_as("organizer", district="永川区")
    response = client.post("/monitoring/reports", data={"kind": "quarterly", "start": "2026-08-01"})
    assert response.status_code == 302
    made = db.session.query(Report).one()
    assert (made.kind, made.period_start, made.district) == ("quarterly", date(2026, 7, 1), "永川区")
    assert "20261204" in made.filename  # dated
    page = client.get("/monitoring/reports").get_data(as_text=True)
    assert f'data-report="{made.id}"' in page
    download = client.get(f"/monitoring/reports/{made.id}/download")
    assert download.status_code == 200
    cells = _cells(download.data)
    assert cells["title"] == "制造业融资对接监测季报（2026年第3季度）"
    assert cells["unit"] == "填报单位：永川区经济和信息化委员会"
    assert cells["贷款户数"][2:4] == (1, 1)  # Q3: L8 (07-15); last year's Q3: L7 (09-01)
    assert client_as("organizer", district="渝北区").get(
        f"/monitoring/reports/{made.id}/download").status_code == 404
    assert client_as("organizer").get("/monitoring/reports").status_code == 200


def test_the_year_report_figures_and_targets(world):
    content = report.workbook("quarterly", report._period_of("quarterly", date(2026, 4, 1)),
                              "永川区", date(2026, 12, 4))
    cells = _cells(content)
    assert cells["放款笔数"][2:4] == (1, 2)  # Q2 2026: L2; Q2 2025: L6, L5
    assert cells["贷款户数"][4] == "-50.00%" and cells["贷款户数"][6] == "否"  # behind ≥ 10 %
    assert "东至县意见" in cells["贷款户数"][7]


def test_the_daily_job_makes_the_due_reports_once(world, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: dataset.at(date(2026, 10, 11)))
    assert report.due_reports() == [("monthly", date(2026, 9, 1)),
                                    ("quarterly", date(2026, 7, 1))]
    assert len(REGISTRY["monitoring.reports_due"].fn(None)["made"]) == 2
    assert REGISTRY["monitoring.reports_due"].fn(None) == {"made": []}
    monkeypatch.setattr(clock, "now", lambda: dataset.at(date(2026, 11, 10)))
    assert report.due_reports() == []  # the banks' returns are due on the 10th
