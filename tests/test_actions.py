"""web.actions.attempt, the one way a view commits a service call or explains its refusal."""
import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import StringField

from matchmaker.enterprises.models import Enterprise
from matchmaker.errors import ServiceError
from matchmaker.web.actions import attempt
from tests.factories import EnterpriseFactory


class _Form(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()
    district = StringField()


class _Conflicts(ServiceError):
    pass


def _rename(db, enterprise, name, refusal=None):
    enterprise.name = name
    db.session.flush()  # the service flushed part of its work before refusing
    if refusal:
        raise refusal


def test_success_commits(app, db):
    firm = EnterpriseFactory(name="旧名")
    with app.test_request_context(), attempt() as done:
        _rename(db, firm, "新名")
    assert done and done.message is None
    db.session.expire_all()
    assert db.session.get(Enterprise, firm.id).name == "新名"


def test_a_refusal_is_undone_and_shown_beside_the_field_it_names(app, db):
    firm = EnterpriseFactory(name="旧名")
    db.session.commit()
    with app.test_request_context(method="POST"):
        form = _Form()
        with attempt(form, "name") as done:
            _rename(db, firm, "新名", ServiceError("区县无效", field="district"))
        assert not done and done.message == "区县无效"
        assert form.district.errors == ["区县无效"] and not form.name.errors
        assert not get_flashed_messages()
        with attempt(form, "name") as done:  # no field named: the default field
            _rename(db, firm, "新名", ServiceError("名称已被使用"))
        assert form.name.errors == ["名称已被使用"]
    assert db.session.get(Enterprise, firm.id).name == "旧名"


def test_without_a_form_the_refusal_is_flashed(app, db):
    firm = EnterpriseFactory(name="旧名")
    db.session.commit()
    with app.test_request_context():
        with attempt() as done:
            _rename(db, firm, "新名", ServiceError("当前状态不能修改"))
        assert not done
        assert get_flashed_messages(with_categories=True) == [("danger", "当前状态不能修改")]
    assert db.session.get(Enterprise, firm.id).name == "旧名"


def test_a_refusal_the_page_shows_itself_is_undone_not_flashed(app, db):
    firm = EnterpriseFactory(name="旧名")
    db.session.commit()
    with app.test_request_context():
        with attempt(shown=_Conflicts) as done:
            _rename(db, firm, "新名", _Conflicts("时段冲突"))
        assert isinstance(done.error, _Conflicts) and done.message == "时段冲突"
        assert not get_flashed_messages()
    assert db.session.get(Enterprise, firm.id).name == "旧名"


def test_anything_else_propagates_uncommitted(app, db):
    firm = EnterpriseFactory(name="旧名")
    db.session.commit()
    with app.test_request_context(), pytest.raises(KeyError), attempt():
        _rename(db, firm, "新名", KeyError("bug"))
    db.session.rollback()
    assert db.session.get(Enterprise, firm.id).name == "旧名"
