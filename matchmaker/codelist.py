"""List-valued exchange fields (purposes, guarantee_modes, districts …) stored one row per code.

Rows keep the matcher's pre-filters and the catalogue's filters in indexed SQL; the descriptor
lets the rest of the code read and write them as plain lists of codes.
"""


class CodeList:
    """`product.purposes` reads and writes the codes held in `rows_attr` rows whose
    `field` is this attribute's name (or whose class is the relationship's, when unkeyed)."""

    def __init__(self, rows_attr: str, row_class_name: str, keyed: bool = True):
        self.rows_attr = rows_attr
        self.row_class_name = row_class_name
        self.keyed = keyed

    def __set_name__(self, owner, name):
        self.field = name

    def _mine(self, row) -> bool:
        return not self.keyed or row.field == self.field

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        rows = [r for r in getattr(obj, self.rows_attr) if self._mine(r)]
        return [r.value for r in sorted(rows, key=lambda r: r.position)]

    def __set__(self, obj, values):
        wanted = list(dict.fromkeys(v for v in (values or []) if v not in (None, "")))
        rows = getattr(obj, self.rows_attr)
        existing = {r.value: r for r in rows if self._mine(r)}
        others = [r for r in rows if not self._mine(r)]
        row_class = obj.__class__.registry._class_registry[self.row_class_name]
        mine = []
        for position, value in enumerate(wanted):
            row = existing.get(value) or row_class(value=value, **self._key())
            row.position = position
            mine.append(row)
        setattr(obj, self.rows_attr, others + mine)

    def _key(self) -> dict:
        return {"field": self.field} if self.keyed else {}
