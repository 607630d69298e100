"""The `matchmaker` console script: the Flask CLI of the app (db, import, export, match …)."""
import click
from flask.cli import FlaskGroup, ScriptInfo

# the commands that serve web requests: only they need MATCHMAKER_SECRET_KEY (it signs
# sessions, CSRF tokens and reset links). import, export, match, db, seed … run on a fresh
# clone without one.
WEB_COMMANDS = frozenset({"run"})


def _create_app():
    from . import create_app

    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx is not None else None
    command = info.data.get("command") if info is not None else None
    return create_app(require_secret=command in WEB_COMMANDS)


class MatchmakerGroup(FlaskGroup):
    """Notes which top-level command runs, before the app is built for it."""

    def get_command(self, ctx, name):
        ctx.ensure_object(ScriptInfo).data.setdefault("command", name)
        return super().get_command(ctx, name)


@click.group(cls=MatchmakerGroup, create_app=_create_app)
def main():
    """银企融资对接平台 matchmaker 的命令行。"""
