def test_landing_page_is_chinese(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "银企融资对接平台" in response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_footer_gives_the_real_title_of_76(client):
    # 渝府办发〔2020〕76号 is the 中长期融资 measures (policy-docs/000), not a "进一步加强…" notice
    page = client.get("/").get_data(as_text=True)
    assert ("《重庆市人民政府办公厅关于印发重庆市加大制造业中长期融资支持力度若干政策措施的通知》"
            "（渝府办发〔2020〕76号）") in page
    assert "进一步加强金融支持制造业高质量发展" not in page
