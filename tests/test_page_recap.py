"""The recap page: six live charts, each the lesson's own result, with links back."""

import re

import numpy as np
from page_data import chart_frames

from resode_ui import palette
from resode_ui.lessons import recap, resnet_euler, resnet_vs_node as rn, vanishing_gradients as vg

PAGE = "pages/recap.py"


def test_every_panel_is_its_lessons_result_with_a_link_back(open_page):
    at = open_page("app.py", timeout=300)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error
    frames = chart_frames(at)
    assert len(frames) == len(recap.PANELS) == 6
    # Each panel links to its own lesson (the router registers them all).
    links = at.get("page_link")
    assert [link.proto.page for link in links] == [
        panel().page.removeprefix("pages/").removesuffix(".py") for panel in recap.PANELS
    ]
    captions = [c.value for c in at.caption]
    # Panel 1: the gradient ratio is the vanishing-gradients lesson's own.
    result = vg.lesson(vg.VanishingSettings().study)
    plain = result.at_init("plain")
    assert f"gets {plain[0] / plain[-1]:.0e} of the last" in captions[0]
    assert np.allclose(
        sorted(frames[0][frames[0]["series"] == "ResNet"]["y"]), sorted(result.at_init("ResNet"))
    )
    # Panel 3: Euler's observed slope, as the lesson's order table reports it.
    study = resnet_euler.convergence(
        resnet_euler.ORDER_SOLVERS, resnet_euler.ResnetEulerSettings().seed
    )
    slope = study["orders"].set_index("solver").loc[resnet_euler.method_label("euler")]
    assert f"Δt^{slope['observed slope']:.2f}" in " ".join(captions)
    assert 0.9 < slope["observed slope"] < 1.1
    # Panel 4: the observed slopes are the solvers' orders 1 to 4.
    slopes = [
        float(s)
        for s in re.findall(r" (\d\.\d)", next(c for c in captions if "Observed slopes" in c))
    ]
    assert np.allclose(slopes, [1, 2, 3, 4], atol=0.3)
    # Panel 5: the parameter counts are the cost lesson's.
    table = rn.depth_costs(rn.ResnetVsNodeSettings().depths, rn.ResnetVsNodeSettings().width).table
    resnet_params = table[table["model"] == "ResNet"]["parameters"].max()
    assert f"{resnet_params:,} parameters" in " ".join(captions)


def test_series_keep_the_colour_table():
    domain, colors = palette.colors_for(["plain", "ResNet", "Euler (order 1)", "other"])
    assert colors[:3] == [palette.PLAIN, palette.RESNET, palette.SOLVER_COLORS["euler"]]
    assert len(set(colors)) == 4
