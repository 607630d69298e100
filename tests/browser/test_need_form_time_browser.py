"""The needs form as an owner fills it on a 390 px phone (issue 18: under 3 minutes): every
tap and every typed character is counted, the fields shown before the fold are counted, and
the time is estimated with the touch keystroke-level model below. The figures are printed,
written to test-artifacts/need-form-figures.json and quoted in README.md.

Model (Card, Moran & Newell's KLM, touch variant): a tap 1.0 s (find and reach the target),
a character on the phone's number pad 0.6 s, a decision before each field 1.35 s (M), and 20 s
to read the form once. Fields already filled cost nothing unless changed."""
import json
import re

import pytest

from tests.browser.test_need_form_browser import register

pytestmark = pytest.mark.browser

TAP, CHAR, THINK, READ = 1.0, 0.6, 1.35, 20.0


class Person:
    def __init__(self, page):
        self.page, self.taps, self.chars, self.fields = page, 0, 0, 0

    def tap(self, locator):
        locator.tap()
        self.taps += 1

    def choose(self, locator):
        self.fields += 1
        self.tap(locator)

    def type(self, locator, text):
        self.fields += 1
        self.tap(locator)
        locator.press_sequentially(text)
        self.chars += len(text)

    @property
    def seconds(self) -> float:
        return READ + self.taps * TAP + self.chars * CHAR + self.fields * THINK


def open_fields(page) -> int:
    """Distinct fields a person sees before the fold (inputs by name, outside <details>)."""
    return page.evaluate("""() => {
      const names = new Set();
      document.querySelectorAll('#need-form input, #need-form select, #need-form textarea')
        .forEach(el => {
          if (el.type === 'hidden' || el.closest('details:not([open])') || !el.name) return;
          if (el.closest('.d-none')) return;
          names.add(el.name);
        });
      return names.size;
    }""")


def test_a_first_need_on_a_phone_takes_under_three_minutes(new_page, live_server, artifacts):
    page = new_page(viewport=(390, 844), is_mobile=True, has_touch=True)
    register(page, "重庆计时填表五金制品有限公司")
    owner = Person(page)
    owner.tap(page.get_by_test_id("home-new-need"))
    page.wait_for_url(re.compile(r"/needs/new$"))
    shown = open_fields(page)
    owner.choose(page.locator("label[for=purpose-0]"))
    owner.type(page.get_by_label("融资金额", exact=True), "300")
    owner.type(page.get_by_label("期限", exact=True), "12")
    owner.choose(page.get_by_text("信用（无抵押无担保）"))
    owner.choose(page.get_by_text("同意平台将本需求"))
    owner.tap(page.get_by_test_id("submit-need"))
    page.wait_for_url(re.compile(r"/needs/\d+$"))
    first = {"fields_shown": shown, "fields_touched": owner.fields, "taps": owner.taps,
             "characters": owner.chars, "estimated_seconds": round(owner.seconds, 1)}
    page.screenshot(path=str(artifacts / "need-first-screen-mobile.png"))

    # the next need starts from this one: the amount is all there is to type
    again = Person(page)
    page.goto("/needs")
    again.tap(page.get_by_test_id("new-need"))
    page.wait_for_url(re.compile(r"/needs/new$"))
    again.type(page.get_by_label("融资金额", exact=True), "500")
    again.tap(page.get_by_test_id("submit-need"))
    page.wait_for_url(re.compile(r"/needs/\d+$"))
    second = {"fields_touched": again.fields, "taps": again.taps, "characters": again.chars,
              "estimated_seconds": round(again.seconds, 1)}

    figures = {"first_need": first, "next_need": second,
               "model": {"tap": TAP, "char": CHAR, "think": THINK, "read": READ}}
    (artifacts / "need-form-figures.json").write_text(json.dumps(figures, indent=1))
    print("needs form on a 390 px phone:", figures)
    # purpose, amount, term, guarantee, consent, and the contact and mobile (loop, issue 17)
    # prefilled from the profile: shown, not typed
    assert shown <= 7
    assert first["taps"] <= 8 and first["characters"] <= 6
    assert first["estimated_seconds"] < 180
    assert second["taps"] <= 4
    assert page.console_errors == []
