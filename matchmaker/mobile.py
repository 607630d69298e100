"""Chinese mobile numbers (中国大陆手机号): 11 digits starting 13–19. People type them with
spaces, dashes or a +86 / 0086 prefix; the platform stores the 11 digits."""
import re

_NOISE = re.compile(r"[\s\-()（）]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize(value: str | None) -> str:
    digits = _NOISE.sub("", value or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
    return digits


def problem(value: str | None) -> str | None:
    """Why `value` is not a Chinese mobile number (Chinese), or None."""
    if not (value or "").strip():
        return "请填写手机号码"
    if not _MOBILE.match(normalize(value)):
        return "请填写11位手机号码（如 138 0000 0000）"
    return None
