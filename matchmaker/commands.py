"""Registers every domain's CLI commands on the app (thin: parse, call a service, commit)."""
import importlib
from flask import Flask

COMMAND_MODULES: tuple[str, ...] = ()


def register_commands(app: Flask) -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.COMMANDS:
            app.cli.add_command(command)
