"""Extensions, security headers, error pages, template globals: the page shell's plumbing."""
import logging

from flask import Flask, jsonify, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .. import clock, industries, vocab
from ..extensions import babel, configure_sqlite, csrf, db, limiter, login_manager, migrate
from ..policy.terms import OWNERSHIPS
from .urgency import countdown

log = logging.getLogger(__name__)

# no inline script anywhere: pages load their JS from /static
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")

ERROR_TITLES = {400: "请求有误", 403: "无权访问", 404: "页面不存在", 405: "不支持的请求方式",
                413: "文件过大", 429: "操作过于频繁", 500: "服务器内部错误"}
ERROR_HINTS = {
    400: "提交的内容不完整或已失效，请返回上一页刷新后重试。",
    403: "您的账号角色不能使用此页面。如需开通，请联系平台管理员。",
    404: "您要找的页面或数据不存在，或您无权查看。",
    405: "请通过页面上的按钮进行操作。",
    413: "上传的文件超过了大小限制（20 MB）。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器出现了问题，我们已记录。请稍后再试。",
}


def register_extensions(app: Flask) -> None:
    migrate_dir = str(app.root_path + "/../migrations")
    db.init_app(app)
    migrate.init_app(app, db, directory=migrate_dir, render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: app.config["BABEL_DEFAULT_LOCALE"])
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis is optional at every point (issue 19): when it does not answer, the limiter counts
    # in this process (Flask-Limiter logs "Rate limit storage unreachable - falling back to
    # in-memory storage" once, and goes back to Redis when it answers again); a connection
    # attempt gives up within a second, and any other storage error is logged, never a 500
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                              {"socket_connect_timeout": 1, "socket_timeout": 1})
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"
    with app.app_context():
        configure_sqlite(db.engine)


def register_web(app: Flask) -> None:
    from ..accounts.models import ROLE_LABELS
    from ..accounts.permissions import PREDICATES
    from . import pagecache, params

    params.register(app)
    pagecache.init_app(app)

    @login_manager.user_loader
    def load_user(user_key: str):
        from ..accounts.service import user_for_session

        return user_for_session(user_key)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=()")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        code = err.code or 500
        if _wants_json():
            return jsonify(error=ERROR_TITLES.get(code, err.name), status=code), code
        return render_template("errors/error.html", code=code,
                               title=ERROR_TITLES.get(code, err.name),
                               hint=ERROR_HINTS.get(code, "")), code

    @app.errorhandler(Exception)
    def server_error(err: Exception):
        if isinstance(err, HTTPException):
            return http_error(err)
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if _wants_json():
            return jsonify(error=ERROR_TITLES[500], status=500), 500
        return render_template("errors/error.html", code=500, title=ERROR_TITLES[500],
                               hint=ERROR_HINTS[500]), 500

    app.jinja_env.globals.update(
        vocab=vocab, vocab_label=vocab.label, role_labels=ROLE_LABELS,
        industry_name=industries.name, countdown=countdown, ownership_label=ownership_label,
        **PREDICATES)
    app.jinja_env.filters["wan"] = format_wan
    app.jinja_env.filters["rate"] = format_rate
    app.jinja_env.filters["localtime"] = format_localtime

    @app.context_processor
    def navigation():
        from ..types import utcnow
        from .nav import menu_for

        return {"nav_items": menu_for(current_user) if current_user else [], "now_utc": utcnow()}



def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def ownership_label(code: str | None) -> str | None:
    """控股类型 in Chinese (policy.terms.OWNERSHIPS), None when unknown."""
    return OWNERSHIPS.get(code) if code else None


def format_wan(value) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}".rstrip("0").rstrip(".") + " 万元"


def format_rate(value) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}%"


def format_localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return clock.china_time(value, fmt)
