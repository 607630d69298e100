"""Where the needs lifecycle and the leads meet."""
from matchmaker.enterprises import service as needs
from tests.test_leads_helpers import china, claimed_lead, freeze, owner


def test_an_enterprise_confirms_a_loan_on_its_lead_not_with_a_status_button(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, _ = claimed_lead()
    need = lead.need
    assert need.status == "in_progress"
    enterprise_user = owner(need)
    assert "funded" not in needs.next_statuses(enterprise_user, need, has_leads=True)
    assert "withdrawn" in needs.next_statuses(enterprise_user, need, has_leads=True)


def test_the_need_page_offers_no_bare_funded_button_once_a_bank_works_on_it(
        db, client_as, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 2))
    lead, _ = claimed_lead()
    page = client_as("enterprise", enterprise=lead.need.enterprise).get(
        f"/needs/{lead.need_id}")
    assert page.status_code == 200
    assert 'data-testid="to-funded"' not in page.text
