"""Issue 19: a CR/LF in the login's next= made the redirect a 500 (a header may not hold a
newline); now any control character sends the user home instead."""
from urllib.parse import urlsplit

import pytest
from flask import url_for

from tests.factories import PASSWORD, user_for_role


@pytest.mark.parametrize("target", ["/needs\r\nSet-Cookie: x=1", "/needs\nx", "/a\tb", "/a\x7f"])
def test_a_next_with_control_characters_goes_home(client, db, target):
    user = user_for_role("enterprise", email="next.crlf@firm.cn")
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "next": target})
    assert response.status_code == 302
    home = urlsplit(url_for("web.home")).path
    assert response.headers["Location"] == home


def test_the_query_next_with_crlf_never_500s(client):
    assert client.get("/login?next=/x%0d%0aSet-Cookie:%20a=b").status_code == 200
