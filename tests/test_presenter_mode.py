"""Presenter mode: the address turns it on, the sidebar toggle carries it, charts get big type."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from resode_ui import widgets as ui

ROOT = Path(__file__).resolve().parents[1]


def test_presenter_config_sets_every_label_to_16_px_or_more():
    for part in ("axis", "legend", "header"):
        sizes = [v for k, v in ui.PRESENTER_CONFIG[part].items() if k.endswith("FontSize")]
        assert sizes and min(sizes) >= 16
    merged = ui._merged({"axis": {"grid": False}, "view": {"stroke": None}}, ui.PRESENTER_CONFIG)
    assert merged["axis"]["grid"] is False and merged["axis"]["labelFontSize"] == 16
    assert merged["view"] == {"stroke": None}


def test_present_1_in_the_address_opens_presenter_mode_with_big_chart_labels():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.query_params["present"] = "1"  # a link from a teacher's slide
    at.run()
    assert at.toggle(key="present").value is True
    at.switch_page("pages/resnet_euler.py").run()
    assert not at.exception
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert specs and all('"labelFontSize": 16' in spec for spec in specs)
    # (AppTest runs a switched-to page on its own, without app.py: set what the toggle sets.)
    at.session_state["present"] = False
    at.run()
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert specs and not any('"labelFontSize": 16' in spec for spec in specs)


def test_presenter_mode_is_off_by_default(open_page):
    at = open_page("app.py")
    assert at.toggle(key="present").value is False
