"""Issue 18's pages at 390 px (a phone) and 1366 px (an office PC), on the demo platform
(`matchmaker seed`): a screenshot of each (test-artifacts/pages/, git-ignored), the page's
main action inside the first screen on a phone, no sideways scrolling, and axe-core
(tests/browser/vendor/axe-core, MPL-2.0) with no serious or critical violation; on every
page at both widths, Tab alone reaches the main action and its focus shows. The whitelist
chart's labels must not overlap."""
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from matchmaker.accounts.models import User
from matchmaker.enterprises.models import Need
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.institutions.models import Product
from matchmaker.whitelists.models import Push, Whitelist

pytestmark = pytest.mark.browser
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
VIEWPORTS = {"phone": (390, 844), "desktop": (1366, 900)}


@pytest.fixture(scope="module")
def demo(live_server):
    runner = live_server.app.test_cli_runner()
    result = runner.invoke(args=["seed", "--dir", str(SEEDS)])
    assert result.exit_code == 0, result.output
    import json
    users = {u["email"]: u for u in json.loads((SEEDS / "users.json").read_text())["users"]}
    with live_server.app.app_context():
        firm = db.session.scalar(select(User).where(User.email == "qiye1@demo.matchmaker.local"))
        need = db.session.scalar(select(Need).where(Need.enterprise_id == firm.enterprise_id,
                                                    Need.status.in_(("published", "in_progress")))
                                 .order_by(Need.id))
        event = db.session.scalar(select(Event).order_by(Event.id))
        whitelist = db.session.scalar(select(Whitelist).where(Whitelist.status != "draft")
                                      .order_by(Whitelist.id))
        pushed_to = db.session.scalar(select(User).where(
            User.role == "bank_manager",
            User.institution_id.in_(select(Push.institution_id))).order_by(User.id))
        from matchmaker.leads.models import Lead
        manager = db.session.scalar(select(User).where(User.email == MANAGER))
        lead = db.session.scalar(select(Lead).where(
            Lead.institution_id == manager.institution_id,
            Lead.status.in_(("open", "claimed", "contacted"))).order_by(Lead.id))
        return {"users": users, "need": need.id if need else None,
                "lead": lead.id if lead else 0,
                "event": event.id if event else None,
                "whitelist": whitelist.id if whitelist else None,
                "push_manager": pushed_to.email if pushed_to else "cqrcb-kh1@demo.matchmaker.local"}


def log_in(page, demo, email):
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(demo["users"][email]["password"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


MANAGER = "cqrcb-kh1@demo.matchmaker.local"
BANK_ADMIN = "cqrcb-admin@demo.matchmaker.local"
FIRM = "qiye1@demo.matchmaker.local"
ORGANIZER = "jxw@demo.matchmaker.local"

# (name, who, path (demo -> path), the main action's selector)
PAGES = [
    ("inbox", MANAGER, lambda d: "/leads/", '[data-testid="main-action"]'),
    ("team", BANK_ADMIN, lambda d: "/leads/team", '[data-testid="unassigned"]'),
    ("my-needs", FIRM, lambda d: "/needs", '[data-testid="new-need"]'),
    ("need-page", FIRM, lambda d: f"/needs/{d['need']}", ('[data-testid="next-step"] a, '
                                                          '[data-testid="next-step"] button')),
    ("needs-form", FIRM, lambda d: "/needs/new", ('input[name="purpose"] + *, '
                                                 'label[for="purpose-0"]')),
    ("whitelist-pushes", "push_manager", lambda d: "/whitelists/bank",
     '[data-testid="main-action"], [data-testid^="open-push-"]'),
    ("event-requests", FIRM, lambda d: f"/events/{d['event']}/requests",
     '[data-testid^="request-card-"], [data-testid^="request-row-"], .btn-primary'),
    ("organizer-search", ORGANIZER, lambda d: "/enterprises?q=jmzz", 'input[name="q"]'),
    ("catalog", None, lambda d: "/catalog/?q=贴息", '[data-testid="search"]'),
    ("login", None, lambda d: "/login", 'button[type="submit"]'),
    ("register", None, lambda d: "/register", 'main form input:not([type="hidden"])'),
    ("home-enterprise", FIRM, lambda d: "/home", '[data-testid="home-new-need"]'),
    ("home-manager", MANAGER, lambda d: "/home", '[data-testid="home-main-action"]'),
    ("home-organizer", ORGANIZER, lambda d: "/home", '[data-testid="home-main-action"]'),
    ("lead-page", MANAGER, lambda d: f"/leads/{d['lead']}",
     '[data-testid="claim"], [data-testid="claim-card"]'),
    ("pipeline", BANK_ADMIN, lambda d: "/leads/pipeline", "main select, main .btn"),
    ("products", BANK_ADMIN, lambda d: "/institution/products", "main a.btn-primary, main .btn"),
    ("product-form", BANK_ADMIN, lambda d: "/institution/products/new", 'input[name="name"]'),
    ("whitelists", ORGANIZER, lambda d: "/whitelists/", "main a.btn-primary, main .btn"),
    ("whitelist", ORGANIZER, lambda d: f"/whitelists/{d['whitelist']}", "main .btn"),
    ("events", FIRM, lambda d: "/events/", "main a"),
    ("event", FIRM, lambda d: f"/events/{d['event']}", "main .btn, main a"),
    ("close-account", FIRM, lambda d: "/account/close", '[data-testid="close-account"]'),
    ("whitelist-progress", ORGANIZER, lambda d: f"/whitelists/{d['whitelist']}/progress",
     "#whitelist-chart"),
]


def axe_violations(page) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: 'tag',
                                        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
      return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3)
             .map(n => n.target.join(' ')).join(' | '));
    }""")
    return result


def first_visible(page, selector):
    return visible_one(page.locator(selector))


def visible_one(items):
    for i in range(items.count()):
        if items.nth(i).is_visible():
            return items.nth(i)
    return None


def open_page(new_page, demo, size, who, path):
    """A browser page at the size's viewport (touch on a phone), logged in as `who` (none:
    a visitor), on `path` once it has loaded."""
    width, height = VIEWPORTS[size]
    options = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    page = new_page(viewport=(width, height), **options)
    if who:
        log_in(page, demo, demo.get(who, who))
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return page


def assert_fits_a_screen(page, artifacts, name, size, action) -> None:
    """Screenshot; no sideways scrolling; the main action visible (on a phone, inside the
    first screen); no serious or critical axe violation."""
    width, height = VIEWPORTS[size]
    shots = artifacts / "pages"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        "sideways scrolling"
    main = first_visible(page, action)
    assert main is not None, f"no visible main action ({action})"
    if size == "phone":
        box = main.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 48) <= height, \
            f"main action at y={box and box['y']}, below the first screen ({height} px)"
    violations = axe_violations(page)
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
@pytest.mark.parametrize("name,who,path,action", PAGES, ids=[p[0] for p in PAGES])
def test_page(new_page, live_server, artifacts, demo, size, name, who, path, action):
    page = open_page(new_page, demo, size, who, path(demo))
    assert_fits_a_screen(page, artifacts, name, size, action)
    if name == "whitelist-progress":
        labels = overlapping_labels(page)
        assert labels["count"] >= 4, "the chart drew no labels to compare"
        assert labels["overlaps"] == []


def overlapping_labels(page) -> dict:
    return page.evaluate("""() => {
      const texts = [...document.querySelectorAll('#whitelist-chart svg text')]
        .filter(t => t.textContent.trim() && t.getBBox().width > 0);
      const boxes = texts.map(t => [t.textContent, t.getBoundingClientRect()]);
      const out = [];
      for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const [a, r] = boxes[i], [b, s] = boxes[j];
        const dx = Math.min(r.right, s.right) - Math.max(r.left, s.left);
        const dy = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
        if (dx > 1 && dy > 1) out.push(a + ' / ' + b);
      }
      return {count: boxes.length, overlaps: out};
    }""")


# where the main action of PAGES is not itself a control: what the keyboard must reach instead
KEYBOARD_TARGETS = {
    "needs-form": '[data-testid="submit-need"]',      # the picker is checked above; this sends it
    "whitelist-progress": "#whitelist-chart-dimensions button",   # the chart's own controls
    "event-requests": ('[data-testid^="request-card-"] .btn, [data-testid^="request-row-"] .btn, '
                       "main .btn-primary"),         # a card's answer, not the card
}
TABS = 200  # the longest page (the needs form at 390 px) needs under 100

FOCUS_STYLE = """el => {
  // a visually hidden control (Bootstrap's .btn-check radios) shows its focus on its label
  const r = el.getBoundingClientRect();
  const shown = (r.width < 2 || r.height < 2) && el.id
    ? document.querySelector(`label[for="${el.id}"]`) || el : el;
  const s = getComputedStyle(shown), b = shown.getBoundingClientRect();
  return {outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
          shadow: s.boxShadow, border: s.borderColor, background: s.backgroundColor,
          inView: b.bottom > 0 && b.top < innerHeight && b.right > 0 && b.left < innerWidth,
          focusVisible: el.matches(':focus-visible')};
}"""


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
@pytest.mark.parametrize("name,who,path,action", PAGES, ids=[p[0] for p in PAGES])
def test_the_main_action_is_reached_by_keyboard(new_page, live_server, demo, size, name, who,
                                                 path, action):
    """WCAG 2.1.1 and 2.4.7: Tab alone reaches the page's main action, which then shows where
    the focus is (an outline, or a ring or colour it does not have unfocused) on the screen."""
    page = open_page(new_page, demo, size, who, path(demo))
    assert_reached_by_keyboard(page, name, size, KEYBOARD_TARGETS.get(name, action))


def assert_reached_by_keyboard(page, name, size, target) -> None:
    """WCAG 2.1.1 and 2.4.7 for one page already open (see the test above)."""
    width = VIEWPORTS[size][0]
    wanted = first_visible(page, target)
    assert wanted is not None, f"no visible {target}"
    wanted.evaluate("el => el.setAttribute('data-kbd-target', '1')")
    # the control itself when the selector names its wrapper (a card holding the button)
    control = page.locator('[data-kbd-target="1"]:is(a[href], button, input, select, textarea, '
                           '[tabindex]:not([tabindex="-1"])), [data-kbd-target="1"] :is(a[href], '
                           'button, input, select, textarea, [tabindex]:not([tabindex="-1"]))')
    control = visible_one(control)
    assert control is not None, f"{target} on {name} is not a control the keyboard can reach"
    unfocused = control.evaluate(FOCUS_STYLE)
    control.evaluate("el => el.setAttribute('data-kbd-control', '1')")
    page.locator("body").focus()
    for presses in range(1, TABS + 1):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && "
                         "document.activeElement.getAttribute('data-kbd-control') === '1'"):
            break
    else:
        pytest.fail(f"{target} not reached with {TABS} presses of Tab on {name} at {width} px")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # Bootstrap scrolls smoothly: the focused control may still be on its way into view
    try:
        page.wait_for_function("() => { const b = document.activeElement.getBoundingClientRect();"
                               " return b.bottom > 0 && b.top < innerHeight; }", timeout=2000)
    except PlaywrightTimeout:
        pass  # the assertion below says so
    focused = control.evaluate(FOCUS_STYLE)
    assert focused["focusVisible"], f"{name}: the focus is not shown as :focus-visible"
    assert focused["inView"], f"{name}: the focused main action is off the screen"
    assert focused["outline"] or any(focused[k] != unfocused[k]
                                     for k in ("shadow", "border", "background")), \
        f"{name} at {width} px: the main action looks the same focused ({presses} Tabs)"


@pytest.fixture(scope="module")
def published_product(live_server, demo):
    with live_server.app.app_context():
        admin = db.session.scalar(select(User).where(User.email == BANK_ADMIN))
        return db.session.scalar(select(Product.id).where(
            Product.institution_id == admin.institution_id, Product.status == "published")
            .order_by(Product.id))


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_the_preview_of_a_product_change(new_page, live_server, artifacts, demo, size,
                                         published_product):
    """The preview before a published product's change goes out (issue 18): the same checks as
    every page above, its main action being 确认发布."""
    page = open_page(new_page, demo, size, BANK_ADMIN,
                     f"/institution/products/{published_product}/edit")
    page.get_by_label("产品说明").fill("线上申请，三个工作日内审批（预览测试）")
    page.get_by_test_id("preview-product").click()
    page.wait_for_load_state("networkidle")
    assert "预览修改" in page.locator("h1").inner_text()
    assert_fits_a_screen(page, artifacts, "product-preview", size,
                         '[data-testid="confirm-publish"]')
    assert_reached_by_keyboard(page, "product-preview", size, '[data-testid="confirm-publish"]')


def test_a_long_form_says_it_works_and_is_not_sent_twice(new_page, demo, monkeypatch):
    """An invitation "by matches" reads a city's needs (seconds at city scale): while the
    server works the button says so and is disabled; one request is sent."""
    import json
    import time

    from matchmaker.events import service as events

    invite, calls = events.invite, []

    def slow(*args, **kwargs):  # in the live server's thread: as a city's invitation takes
        calls.append(args[2])
        time.sleep(2)
        return invite(*args, **kwargs)

    monkeypatch.setattr(events, "invite", slow)
    page = open_page(new_page, demo, "desktop", ORGANIZER, f"/events/{demo['event']}")
    form = page.get_by_test_id("invite-form")
    form.get_by_label("按匹配结果").check()
    # the page is left once the answer comes: what the form showed meanwhile is kept aside
    page.evaluate("""() => {
      const form = document.querySelector('[data-testid=invite-form]');
      new MutationObserver(() => {
        const button = form.querySelector('button');
        sessionStorage.setItem('busy', JSON.stringify(
          [form.getAttribute('aria-busy'), button.disabled, button.textContent.trim()]));
      }).observe(form, {attributes: true, subtree: true, childList: true});
    }""")
    form.locator("button").click(no_wait_after=True)
    page.wait_for_selector(".alert-success", timeout=15_000)
    assert "已邀请" in page.locator(".alert-success").inner_text()
    assert json.loads(page.evaluate("sessionStorage.getItem('busy')")) == [
        "true", True, "正在查找并邀请…"]
    assert calls == ["matches"]
    assert page.console_errors == []
