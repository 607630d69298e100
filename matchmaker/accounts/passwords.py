from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# --- strength (issue 19: any 10 characters made a password, "aaaaaaaaaa" included) -----------

MIN_SCORE = 3  # zxcvbn 0–4: 3 is "safely unguessable: moderate protection from offline attacks"


def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])  # the 30,000 it ships, most common first


_COMMON: frozenset[str] | None = None


def weakness(password: str, user_inputs=()) -> str | None:
    """A Chinese reason why this password is too easy to guess, or None. zxcvbn scores it
    (dictionary words, names, keyboard runs, repeats, years, and the user's own e-mail, name
    and company), and its list of common passwords is refused outright."""
    global _COMMON
    from zxcvbn import zxcvbn

    if _COMMON is None:
        _COMMON = _common_passwords()
    if password.lower() in _COMMON:
        return "这是常见密码，极易被猜中，请换一个"
    inputs = [str(v) for v in user_inputs if v]
    inputs += [part for v in inputs for part in str(v).replace("@", " ").split()]
    score = zxcvbn(password[:100], user_inputs=inputs)["score"]  # its cost grows with length
    if score < MIN_SCORE:
        return (f"密码太容易被猜中（强度 {score}/4，至少需要 {MIN_SCORE}）：请用几个不相关的词、"
                "数字和符号组合，避免重复字符、键盘顺序、生日年份以及邮箱、姓名、企业名称")
    return None
