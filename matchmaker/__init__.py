"""matchmaker: the bank–enterprise financing platform (Flask app factory)."""
import importlib
import logging
import os
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent

# every domain's models, imported so that Alembic autogenerate and relationships see all tables
MODEL_MODULES = (
    "matchmaker.accounts.models", "matchmaker.institutions.models",
    "matchmaker.enterprises.models", "matchmaker.audit.models", "matchmaker.policy.models",
    "matchmaker.matching.models",
    "matchmaker.leads.models", "matchmaker.notifications.models",
    "matchmaker.whitelists.models",
    "matchmaker.events.models", "matchmaker.jobs.models", "matchmaker.monitoring.models",
    "matchmaker.web.models",
)

# each domain's reactions to the others' signals (matchmaker/signals.py): imported once, they
# connect for the life of the process
SUBSCRIBER_MODULES = (
    "matchmaker.enterprises.subscribers", "matchmaker.institutions.subscribers",
    "matchmaker.matching.subscribers", "matchmaker.leads.subscribers",
    "matchmaker.monitoring.subscribers",
)

# each domain's background job functions (matchmaker/jobs/registry.py): imported once, they
# register by name, so a worker can run any job the web enqueued
JOB_MODULES: tuple[str, ...] = (
    "matchmaker.matching.jobs", "matchmaker.exchange.jobs", "matchmaker.leads.jobs",
    "matchmaker.whitelists.jobs", "matchmaker.notifications.jobs",
    "matchmaker.enterprises.jobs", "matchmaker.institutions.jobs", "matchmaker.catalog.jobs",
    "matchmaker.monitoring.jobs",
)

BLUEPRINTS = (
    "matchmaker.web.views", "matchmaker.accounts.views", "matchmaker.audit.views",
    "matchmaker.exchange.views",
    "matchmaker.enterprises.views",
    "matchmaker.institutions.views", "matchmaker.catalog.views", "matchmaker.policy.views",
    "matchmaker.policy.public",
    "matchmaker.leads.views", "matchmaker.notifications.views", "matchmaker.matching.views",
    "matchmaker.whitelists.views",
    "matchmaker.events.views", "matchmaker.jobs.views", "matchmaker.monitoring.views",
)


def create_app(overrides: dict | None = None, require_secret: bool = True) -> Flask:
    """The app. `require_secret=False` only for command-line work that serves no web request
    (matchmaker import, export, match, db …): there a missing secret key is no error."""
    instance = os.environ.get("MATCHMAKER_INSTANCE_PATH") or str(ROOT / "instance")
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), instance_path=instance)
    app.config.from_object("matchmaker.config.Defaults")
    app.config.from_prefixed_env("MATCHMAKER")  # MATCHMAKER_SECRET_KEY -> SECRET_KEY
    app.config.update(overrides or {})
    _resolve_database(app)
    _resolve_secret_key(app, require_secret)
    logging.basicConfig(level=app.config["LOG_LEVEL"],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic announces every autogenerate plugin at INFO on each command
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    _import_models()
    from .web.setup import register_extensions, register_web

    register_extensions(app)
    register_web(app)
    _trust_proxy(app)
    _register_blueprints(app)
    from .commands import register_commands

    register_commands(app)
    return app


def _resolve_database(app: Flask) -> None:
    from .extensions import json_text, json_value

    url = app.config.get("DATABASE_URL")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'matchmaker.sqlite3'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["DATABASE_URL"] = url
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    options.setdefault("json_serializer", json_text)
    options.setdefault("json_deserializer", json_value)


def _resolve_secret_key(app: Flask, required: bool = True) -> None:
    """MATCHMAKER_SECRET_KEY, else instance/secret_key (written once by `make demo`); never a
    fallback in code. Without one the app is refused unless it serves no web request."""
    if not app.config.get("SECRET_KEY"):
        key_file = Path(app.instance_path) / "secret_key"
        if key_file.exists():
            app.config["SECRET_KEY"] = key_file.read_text().strip()
    if not app.config.get("SECRET_KEY") and required:
        raise RuntimeError(
            "MATCHMAKER_SECRET_KEY is not set and instance/secret_key does not exist "
            "(run `make demo`, or `python -m matchmaker.secret` to write one)")


def _trust_proxy(app: Flask) -> None:
    """Behind nginx, MATCHMAKER_PROXY_HOPS=1 makes rate limits and the audit log see the
    client's address instead of the proxy's."""
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _import_models() -> None:
    for name in MODEL_MODULES + SUBSCRIBER_MODULES + JOB_MODULES:
        importlib.import_module(name)


def _register_blueprints(app: Flask) -> None:
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)
