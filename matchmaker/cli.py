"""The `matchmaker` console script: the Flask CLI of the app (db, import, export, match …)."""
import click
from flask.cli import FlaskGroup


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main():
    """银企融资对接平台 matchmaker 的命令行。"""
