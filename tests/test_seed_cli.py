"""`matchmaker seed` with a small seeds folder (tests/data/example.json, five logins, one core
enterprise): what it loads, and that a second run changes nothing.

The folder is seeded once for the module (`seeded`, in the module's transaction): each seed
hashes its new logins with argon2, the slow part, and these tests only read what it wrote or
seed again (tests/README.md). What the seed refuses, on an empty platform, stays in
test_exchange_cli.py."""
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker.accounts.models import User
from matchmaker.accounts.passwords import verify_password
from matchmaker.institutions.models import CoreEnterprise
from tests.conftest import shared_data
from tests.test_exchange_cli import DATA, USERS, write

CORE = {"core_enterprises": [{"name": "重庆长安汽车股份有限公司", "aliases": ["长安汽车"],
                              "cluster": "intelligent_connected_nev"}]}


def seed_folder(directory: Path) -> Path:
    shutil.copy(DATA / "example.json", directory / "demo.json")
    write(directory / "users.json", USERS)
    write(directory / "core_enterprises.json", CORE)
    return directory


def _seed_once(app):
    """The module's one `matchmaker seed` of a fresh folder: what it printed."""
    with tempfile.TemporaryDirectory() as directory:
        result = app.test_cli_runner().invoke(args=["seed", "--dir",
                                                    str(seed_folder(Path(directory)))])
    assert result.exit_code == 0, result.output
    return result.stdout


seeded = shared_data(_seed_once)
pytestmark = pytest.mark.usefixtures("module_connection")


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


def user(db, email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_seed_imports_the_demo_data_and_creates_the_logins(seeded, db):
    assert "demo data: institutions: 2 created" in seeded
    for entry in USERS["users"]:  # a demo login table: email, password, role
        assert any(entry["email"] in line and entry["password"] in line and entry["role"] in line
                   for line in seeded.splitlines())
    first, second = user(db, "e1@demo.test"), user(db, "e2@demo.test")
    assert first.enterprise.ref == "E-01" and first.is_enterprise_admin
    assert not second.is_enterprise_admin
    assert verify_password(first.password_hash, "demo-enterprise-1")
    assert user(db, "bank@demo.test").institution.ref == "I-BANK-01"
    organizer = user(db, "org@demo.test")
    assert (organizer.district, organizer.organization) == ("永川区", "永川区经信委")


def test_seed_loads_the_core_enterprise_list_first(seeded, db):
    entry = db.session.scalar(select(CoreEnterprise))
    assert entry.name == "重庆长安汽车股份有限公司"
    assert [a.alias for a in entry.aliases] == ["长安汽车"]


def test_seed_twice_changes_nothing_and_leaves_existing_users_alone(seeded, runner, db, tmp_path):
    admin = user(db, "admin@demo.test")
    admin.name = "已有管理员"          # the platform's own change since the first seed
    db.session.flush()
    users = db.session.scalar(select(func.count(User.id)))
    result = runner.invoke(args=["seed", "--dir", str(seed_folder(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "needs: 0 created, 0 updated, 3 unchanged" in result.stdout
    assert "0 created, 5 already there" in result.stdout
    assert db.session.scalar(select(func.count(User.id))) == users
    db.session.expire_all()
    assert user(db, "admin@demo.test").name == "已有管理员"
