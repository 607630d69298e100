"""A district's whitelist spreadsheet: the needs template, upload → preview with every row's
problems (the enterprises importer's and the whitelist's own) → all-or-nothing commit, each
row's need listed on the batch with the consent column as its consent to be pushed."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.enterprises.spreadsheet import SHEET
from matchmaker.leads.models import Consent, Lead
from matchmaker.whitelists import rules
from matchmaker.whitelists.models import WhitelistEntry
from tests.factories import EnterpriseFactory, UserFactory
from tests.helpers import assert_audited
from tests.test_spreadsheet_import import payload_of, row, workbook
from tests.test_whitelists_support import bank, batch


@pytest.fixture(autouse=True)
def stash_dir(app, tmp_path):
    app.config["SPREADSHEET_UPLOAD_DIR"] = str(tmp_path)
    yield tmp_path


@pytest.fixture
def yongchuan(db):
    return UserFactory(role="organizer", district="永川区", organization="永川区经济和信息化委员会")


def _client(app, user):
    return app.test_client(user=user)


def upload(client, whitelist, data, recommender="永川区经济和信息化委员会", filename="汇总表.xlsx"):
    return client.post(f"/whitelists/{whitelist.id}/import",
                       data={"file": (io.BytesIO(data), filename), "recommender": recommender},
                       content_type="multipart/form-data")


def commit(client, whitelist, response, recommender="永川区经济和信息化委员会", **choices):
    data = {"payload": payload_of(response), "recommender": recommender}
    data.update({f"choice_{k.removeprefix('row')}": v for k, v in choices.items()})
    return client.post(f"/whitelists/{whitelist.id}/import/commit", data=data)


def _counts(db):
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (Enterprise, Need, WhitelistEntry, Lead, Consent))


def test_template_is_the_needs_template(app, db, yongchuan):
    whitelist = batch(yongchuan)
    db.session.commit()
    response = _client(app, yongchuan).get(f"/whitelists/{whitelist.id}/import/template.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert SHEET in wb.sheetnames
    headers = [c.value for c in wb[SHEET][1]]
    assert "同意向金融机构展示" in headers and "融资用途" in headers


def test_upload_preview_commit_lists_every_row(app, db, yongchuan):
    bank()
    whitelist = batch(yongchuan)
    db.session.commit()
    client = _client(app, yongchuan)
    data = workbook([row(1), row(2, consent_to_share="否", consent_basis=None, amount_wan=500)])
    preview = upload(client, whitelist, data)
    assert preview.status_code == 200, preview.text[:2000]
    assert "将列入名单 2 户" in preview.text
    assert "第3行：企业未同意推送，将列入名单但不会推送给金融机构" in preview.text
    before = _counts(db)
    response = commit(client, whitelist, preview)
    assert response.status_code == 302
    enterprises, needs, entries, lead_count, consents = _counts(db)
    assert (enterprises - before[0], needs - before[1], entries - before[2]) == (2, 2, 2)
    # the consent column is the consent to be PUSHED: nothing was shared on import
    assert (lead_count, consents) == (before[3], before[4])
    items = db.session.scalars(select(WhitelistEntry).where(
        WhitelistEntry.whitelist_id == whitelist.id).order_by(WhitelistEntry.position)).all()
    assert [(i.consent, i.source, i.amount_wan) for i in items] == [
        (True, "spreadsheet", 200), (False, "spreadsheet", 500)]
    # the consent is the organizer's record on the firm's behalf: its basis and recorder
    assert [(i.consent_basis, i.consent_recorded_by_id) for i in items] == [
        ("企业授权书 YC-2026-001", yongchuan.id), (None, None)]
    assert items[0].consent_recorded_at is not None
    assert_audited("whitelist_entry.added", items[0], consent=True,
                   consent_basis="企业授权书 YC-2026-001")
    assert all(i.recommender == "永川区经济和信息化委员会" for i in items)
    assert all(not i.need.consent_to_share and i.need.status == "published" for i in items)
    assert_audited("whitelist.imported", whitelist, rows=2, entries=2)
    # the consenting row is pushable, the other is not
    problems = rules.entry_problems(whitelist)
    assert [rules.blocked(problems[i.id]) for i in items] == [False, True]


def test_one_bad_row_writes_nothing(app, db, yongchuan):
    whitelist = batch(yongchuan)
    db.session.commit()
    client = _client(app, yongchuan)
    before = _counts(db)
    preview = upload(client, whitelist, workbook([row(1), row(2, amount_wan=0)]))
    assert "第3行「融资金额（万元）」：融资金额必须大于0" in preview.text
    assert 'data-testid="commit"' in preview.text and "disabled" in preview.text
    response = commit(client, whitelist, preview)
    assert response.status_code == 400 and "提交未成功，没有写入任何数据" in response.text
    assert _counts(db) == before


def test_a_consent_without_its_basis_is_refused_beside_the_column(app, db, yongchuan):
    whitelist = batch(yongchuan)
    db.session.commit()
    client = _client(app, yongchuan)
    before = _counts(db)
    preview = upload(client, whitelist, workbook([
        row(1), row(2, consent_basis=None), row(3, consent_to_share="否")]))
    assert preview.status_code == 200
    assert "第3行「同意依据」：代企业登记授权须注明依据（如企业签署的书面授权书编号）" in preview.text
    assert "第4行「同意依据」：填写了同意依据，但“同意向金融机构展示”不是“是”" in preview.text
    assert "第2行「同意依据」" not in preview.text
    response = commit(client, whitelist, preview)
    assert response.status_code == 400 and "提交未成功，没有写入任何数据" in response.text
    assert _counts(db) == before


def test_whitelist_rules_on_rows(app, db, yongchuan):
    whitelist = batch(yongchuan)
    db.session.commit()
    client = _client(app, yongchuan)
    enterprise_only = {k: v for k, v in row(2).items()
                       if k not in ("purpose", "loan_kind", "amount_wan", "term_months", "gm_credit",
                                    "consent_to_share", "consent_basis")}
    preview = upload(client, whitelist, workbook([row(1), enterprise_only]))
    assert "第3行：白名单每行须填写一笔融资需求" in preview.text
    assert commit(client, whitelist, preview).status_code == 400


def test_the_city_uploading_to_a_district_batch_keeps_to_the_district(app, db, yongchuan):
    from matchmaker.whitelists.service import submit_whitelist
    from tests.test_whitelists_support import entry, need_in

    whitelist = batch(yongchuan)
    entry(yongchuan, whitelist, need_in())
    submit_whitelist(yongchuan, whitelist)
    town = UserFactory(role="organizer", district=None)
    db.session.commit()
    client = _client(app, town)
    preview = upload(client, whitelist, workbook([row(1, district="江津区")]))
    assert "本批白名单属于永川区，只能列入该区县的企业" in preview.text
    assert commit(client, whitelist, preview).status_code == 400


def test_key_projects_need_a_description(app, db):
    town = UserFactory(role="organizer", district=None)
    whitelist = batch(town, kind="key_projects", title="2026年制造业重点项目白名单")
    db.session.commit()
    client = _client(app, town)
    preview = upload(client, whitelist, workbook([row(1)]))
    assert "重点项目白名单请填写项目名称和内容" in preview.text
    good = row(2, description="电驱系统智能化产线项目\n总投资1.2亿元，建设期18个月")
    preview = upload(client, whitelist, workbook([good]))
    assert commit(client, whitelist, preview).status_code == 302
    item = db.session.scalar(select(WhitelistEntry).where(
        WhitelistEntry.whitelist_id == whitelist.id))
    assert item.project_name == "电驱系统智能化产线项目"


def test_a_similar_name_must_be_chosen_then_merges(app, db, yongchuan):
    existing = EnterpriseFactory(name="重庆导入测试1号机械有限公司", district="永川区")
    whitelist = batch(yongchuan)
    db.session.commit()
    client = _client(app, yongchuan)
    preview = upload(client, whitelist, workbook([row(1, name="重庆导入测试1号机械有限责任公司")]))
    assert "名称与已有企业相近" in preview.text
    assert commit(client, whitelist, preview).status_code == 400  # no choice yet
    response = commit(client, whitelist, preview, row2=f"merge:{existing.id}")
    assert response.status_code == 302
    item = db.session.scalar(select(WhitelistEntry).where(
        WhitelistEntry.whitelist_id == whitelist.id))
    assert item.enterprise_id == existing.id


def test_a_pushed_batch_takes_no_upload(app, db):
    from tests.test_whitelists_support import pushed_batch

    whitelist, _entries, _banks, town = pushed_batch(n_banks=1, n_entries=1)
    db.session.commit()
    client = _client(app, town)
    response = client.get(f"/whitelists/{whitelist.id}/import")
    assert response.status_code == 302
    assert "不能导入" in client.get(response.headers["Location"]).text
