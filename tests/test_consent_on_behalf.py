"""A consent recorded on an enterprise's behalf (issue 17, finding 5): the organizer's
spreadsheet cell 同意向金融机构展示 = 是 and an import's consent_to_share name who recorded
them and on what basis, carry only what a bank cannot work without, tell the enterprise, show
on its need page beside a revoke button, and end when it revokes them."""
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker.enterprises import on_behalf
from matchmaker.enterprises import service as enterprises
from matchmaker.enterprises.models import Need
from matchmaker.errors import ServiceError
from matchmaker.leads import consent as consents
from matchmaker.leads import push
from matchmaker.leads import scope as scopes
from matchmaker.leads.models import Consent, Lead
from matchmaker.notifications.models import Notification
from tests.factories import EnterpriseFactory, NeedFactory, ProductFactory, user_for_role
from tests.helpers import assert_audited
from tests.test_leads_helpers import manager, matched, owner
from tests.test_spreadsheet_import import commit, row, upload, workbook

BASIS = "永川区经信委收存的企业授权书 YC-2026-017"
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def stash_dir(app, tmp_path):
    app.config["SPREADSHEET_UPLOAD_DIR"] = str(tmp_path)
    app.config["EXCHANGE_UPLOAD_DIR"] = str(tmp_path / "uploads")


@pytest.fixture
def yongchuan(db):
    return user_for_role("organizer", district="永川区", name="刘科长",
                         organization="永川区经济和信息化委员会")


def _count(model, *where) -> int:
    from matchmaker.extensions import db
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _firm_with_a_user():
    firm = EnterpriseFactory(district="永川区")
    return firm, user_for_role("enterprise", enterprise=firm)


def _sheet_for(firm, **cells):
    values = row(1, name=firm.name, uscc=firm.uscc, consent_basis=BASIS)
    values.update(cells)
    return workbook([values])


# --- the spreadsheet ----------------------------------------------------------------------------

def test_a_yes_without_its_basis_is_refused_beside_the_column(app, db, yongchuan):
    client = app.test_client(user=yongchuan)
    preview = upload(client, workbook([row(1, consent_basis=None),
                                       row(2, consent_to_share="否"),
                                       row(3, consent_to_share=None, consent_basis=" ")]))
    text = preview.text
    assert "第2行「同意依据」：代企业登记授权须注明依据（如企业签署的书面授权书编号）" in text
    assert "第3行「同意依据」：填写了同意依据，但“同意向金融机构展示”不是“是”" in text
    assert "第4行「同意依据」" not in text  # a blank cell is no basis
    before = _count(Need)
    assert commit(client, preview).status_code == 400
    assert _count(Need) == before


def test_a_basis_over_the_limit_is_refused(app, db, yongchuan):
    preview = upload(app.test_client(user=yongchuan),
                     workbook([row(1, consent_basis="授" * (on_behalf.BASIS_MAX + 1))]))
    assert f"第2行「同意依据」：授权依据不超过{on_behalf.BASIS_MAX}个字" in preview.text


def test_a_template_from_before_the_basis_column_is_still_read(app, db, yongchuan):
    client = app.test_client(user=yongchuan)
    old_columns = [c.header for c in __import__(
        "matchmaker.enterprises.spreadsheet", fromlist=["COLUMNS"]).COLUMNS
        if c.key != "consent_basis"]
    preview = upload(client, workbook([row(1, consent_to_share="否", consent_basis=None)],
                                      columns=old_columns))
    assert "缺少列" not in preview.text and "将发布需求 1 条" in preview.text
    refused = upload(client, workbook([row(2, consent_basis=None)], columns=old_columns))
    assert "第2行「同意依据」：代企业登记授权须注明依据" in refused.text


def test_the_spreadsheet_records_the_consent_on_the_firms_behalf(app, db, yongchuan):
    firm, user = _firm_with_a_user()
    bank_product = ProductFactory()  # matches the row: working capital, 200万, 12 months
    client = app.test_client(user=yongchuan)
    preview = upload(client, _sheet_for(firm))
    assert preview.status_code == 200 and "将发布需求 1 条" in preview.text, preview.text[-3000:]
    assert commit(client, preview).status_code == 302

    need = db.session.scalar(select(Need).where(Need.enterprise_id == firm.id))
    assert need.consent_to_share and need.consent_basis == BASIS
    assert need.consent_recorded_by_id == yongchuan.id and need.consent_recorded_at is not None
    assert_audited("need.consent_recorded", need, basis=BASIS, via="spreadsheet")
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()
    assert note.kind == "need.consent_recorded" and note.link == f"/needs/{need.id}"
    assert "刘科长（永川区经济和信息化委员会）代贵企业登记了授权" in note.message
    assert BASIS in note.message and need.ref in note.message

    # the flag's consent: the bank that matched, only the required profile fields, the basis
    given = consents.live_consent(need.id, bank_product.institution_id)
    assert given is not None and given.via == "flag"
    assert given.scope == list(scopes.REQUIRED)
    assert (given.basis, given.recorded_by_id, given.granted_by_id) == (BASIS, yongchuan.id, None)
    assert_audited("consent.granted", given, basis=BASIS, recorded_by_id=yongchuan.id)


def test_the_enterprise_sees_who_recorded_it_and_on_what_basis_and_revokes_it(app, db, yongchuan):
    firm, user = _firm_with_a_user()
    bank_product = ProductFactory()
    client = app.test_client(user=yongchuan)
    commit(client, upload(client, _sheet_for(firm)))
    need = db.session.scalar(select(Need).where(Need.enterprise_id == firm.id))
    lead = db.session.scalar(select(Lead).where(Lead.need_id == need.id))
    banker = app.test_client(user=manager(bank_product.institution))
    lead_page = banker.get(f"/leads/{lead.id}")
    assert lead_page.status_code == 200
    assert firm.name in lead_page.text and firm.uscc not in lead_page.text  # optional: withheld

    mine = app.test_client(user=user)
    page = mine.get(f"/needs/{need.id}").text
    box = page.split('data-testid="consent-on-behalf"')[1].split("</form>")[0]
    assert "刘科长（永川区经济和信息化委员会）" in box and BASIS in box
    assert "企业名称、所在区县、行业代码、企业规模、联系人及电话" in box
    assert 'data-testid="withdraw-flag-consent"' in box
    per_bank = page.split(f'data-testid="consent-recorded-{bank_product.institution_id}"')[1]
    assert per_bank.startswith(">刘科长（永川区经济和信息化委员会）代为登记，依据：" + BASIS)
    # the organizer sees the same record, without the enterprise's button
    seen = app.test_client(user=yongchuan).get(f"/needs/{need.id}").text
    assert BASIS in seen and 'data-testid="withdraw-flag-consent"' not in seen

    response = mine.post(f"/leads/needs/{need.id}/withdraw-consent")
    assert response.status_code == 302
    assert "已撤回授权：1家机构将不能再查看本需求" in mine.get(f"/needs/{need.id}").text
    db.session.refresh(need)
    assert not need.consent_to_share and need.consent_basis is None
    gone = db.session.scalar(select(Consent).where(Consent.need_id == need.id))
    assert gone.revoked_at is not None and gone.revoke_reason == "withdrawn"
    assert gone.basis == BASIS  # the history keeps what was recorded
    assert_audited("need.consent_withdrawn", need, basis=BASIS, recorded_by_id=yongchuan.id)
    assert banker.get(f"/leads/{lead.id}").status_code == 404
    # the flag is off and the revocation stands: a re-match grants nothing again
    push.sync_consent_from_flag(need)
    assert consents.live_consents(need) == []


def test_withdrawing_twice_is_refused_in_chinese(app, db):
    need = NeedFactory(consent_to_share=False)
    client = app.test_client(user=owner(need))
    db.session.commit()  # the refusal rolls the request back; the user must survive it
    client.post(f"/leads/needs/{need.id}/withdraw-consent")
    assert "本需求没有向匹配机构提供信息的授权，无需撤回" in client.get(f"/needs/{need.id}").text


def test_a_push_keeps_its_own_consent_when_the_recorded_one_is_withdrawn(db):
    need = NeedFactory(consent_to_share=True, consent_basis=BASIS)
    _need, flagged, _ = matched(need)
    _need, pushed, _ = matched(need)
    push.sync_consent_from_flag(need)
    push.push_need(owner(need), need, [pushed.id], [])  # the firm's own choice, same scope
    assert consents.live_consent(need.id, pushed.id).via == "push"
    push.withdraw_flag_consent(owner(need), need)
    assert consents.live_consent(need.id, flagged.id) is None
    assert consents.live_consent(need.id, pushed.id).basis is None


def test_an_organizer_creating_a_shared_need_must_name_the_basis(db, yongchuan):
    firm = EnterpriseFactory(district="永川区")
    values = {"purpose": "working_capital", "loan_kind": "new", "amount_wan": 200, "term_months": 12,
                  "guarantee_modes": ["credit"], "consent_to_share": True}
    with pytest.raises(ServiceError) as refused:
        enterprises.create_need(yongchuan, firm, publish=True, via="spreadsheet", **values)
    assert refused.value.field == "consent_basis"
    assert refused.value.message == on_behalf.BASIS_REQUIRED
    # the firm's own user consents itself: no basis, nobody recorded it for them
    need = enterprises.create_need(user_for_role("enterprise", enterprise=firm), firm,
                                   publish=True, **values)
    assert need.consent_basis is None and need.consent_recorded_by_id is None


def test_the_bulk_flag_path_carries_the_basis(db):
    need = NeedFactory(consent_to_share=True, status="published", consent_basis=BASIS,
                       consent_recorded_by_id=user_for_role("admin").id)
    _need, bank, _product = matched(need)
    from matchmaker.extensions import db as _db
    from matchmaker.matching.models import Match
    _db.session.execute(Match.__table__.update().values(institution_best=True))
    assert push.sync_flag_consents_for_needs([need.id]) == 1
    given = consents.live_consent(need.id, bank.id)
    assert (given.basis, given.recorded_by_id) == (BASIS, need.consent_recorded_by_id)
    assert given.scope == list(scopes.REQUIRED)
    assert_audited("consent.granted", given, basis=BASIS)


# --- the exchange: the admin's upload page ---------------------------------------------------

def _example(flags: dict[str, bool]) -> bytes:
    doc = json.loads((DATA / "example.json").read_text(encoding="utf-8"))
    for need in doc["needs"]:
        need["consent_to_share"] = flags.get(need["ref"], False)
    return json.dumps(doc, ensure_ascii=False).encode()


def test_an_admin_import_records_consents_with_the_basis_and_tells_the_firm(app, client_as, db):
    from matchmaker.exchange.service import import_document

    import_document(json.loads(_example({})))  # the firms are on the platform already
    need = db.session.scalar(select(Need).where(Need.ref == "N-01"))
    user = user_for_role("enterprise", enterprise=need.enterprise)
    admin = client_as("admin", name="平台运维")
    db.session.commit()
    preview = admin.post("/admin/exchange/", data={
        "document": (io.BytesIO(_example({"N-01": True})), "x.json")},
        content_type="multipart/form-data")
    assert "代企业登记授权：1 条融资需求" in preview.text and "<code class=\"me-1 text-body\">N-01</code>" \
        in preview.text
    token = preview.text.split('name="token" type="hidden" value="')[1].split('"')[0]
    response = admin.post("/admin/exchange/confirm", data={"token": token,
                                                           "consent_basis": BASIS})
    assert response.status_code == 302, response.text[-2000:]
    db.session.refresh(need)
    assert need.consent_to_share and need.consent_basis == BASIS
    assert need.consent_recorded_by.name == "平台运维"
    note = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
    assert note is not None and "平台运维（平台管理员）代贵企业登记了授权" in note.message
    assert_audited("need.consent_recorded", need, via="import", basis=BASIS)
    # only N-01's flag turned on: the other needs record nothing
    other = db.session.scalar(select(Need).where(Need.ref == "N-02"))
    assert other.consent_basis is None


def test_a_file_turning_the_flag_off_clears_the_record(db):
    from matchmaker.exchange.service import import_document

    import_document(json.loads(_example({"N-01": True})), BASIS)
    need = db.session.scalar(select(Need).where(Need.ref == "N-01"))
    assert need.consent_basis == BASIS and need.consent_recorded_by_id is None
    import_document(json.loads(_example({})))
    assert not need.consent_to_share and need.consent_basis is None


def test_a_platform_import_without_a_basis_records_no_basis(db):
    # tests and benchmarks load data without one; the CLI and the page require it
    from matchmaker.exchange.service import import_document

    report = import_document(json.loads(_example({"N-01": True})))
    assert [c.ref for c in report.consents] == ["N-01"]
    need = db.session.scalar(select(Need).where(Need.ref == "N-01"))
    assert need.consent_basis is None
