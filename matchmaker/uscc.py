"""统一社会信用代码 (GB 32100-2015) checks, through python-stdnum, with Chinese messages."""
import re
import unicodedata

from stdnum.cn import uscc as _uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

# stdnum's validate() ignores spaces and hyphens itself, so a code must lose them here too,
# or "91500000-MA…" passes and is stored with 19 characters (PostgreSQL: String(18) → error)
_SEPARATORS = re.compile(r"[\s-]")


def normalize(value: str | None) -> str:
    # NFKC: a Chinese IME types full-width ９１５０… and the ideographic space
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or "")).upper()


def problem(value: str | None) -> str | None:
    """None when the code is valid; otherwise the reason in Chinese (with the expected check
    character when only that is wrong)."""
    code = normalize(value)
    try:
        _uscc.validate(code)
    except InvalidLength:
        return f"统一社会信用代码应为18位，当前为{len(code)}位"
    except InvalidChecksum:
        return f"统一社会信用代码校验位错误，应为 {_uscc.calc_check_digit(code[:17])}"
    except (InvalidFormat, InvalidComponent):
        return "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）"
    return None


def problem_en(value: str | None) -> str | None:
    """The exchange format's English error wording ("check character should be X")."""
    code = normalize(value)
    try:
        _uscc.validate(code)
    except InvalidLength:
        return f"must be 18 characters, got {len(code)}"
    except InvalidChecksum:
        return f"check character should be {_uscc.calc_check_digit(code[:17])}"
    except (InvalidFormat, InvalidComponent):
        return "contains invalid characters"
    return None
