"""Locust users for issue 13's load figures (run by bench_load.py, headless).

Four people read the pages a city platform serves most: a bank's account manager his lead
inbox, an enterprise its need page, an organizer the home page, a visitor the catalogue.
`Hello` is the baseline: a bare Flask "hello" served the same way. Logins (one per user, at
its start) are reported apart ("login") and left out of the figures.
"""
import json
import os
import re

from locust import HttpUser, between, task

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _people() -> dict:
    path = os.environ.get("BENCH_LOAD_PEOPLE")
    return json.loads(open(path, encoding="utf-8").read()) if path else {}


PEOPLE = _people()
PASSWORD = PEOPLE.get("password", "")


class _Person(HttpUser):
    abstract = True
    wait_time = between(0, 0)  # closed loop: as many requests as the server answers
    email = ""

    def on_start(self):
        page = self.client.get("/login", name="login")
        token = CSRF.search(page.text)
        self.client.post("/login", name="login", data={
            "email": PEOPLE[self.email], "password": PASSWORD,
            "csrf_token": token.group(1) if token else ""})


class BankManager(_Person):
    email = "bank_manager"

    @task
    def inbox(self):
        self.client.get("/leads/", name="lead inbox")


class Enterprise(_Person):
    email = "enterprise"

    @task
    def need(self):
        self.client.get(f"/needs/{PEOPLE['need_id']}", name="need page")


class Organizer(_Person):
    email = "organizer"

    @task
    def home(self):
        self.client.get("/home", name="organizer home")


class Visitor(HttpUser):
    wait_time = between(0, 0)

    @task
    def catalogue(self):
        self.client.get("/catalog/", name="catalogue")


class Hello(HttpUser):
    wait_time = between(0, 0)

    @task
    def hello(self):
        self.client.get("/", name="hello")
