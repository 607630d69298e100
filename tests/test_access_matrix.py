"""Every route × every role. A route missing from these tables fails the suite, so a new page
cannot ship without someone deciding who may open it.

The role gate is tested here for every endpoint (403 for a role that may never use it, the
login page for anonymous, and for the roles that may use it: 200 on pages without objects, 404
for an object that does not exist — the same answer another tenant's object gets). The
domains' own access tests (tests/test_*_access.py and friends) open each object page with the
user's own object (200) and another tenant's (404).
"""
import re

import pytest

from tests.conftest import ROLES as BASE_ROLES

# an applicant (a claim on a known enterprise waiting: issue 17 #4) is refused everywhere but
# its own pages: this matrix proves it route by route
ROLES = BASE_ROLES + ("applicant",)
ALL = frozenset(ROLES) - {"anonymous"}
BANK = frozenset({"bank_manager", "bank_admin"})
PARTICIPANTS = frozenset({"enterprise"}) | BANK

# open to anyone, logged in or not
PUBLIC = {"web.index", "policy_cards.cards", "catalog.index", "catalog.product", "catalog.product_version",
          "accounts.login", "accounts.register", "accounts.forgot_password",
          "accounts.reset_password", "accounts.accept_invitation", "accounts.confirm_registration",
          "enterprises.industry_search"}
# any logged-in user (their own account and notifications)
LOGGED_IN = {"web.home", "accounts.change_password", "accounts.logout",
             "enterprises.core_enterprise_suggest", "notifications.index",
             "notifications.open_", "notifications.preferences", "notifications.read_all",
             "jobs.status", "jobs.download"}

ROLE_GATED = {
    "accounts.close_account": {"enterprise"},
    "accounts.invitations": {"admin", "bank_admin", "enterprise"},
    "accounts.invite": {"admin", "bank_admin", "enterprise"},
    "accounts.revoke_invitation": {"admin", "bank_admin", "enterprise"},
    "audit.index": {"admin"},
    "jobs.index": {"admin"},
    "jobs.retry": {"admin"},
    "catalog.export": {"organizer", "admin"},
    "enterprises.change_need_status": {"enterprise", "organizer"},
    "enterprises.edit_need": {"enterprise"},
    "enterprises.edit_profile": {"enterprise"},
    "enterprises.import_commit": {"organizer"},
    "enterprises.invite_first_user": {"organizer"},
    "enterprises.registrations": {"organizer"},
    "enterprises.confirm_registration": {"organizer"},
    "enterprises.refuse_registration": {"organizer"},
    "enterprises.claims": {"organizer", "enterprise"},
    "enterprises.approve_claim": {"organizer", "enterprise"},
    "enterprises.refuse_claim": {"organizer", "enterprise"},
    "enterprises.amend_claim": {"applicant"},
    "enterprises.reapply_claim": {"applicant"},
    "enterprises.import_template": {"organizer"},
    "enterprises.import_upload": {"organizer"},
    "enterprises.need": {"enterprise", "organizer"},
    "enterprises.needs": {"enterprise"},
    "enterprises.new_need": {"enterprise"},
    "enterprises.profile": {"enterprise"},
    "enterprises.search": {"organizer"},
    "enterprises.show": {"organizer"},
    "enterprises.verify_tag": {"organizer"},
    "enterprises.set_ownership": {"organizer"},
    "exchange.confirm": {"admin"},
    "exchange.export": {"admin"},
    "exchange.upload": {"admin"},
    "institutions.confirm_alias": {"organizer", "admin"},
    "institutions.core_groups": {"organizer", "admin"},
    "institutions.new_core_group": {"organizer", "admin"},
    "institutions.edit_core_group": {"organizer", "admin"},
    "institutions.delete_core_group": {"organizer", "admin"},
    "institutions.core_enterprises": {"organizer", "admin"},
    "institutions.edit_core_enterprise": {"organizer", "admin"},
    "institutions.new_core_enterprise": {"organizer", "admin"},
    "institutions.stated_names": {"organizer", "admin"},
    "institutions.edit_product": {"bank_admin"},
    "institutions.new_product": {"bank_admin"},
    "institutions.pause_product": {"bank_admin"},
    "institutions.publish_product": {"bank_admin"},
    "institutions.retire_product": {"bank_admin"},
    "institutions.profile": {"bank_admin"},
    "institutions.product": BANK,
    "institutions.products": BANK,
    "leads.add_followup": {"bank_manager"},
    "leads.approve": {"bank_manager"},
    "leads.claim": {"bank_manager"},
    "leads.decline": {"bank_manager"},
    "leads.withdraw": {"bank_manager"},
    "leads.confirm_funding": {"enterprise"},
    "leads.rate": {"enterprise"},
    "leads.push": {"enterprise"},
    "leads.push_next": {"enterprise"},
    "leads.revoke_consent": {"enterprise"},
    "leads.withdraw_flag_consent": {"enterprise"},
    "leads.progress": {"enterprise", "organizer"},
    "leads.index": BANK,
    "leads.show": BANK,
    "leads.release": BANK,
    "leads.pipeline": {"bank_admin", "organizer"},
    "leads.team_page": {"bank_admin"},
    "leads.assign": {"bank_admin"},
    "leads.deactivate_member": {"bank_admin"},
    "leads.reactivate_member": {"bank_admin"},
    "leads.supervise": {"organizer"},
    "leads.supervise_lead": {"organizer"},
    "leads.supervision": {"organizer"},
    "policy.workdays_page": {"admin"},
    "policy.delete_workday": {"admin"},
    "matching.reach": BANK,
    "monitoring.index": {"organizer"},
    "monitoring.drill": {"organizer"},
    "monitoring.activities": {"organizer"},
    "monitoring.targets": {"organizer", "admin"},
    "monitoring.edit_target": {"admin"},
    "monitoring.edit_criterion": {"admin"},
    "monitoring.scorecard": {"organizer", "admin"},
    "monitoring.overdue_returns": {"organizer"},
    "monitoring.bank_returns": {"bank_admin"},
    "monitoring.reports": {"organizer"},
    "monitoring.generate_report": {"organizer"},
    "monitoring.download_report": {"organizer"},
    "policy.add_rate": {"admin"},
    "policy.edit_program": {"admin"},
    "policy.new_program": {"admin"},
    "policy.confirmations": {"organizer", "admin"},
    "policy.confirm_programme": {"organizer", "admin"},
    "policy.confirm_all": {"organizer", "admin"},
    "policy.revoke_programme": {"organizer", "admin"},
    "policy.edit_setting": {"admin"},
    "policy.index": {"admin"},
    "whitelists.bank_index": BANK,
    "whitelists.bank_push": BANK,
    "whitelists.record_disbursement": BANK,
    **{f"whitelists.{name}": {"organizer"} for name in (
        "add_entries", "add_entry", "add_push", "clear_flag", "close", "edit", "edit_entry",
        "export", "flags", "history", "import_commit", "import_template", "import_upload",
        "index", "new", "new_version", "progress", "propose", "push", "remove_entry",
        "remove_push", "send_back", "set_flag", "show", "submit", "supervise",
        "supervision")},
    **{f"events.{name}": {"organizer"} for name in (
        "add_slots", "attendance", "checkin", "checkin_submit", "edit", "invite",
        "move_meeting", "must_meet", "new", "publish", "registrations", "remove_slot",
        "run_schedule", "schedule", "set_tables", "table_print")},
    **{f"events.{name}": PARTICIPANTS for name in (
        "accept_request", "decline_request", "partners", "register", "result",
        "send_request", "withdraw_request")},
    **{f"events.{name}": PARTICIPANTS | {"organizer"} for name in (
        "agenda", "agenda_ics", "cancel_registration", "index", "qr", "requests", "show")},
    "events.assign_meeting": {"bank_admin"},
}

# values for URL parameters: ids that exist nowhere, so an allowed role meets a 404
PARAMS = {"token": "no-such-token", "code": "high_tech", "key": "guarantee_fee_rate",
          "day": "2026-10-01", "fmt": "svg"}
MISSING_ID = 987654


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _url(rule) -> str:
    def value(match):
        name = match.group(1).split(":")[-1]
        return PARAMS.get(name, str(MISSING_ID))
    return re.sub(r"<([^>]+)>", value, rule.rule)


def _method(rule) -> str:
    return "GET" if "GET" in rule.methods else "POST"


def _cases(app):
    return [(rule, role) for rule in _rules(app) if rule.endpoint in ROLE_GATED
            for role in ROLES]


def test_every_route_has_an_expected_answer(app):
    endpoints = {r.endpoint for r in _rules(app)}
    unclassified = endpoints - PUBLIC - LOGGED_IN - set(ROLE_GATED)
    assert not unclassified, f"routes without an access rule in this file: {unclassified}"
    assert not (set(ROLE_GATED) | PUBLIC | LOGGED_IN) - endpoints, "stale entries"


def test_the_declared_roles_are_the_expected_ones(app):
    for endpoint, expected in ROLE_GATED.items():
        declared = getattr(app.view_functions[endpoint], "allowed_roles", None)
        assert set(declared or ()) == set(expected), endpoint


def test_role_gate_on_every_route(app, client_as):
    clients = {role: client_as(role) for role in ROLES}
    failures = []
    for rule, role in _cases(app):
        url, method = _url(rule), _method(rule)
        response = clients[role].open(url, method=method)
        allowed = role in ROLE_GATED[rule.endpoint]
        status = response.status_code
        if role == "anonymous":
            ok = status in (302, 303) and "/login" in response.headers.get("Location", "")
        elif not allowed:
            ok = status == 403
        elif rule.arguments - {"fmt", "code", "key"}:
            ok = status == 404  # an object that does not exist, like another tenant's
        else:  # an empty POST is refused with a message (400) or back to its page (302)
            ok = status in (200, 302, 400) if method == "POST" else status == 200
        if not ok:
            failures.append(f"{method} {url} as {role}: {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("endpoint", sorted(LOGGED_IN))
def test_logged_in_routes_send_anonymous_to_login(app, client_as, endpoint):
    rule = next(r for r in _rules(app) if r.endpoint == endpoint)
    response = client_as("anonymous").open(_url(rule), method=_method(rule))
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", sorted(ALL))
def test_logged_in_routes_open_for_every_role(app, client_as, role):
    client = client_as(role)
    for endpoint in ("web.home", "accounts.change_password", "notifications.index"):
        rule = next(r for r in _rules(app) if r.endpoint == endpoint)
        assert client.get(_url(rule)).status_code == 200, (endpoint, role)


@pytest.mark.parametrize("endpoint", sorted(PUBLIC))
def test_public_routes_answer_anonymous(app, client_as, endpoint):
    rule = next(r for r in _rules(app) if r.endpoint == endpoint)
    status = client_as("anonymous").get(_url(rule)).status_code
    if rule.arguments:  # a product, version, reset or invitation that does not exist
        assert status in (302, 404)
    else:
        assert status == 200
