"""Choices for WTForms select, radio and checkbox fields as WTForms 3.3 wants them.

Declaring a field with (value, label) tuples is deprecated in WTForms 3.3 (removed in 3.4):
`choices=options(vocab.choices("purposes"))` passes the same pairs as `SelectChoice`s.
Choices assigned later (`form.field.choices = [...]`, per request) may stay tuples.
"""
from collections.abc import Iterable

from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget


def options(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """(value, label) pairs → the `SelectChoice`s a field declaration takes."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice as a list of checkboxes: touch-friendly, no Ctrl-click."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
