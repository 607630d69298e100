def test_landing_page_is_chinese(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "银企融资对接平台" in response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
