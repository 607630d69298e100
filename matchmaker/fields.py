"""Choices for WTForms select, radio and checkbox fields as WTForms 3.3 wants them.

Declaring a field with (value, label) tuples is deprecated in WTForms 3.3 (removed in 3.4):
`choices=options(vocab.choices("purposes"))` passes the same pairs as `SelectChoice`s.
Choices assigned later (`form.field.choices = [...]`, per request) may stay tuples.
"""
from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """(value, label) pairs → the `SelectChoice`s a field declaration takes."""
    return [SelectChoice(value, label) for value, label in pairs]
