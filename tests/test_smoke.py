def test_home_page_for_anonymous(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert b"first wrong step" in resp.data
