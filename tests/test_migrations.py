"""The migrations build what the models describe, and the vocabulary CHECKs hold."""
from datetime import date
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from matchmaker import vocab
from matchmaker.enterprises.models import Need
from tests.factories import EnterpriseFactory


def test_models_and_migrations_agree(app, db):
    # the session fixture built this database with `upgrade()`, not create_all()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_one_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def _need(enterprise_id: int, ref: str, purpose: str) -> dict:
    return {"ref": ref, "enterprise_id": enterprise_id, "purpose": purpose, "loan_kind": "new",
            "amount_wan": Decimal(100), "term_months": 12, "created": date(2026, 9, 1),
            "consent_to_share": False, "status": "published"}


def test_every_purpose_code_is_accepted_and_an_unknown_one_refused(db):
    enterprise = EnterpriseFactory()
    for n, purpose in enumerate(vocab.codes("purposes")):
        db.session.execute(insert(Need).values(_need(enterprise.id, f"N-CK-{n}", purpose)))
    with pytest.raises(IntegrityError), db.session.begin_nested():  # a savepoint
        db.session.execute(insert(Need).values(_need(enterprise.id, "N-CK-X", "holiday")))
    db.session.execute(insert(Need).values(_need(enterprise.id, "N-CK-after", "green")))
