def test_app_opens_on_the_welcome_page(open_page):
    at = open_page("app.py")
    assert not at.exception
    assert "ResODE Lab" in at.title[0].value


def test_welcome_page_runs_on_its_own(open_page):
    at = open_page("pages/home.py")
    assert not at.exception
