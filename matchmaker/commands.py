"""Registers every domain's CLI commands on the app (thin: parse, call a service, commit)."""
import importlib

from flask import Flask

COMMAND_MODULES: tuple[str, ...] = ("matchmaker.exchange.commands", "matchmaker.seeds",
                                   "matchmaker.enterprises.commands",
                                   "matchmaker.institutions.commands",
                                   "matchmaker.leads.commands",
                                   "matchmaker.notifications.commands",
                                   "matchmaker.matching.commands",
                                   "matchmaker.whitelists.commands",
                                   "matchmaker.jobs.commands", "matchmaker.backup")


def register_commands(app: Flask) -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.COMMANDS:
            app.cli.add_command(command)
