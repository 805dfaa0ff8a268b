"""The ResNet lessons' own claims: each preset's note, each question's answer, the notes' code.

Every fact that a 'What you should see' note or a reveal states is checked here against the
lesson functions the pages call (no page is opened: the page tests do that).
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import resode_core as rc
from resode_ui import palette, resnet_charts as charts, teach
from resode_ui.lessons import (
    identity_experiment as ie,
    resnet_euler as re,
    vanishing_gradients as vg,
)


@pytest.mark.parametrize("lesson", [vg, ie, re], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_preset_has_a_note_and_no_note_lacks_a_preset(lesson):
    assert list(lesson.SHOULD_SEE) == list(lesson.PRESETS)
    assert all(note.strip() for note in lesson.SHOULD_SEE.values())
    # A note shows only while the page shows its preset's settings.
    first, last = list(lesson.PRESETS)[0], list(lesson.PRESETS)[-1]
    assert teach.matching_preset(lesson.PRESETS, None, lesson.PRESETS[first]) == first
    assert teach.matching_preset(lesson.PRESETS, last, lesson.PRESETS[last]) == last
    moved = dataclasses.replace(lesson.PRESETS[last], seed=lesson.PRESETS[last].seed + 1)
    assert teach.matching_preset(lesson.PRESETS, last, moved) == ""
    assert not hasattr(lesson, "matching_preset")  # one copy, in teach


# ----------------------------------------------------------------------------- vanishing gradients


def _vg(label: str) -> vg.VanishingResult:
    return vg.lesson(vg.PRESETS[label])


def _first_over_last(values: np.ndarray) -> float:
    return float(np.float64(values[0]) / values[-1])


def test_vg_notes_default_and_depth_50():
    result = _vg("Default settings")
    # "fades from layer 50 down to layer 1 by about five powers of ten ... the ResNet's stays level"
    assert 1e-6 < _first_over_last(result.at_init("plain")) < 1e-4
    assert 0.5 < _first_over_last(result.at_init("ResNet")) < 2
    train, held = result.finals("training"), result.finals("held-out")
    # "ends well above the 4-layer one on the training points and also on the held-out points"
    assert train["deep plain"] > 5 * train["shallow plain"]
    assert held["deep plain"] > vg.LOSS_FACTOR * held["shallow plain"]
    # "the 50-layer ResNet ends lowest of the three on the training points"
    assert train["deep ResNet"] < min(train["shallow plain"], train["deep plain"])
    result = _vg("Vanishing gradients at depth 50")
    # "the plain net's gradient at layer 1 is about 10⁻⁵ of its value at layer 50"
    assert 1e-6 < _first_over_last(result.at_init("plain")) < 1e-4
    # "the ResNet's is about the same at both ends (first / last between 0.5 and 2)"
    assert 0.5 < _first_over_last(result.at_init("ResNet")) < 2


def test_vg_note_sigmoid():
    settings = vg.PRESETS["Sigmoid: the plain gradient underflows to 0"]
    result = vg.lesson(settings)
    assert result.at_init("plain")[0] == 0.0  # "exactly 0 at layer 1"
    # "both plain nets end within 5% of the loss of the best constant prediction"
    _, y, _, _ = vg.task(settings.width)
    constant = float(np.mean((y - y.mean(axis=0)) ** 2))
    train = result.finals("training")
    for name in ("shallow plain", "deep plain"):
        assert abs(train[name] / constant - 1) < 0.05, (name, train[name], constant)
    assert train["deep ResNet"] > max(train["shallow plain"], train["deep plain"])  # "higher still"
    # The note under the verdict explains it from the numbers: the ResNet starts far off,
    # shifted by its blocks (σ(0) = ½), and has not undone that shift after 300 epochs.
    note = vg.resnet_loss_note(settings, result)
    start = result.starts()
    assert f"training loss of {start['deep ResNet']:.3g}" in note
    shift = settings.depth * settings.step / 2
    assert f"L·h/2 = {shift:.2f}, whose square, {shift**2:.1f}, is most of" in note
    assert 0.5 * start["deep ResNet"] < shift**2 < start["deep ResNet"]  # "most of"
    assert np.max(np.abs(y)) <= 0.5  # "the targets lie within ±0.5"
    # The shift itself, measured: every output coordinate of the initial ResNet, less its input.
    x, _, _, _ = vg.task(settings.width)
    moved = rc.shrunk_outputs(vg.nets(settings)["ResNet"], x, [1.0])[0] - x
    assert abs(float(np.mean(moved)) / shift - 1) < 0.05
    # No such note where the ResNet does not end above the deep plain net.
    assert vg.resnet_loss_note(vg.VanishingSettings(), _vg("Default settings")) == ""


def test_vg_note_critical_initialisation():
    ratio = _first_over_last(
        _vg("Critical initialisation (scale 1): a milder decay").at_init("plain")
    )
    assert 0.03 < ratio < 0.3  # "about 0.1"
    assert ratio > 1000 * _first_over_last(_vg("Default settings").at_init("plain"))  # "not 10⁻⁵"
    train = _vg("Critical initialisation (scale 1): a milder decay").finals("training")
    assert train["deep plain"] > vg.LOSS_FACTOR * train["shallow plain"]  # "still ends above"


def test_vg_note_relu_with_h_1():
    result = _vg("He et al.'s h = 1 with ReLU: without normalisation the ResNet explodes")
    resnet = result.at_init("ResNet")
    assert np.all((resnet > 1e11) & (resnet < 1e13))  # "of order 10¹² in every layer"
    default = _vg("Default settings").at_init("ResNet")
    assert np.all((default > 1e-2) & (default < 1e-1))  # "between 10⁻² and 10⁻¹"
    losses = result.losses[result.losses["points"] == "training"]
    start = losses[losses["epoch"] == 0].set_index("network")["loss"]
    train = result.finals("training")
    assert start["deep ResNet"] > 1e9 and train["deep ResNet"] > 1e5  # "starts above 10⁹ ..."
    assert train["deep ResNet"] > 1000 * max(train["shallow plain"], train["deep plain"])


def test_vg_note_depth_128():
    result = _vg("Depth 128: plain vs ResNet after training")
    losses = result.losses[(result.losses["points"] == "training")]
    deep = losses[losses["network"] == "deep plain"]["loss"].to_numpy()
    assert len(deep) == 500 and abs(deep[-1] / deep[0] - 1) < 0.05  # "within 5% of its start"
    assert _first_over_last(result.at_init("plain")) < 1e-12
    train = result.finals("training")
    assert train["deep ResNet"] < min(train["shallow plain"], train["deep plain"])


def test_vg_question_compares_layer_1_with_a_10_layer_net_of_the_same_weights():
    settings = vg.VanishingSettings()
    built = vg.nets(settings)
    reference, plain = built["reference"], built["plain"]
    # The same first layers, stacked to the same max depth (so no new compiled program).
    assert reference.weights.shape == plain.weights.shape
    np.testing.assert_array_equal(reference.weights[:10], plain.weights[:10])
    x, y, _, _ = vg.task(settings.width)
    result = vg.lesson(settings)
    assert result.reference_grad == pytest.approx(float(rc.layer_grad_norms(reference, x, y)[0]))
    truth, observed = vg.depth_answer(settings, result)
    assert truth == "shrink"
    assert f"{result.reference_grad:.1e} with 10 layers" in observed
    assert f"{result.at_init('plain')[0]:.1e} with 50" in observed
    # The answer follows the numbers: the same depth is "the same"; an exploding ReLU net grows.
    same = dataclasses.replace(settings, depth=10, epochs=0)
    assert vg.depth_answer(same, vg.lesson(same))[0].startswith("stay about the same")
    grows = dataclasses.replace(settings, depth=30, activation="relu", init_scale=2.0, epochs=0)
    grows_result = vg.lesson(grows)
    assert grows_result.at_init("plain")[0] > 2 * grows_result.reference_grad
    assert vg.depth_answer(grows, grows_result)[0] == "grow"


def test_vg_after_training_note_explains_the_plain_net_above_the_resnet():
    """At L = 20 the right panel shows the plain net's gradient above the ResNet's: the note
    says why, from the losses and gradients the panel is drawn from."""
    settings = dataclasses.replace(vg.VanishingSettings(), depth=20)
    result = vg.lesson(settings)
    plain, resnet = result.after("plain"), result.after("ResNet")
    assert np.median(plain) > 10 * np.median(resnet)  # what the panel shows
    note = vg.after_training_note(settings, result)
    train = result.finals("training")
    assert train["deep plain"] > 5 * train["deep ResNet"]
    assert f"The deep ResNet's training loss is {train['deep ResNet']:.2e}" in note
    assert f"the deep plain net's {train['deep plain']:.2e}" in note
    assert f"fell from {np.median(result.at_init('ResNet')):.1e}" in note
    assert f"rose from {np.median(result.at_init('plain')):.1e} to {np.median(plain):.1e}" in note
    assert "the ResNet is nearer a minimum of its training loss" in note
    assert vg.after_training_note(dataclasses.replace(settings, epochs=0), result) == ""


def test_vg_axes_hold_still_while_sliders_move():
    # The gradient axis: the same decades at every depth but the deepest (whose trained plain
    # net reaches one decade lower), covering every gradient drawn.
    domains = {}
    for depth in (2, 20, 50, 100):
        result = vg.lesson(dataclasses.replace(vg.VanishingSettings(), depth=depth))
        norms = result.grads["grad_norm"]
        low, high = result.grad_domain
        assert low <= norms[norms > 0].min() and norms.max() <= high
        assert np.log10(low) == pytest.approx(round(np.log10(low)))  # whole decades
        domains[depth] = result.grad_domain
    assert len(set(domains.values())) == 1
    # The small-weights response axis holds every factor's line, so it is the same for all.
    settings = vg.VanishingSettings()
    first = vg.small_weights(settings, 0.0)
    for factor in (0.35, 1.0):
        shrink = vg.small_weights(settings, factor)
        assert shrink["y_domain"] == first["y_domain"]
        low, high = shrink["y_domain"]
        assert low <= shrink["curves"]["output"].min() and shrink["curves"]["output"].max() <= high


def test_vg_charts_use_the_palette_and_integer_layer_axes():
    result = vg.lesson(vg.VanishingSettings())
    grads = result.grads[result.grads["stage"] == vg.AT_INIT]
    spec = charts.grad_norm_chart(grads, "", result.grad_domain, 50).to_dict()
    color = spec["encoding"]["color"]["scale"]
    assert dict(zip(color["domain"], color["range"], strict=True)) == {
        "plain": palette.PLAIN,
        "ResNet": palette.RESNET,
    }
    assert spec["encoding"]["x"]["axis"]["format"] == "d"
    assert spec["encoding"]["x"]["scale"]["domain"] == [1, 50]
    # The identity line: grey and dashed, drawn first (under the nets' lines), in the legend.
    shrink = vg.small_weights(vg.VanishingSettings(), 0.1)
    spec = charts.shrink_response_chart(shrink["curves"], shrink["y_domain"]).to_dict()
    under, over = spec["layer"]
    assert under["transform"] == [{"filter": "(datum.network === 'identity y = x')"}]
    assert over["transform"] == [{"filter": "(datum.network !== 'identity y = x')"}]
    assert under["mark"]["strokeWidth"] < over["mark"]["strokeWidth"]
    for key in ("color", "strokeDash"):  # one legend: colour and dash of the same field
        scale = under["encoding"][key]["scale"]
        styles = dict(zip(scale["domain"], scale["range"], strict=True))
        expected = {"color": palette.IDENTITY, "strokeDash": [5, 4]}[key]
        assert styles["identity y = x"] == expected


def test_vg_held_out_points_are_other_points_of_the_same_task():
    x, y, x_held, y_held = vg.task(16)
    assert x.shape == (vg.N_POINTS, 16) and x_held.shape == (vg.N_HELD_OUT, 16)
    assert not (x[:, None, :] == x_held[None, :, :]).all(axis=-1).any()
    x_all, y_all = (np.asarray(a) for a in rc.regression_task(16, vg.N_POINTS + vg.N_HELD_OUT))
    np.testing.assert_array_equal(np.vstack([x, x_held]), x_all)  # one draw, split
    np.testing.assert_array_equal(np.vstack([y, y_held]), y_all)
    # The lesson records both curves, the same length, for every network.
    result = vg.lesson(vg.VanishingSettings())
    counts = result.losses.groupby(["network", "points"]).size()
    assert len(counts) == 6 and set(counts) == {vg.VanishingSettings().epochs}


def test_vg_verdict_reads_the_numbers():
    verdict = vg.degradation_verdict(_vg("Default settings"))
    assert "the degradation He et al. saw in training and test error" in verdict
    sigmoid = vg.degradation_verdict(_vg("Sigmoid: the plain gradient underflows to 0"))
    assert "level with the shallow one on the training points" in sigmoid
    assert "no degradation of the training error" in sigmoid
    assert "ends above the deep plain net" in sigmoid


def test_the_loss_chart_draws_training_solid_and_held_out_dashed():
    frame = vg.lesson(vg.VanishingSettings()).losses
    spec = charts.loss_curves_chart(frame).to_dict()
    dash = spec["encoding"]["strokeDash"]
    assert dash["field"] == "points" and dash["title"] == "points"
    assert dash["scale"]["domain"] == ["training", "held-out"]
    assert dash["scale"]["range"] == [[1, 0], [5, 4]]


# ----------------------------------------------------------------------------- y = x


def test_ie_note_default_run_and_seeds():
    runs = ie.single_runs(0)
    inside = (ie.CURVE_X >= -10) & (ie.CURVE_X <= 10)
    resnet_error = np.abs(runs["ResNet"]["curve"] - ie.CURVE_X)
    plain_error = np.abs(runs["plain"]["curve"] - ie.CURVE_X)
    assert resnet_error[inside].max() < 0.5  # "within 0.5 of y = x over the whole data range"
    ends, middle = np.isin(ie.CURVE_X, [-10.0, 10.0]), np.argmin(np.abs(ie.CURVE_X))
    assert (
        plain_error[ends].min() > 0.5 > 0.1 > plain_error[middle]
    )  # "close near 0, misses at ±10"
    stats = ie.seed_statistics(8)
    assert stats.summary("ResNet")[0] == 1.0 and stats.summary("plain")[0] == 0.0
    truth, observed = ie.fit_answer(0, runs)
    assert truth == "the ResNet"
    assert (
        f"after {runs['ResNet']['epochs']:,} epochs" in observed
        and "plain net is still" in observed
    )


def test_ie_note_32_seeds():
    stats = ie.seed_statistics(32)
    rate, done, _ = stats.summary("ResNet")
    assert rate == 1.0 and done.max() > 10 * done.min()  # "the slowest needs > 10× the fastest"
    rate, _, median = stats.summary("plain")
    assert rate == 0.0 and 0.05 < median < 0.2


def test_ie_training_frames_are_the_runs_snapshots():
    runs, frames = ie.single_runs(0), ie.training_frames(0)
    assert len(frames.labels) == len(ie.CHECKPOINTS)
    assert frames.labels[0] == "epoch 0" and frames.labels[-1].startswith("epoch 10,000")
    stop = runs["ResNet"]["epochs"]
    assert f"ResNet stopped at {stop:,}" in frames.labels[-1]
    for i, epoch in enumerate(ie.CHECKPOINTS):
        losses = frames.losses[i]
        for label, run in runs.items():
            shown = losses[losses["network"] == label]
            last = min(epoch, run["epochs"])
            assert (shown["epoch"].max() if len(shown) else 0) == last
            if last:  # the loss at the frame's own epoch, as recorded
                end = shown.loc[shown["epoch"].idxmax(), "mse"]
                assert end == run["losses"][last - 1]
            curve = frames.curves[i].query("network == @label")["y"].to_numpy()
            np.testing.assert_array_equal(curve, run["snapshots"][i])
        # Fixed axes hold every frame.
        assert frames.y_domain[0] <= frames.curves[i]["y"].min()
        assert frames.curves[i]["y"].max() <= frames.y_domain[1]
    # The last frame is the finished fit.
    for run in runs.values():
        np.testing.assert_allclose(run["snapshots"][-1], run["curve"], rtol=1e-6)


def test_ie_fit_chart_draws_the_identity_under_the_fits():
    frames = ie.training_frames(0)
    data = pd.DataFrame(dict(zip("xy", rc.identity_data(), strict=True)))
    spec = charts.identity_fit_chart(frames.curves[-1], data).to_dict()
    identity, points, fits = spec["layer"]
    assert identity["transform"] == [{"filter": "(datum.network === 'identity y = x')"}]
    assert fits["transform"] == [{"filter": "(datum.network !== 'identity y = x')"}]
    assert identity["mark"]["strokeWidth"] < fits["mark"]["strokeWidth"]
    colors = identity["encoding"]["color"]["scale"]
    assert dict(zip(colors["domain"], colors["range"], strict=True)) == {
        "identity y = x": palette.IDENTITY,
        "plain": palette.PLAIN,
        "ResNet": palette.RESNET,
    }


def test_ie_answer_follows_the_runs():
    run = {"epochs": 10, "final_mse": 0.005, "converged": True}
    stuck = {"epochs": 10_000, "final_mse": 0.1, "converged": False}
    assert ie.fit_answer(1, {"plain": run, "ResNet": run})[0] == "both"
    assert ie.fit_answer(1, {"plain": stuck, "ResNet": stuck})[0] == "neither"
    assert ie.fit_answer(1, {"plain": run, "ResNet": stuck})[0] == "the plain net"


def test_ie_the_quick_seeds_start_with_w4_near_1():
    """The page: ranking seeds 0–7 by |w₄ − 1| at the start and by epochs gives nearly the
    same order; a start at distance d needs at least about d / 0.003 epochs."""
    sweep = ie.seed_statistics(8).sweep
    epochs = sweep[sweep["network"] == "ResNet"].sort_values("seed")["epochs"].to_numpy()
    # w₄ after one epoch (three Adam steps of about 10⁻³ each) stands in for its start.
    fits = rc.fit_identity_seeds("resnet", range(ie.CHUNK), max_epochs=1)
    distance = np.abs(np.array([float(f.model.weights[3]) for f in fits]) - 1.0)
    assert spearmanr(distance, epochs).statistic > 0.9
    assert np.all(epochs >= 0.9 * distance / 0.003)


def test_ie_the_jax_code_beside_the_notes_runs_and_matches_the_core():
    namespace: dict = {}
    exec(compile(ie.JAX_SETUP, "identity_experiment.JAX_SETUP", "exec"), namespace)
    x = np.arange(-10.0, 11.0)
    np.testing.assert_array_equal(np.asarray(namespace["x_train"]), x)
    # The same architecture as the core's chains: same parameters, same predictions.
    for residual, architecture in ((True, "resnet"), (False, "plain")):
        core = rc.fit_identity(architecture, seed=3, max_epochs=1)
        params = {"w": np.asarray(core.model.weights), "b": np.asarray(core.model.biases)}
        ours = np.asarray(namespace["model"](params, x, residual))
        np.testing.assert_allclose(ours, core.predict(x), atol=1e-5)
    # It trains: the ResNet reaches the notes' MSE < 0.01, at the epoch the core's run stops.
    params, epochs = namespace["fit"](True, seed=0)
    assert float(namespace["full_mse"](params, x, x, True)) < 0.01
    core_epochs = ie.single_runs(0)["ResNet"]["epochs"]
    assert abs(epochs - core_epochs) <= 0.02 * core_epochs, (epochs, core_epochs)
    assert params["w"].shape == params["b"].shape == (4,)


def test_ie_the_block_figure_names_its_parts():
    dot = ie.RESIDUAL_BLOCK_DOT
    assert dot.count('label="layer"') == 2 and "⊕" in dot and "H(x) = F(x) + x" in dot
    assert "x -> add" in dot and "layer2 -> add" in dot  # the shortcut and the residual meet


# ----------------------------------------------------------------------------- ResNet = Euler


def _re(label: str):
    return re.lesson(re.PRESETS[label])


def test_re_notes_single_view():
    main, _ = _re("Default settings")
    assert main.layers == 8 and main.solver == "rk4"
    assert main.resnet_vs_euler < 1e-5
    assert main.resnet_error > 1000 * main.solver_error  # "more than 1000 times closer"
    main, _ = _re("Euler vs Tsit5 at Δt = 0.1")
    assert main.layers == 20 and main.solver == "tsit5"
    assert main.resnet_error > 0.05 and main.solver_error < 1e-6
    deep, _ = _re("A deep ResNet: 128 layers, Δt = 1/64")
    default, _ = _re("Default settings")
    assert 12 < default.resnet_error / deep.resnet_error < 20
    assert (default.resnet_params, deep.resnet_params) == (48, 768)


def test_re_notes_side_by_side():
    _, (a, b) = _re("Side by side at equal cost: 8 ResNet layers vs 2 RK4 steps")
    cost = [p.layers * rc.SOLVERS[p.solver].evaluations_per_step for p in (a, b)]
    assert cost == [8, 8] and a.solver == "euler" and b.solver == "rk4"
    assert b.solver_error < a.solver_error / 10
    _, (a, b) = _re("Side by side: a ResNet with 4 vs 32 layers")
    assert (a.layers, b.layers) == (4, 32) and a.solver == b.solver == "euler"
    assert 6 < a.solver_error / b.solver_error < 10


def test_re_question_reads_the_resnets_of_l_and_2l_layers(monkeypatch):
    truth, observed = re.halving_answer(8, 4)
    assert truth == "it halves"
    # The errors are those of the ResNets of 8 and 16 layers (the page's metric for L = 8).
    coarse, fine = (re.layer_paths(n, "rk4", 4).resnet_error for n in (8, 16))
    np.testing.assert_allclose(re.halving(8, 4), (coarse, fine), rtol=1e-4)
    assert f"is {coarse:.2e}; with 16 layers (Δt = 0.125) it is {fine:.2e}" in observed
    assert f"{coarse / fine:.2f} times smaller" in observed
    # Past the slider's end (2L = 256 layers) Euler still stands in for the ResNet.
    assert re.halving_answer(128, 4)[0] == "it halves"
    # The answer follows the numbers: an order-2 error would have answered "it quarters".
    monkeypatch.setattr(re, "halving", lambda layers, seed: (4e-3, 1e-3))
    assert re.halving_answer(8, 4)[0] == "it quarters"
    monkeypatch.setattr(re, "halving", lambda layers, seed: (1e-3, 1e-3))
    assert re.halving_answer(8, 4)[0] == "it stays about the same"
    # The sentence under the convergence chart: each higher-order solver beats 512 Euler steps.
    monkeypatch.undo()
    study = re.convergence(re.ORDER_SOLVERS, re.ResnetEulerSettings().seed)
    errors = study["errors"].set_index(["solver", "dt"])["error"]
    sentence = re.fewer_steps(study)
    rk4 = study["errors"][study["errors"]["solver"] == "Classical RK4 (order 4)"]
    euler_finest = errors["Euler = ResNet", re.T_END / 512]
    assert float(rk4[rk4["dt"] == re.T_END / 4]["error"].iloc[0]) < euler_finest
    assert "Classical RK4 (order 4) with 4 steps (the fewest tried)" in sentence
    assert re.fewer_steps(re.convergence(("rk4",), 4)) == ""


def test_re_slope_triangles_have_each_solvers_order():
    study = re.convergence(re.ORDER_SOLVERS, re.ResnetEulerSettings().seed)
    errors = study["errors"]
    triangles = charts.slope_triangles(errors)
    assert list(triangles["solver"].unique()) == list(errors["solver"].unique())
    for solver, corners in triangles.groupby("solver"):
        rows = errors[errors["solver"] == solver]
        order = rows["order"].iloc[0]
        (d0, e0), (d1, e1), (d2, e2) = corners[["dt", "error"]].to_numpy()[:3]
        assert e0 == e1 and d1 == d2  # a right angle at the bottom right
        slope = np.log(e2 / e0) / np.log(d2 / d0)
        assert slope == pytest.approx(order)  # the long side has the order's slope
        assert corners["label"].iloc[0] == f"slope {order:g}"
        # Just under the curve, within its fitted points.
        used = rows[rows["used"]]
        curve = float(rows.loc[rows["dt"] == d0, "error"].iloc[0])
        assert curve / 3 < e0 < curve and used["dt"].min() <= d0 <= used["dt"].max()
    # No fitted slope, no triangle (a fifth-order method at round-off).
    assert charts.slope_triangles(re.convergence(("tsit5",), 4)["errors"]).empty
    # Colours: the ordered solver palette, Euler's for "Euler = ResNet".
    assert charts.solver_color("Euler = ResNet") == palette.SOLVER_COLORS["euler"]
    assert charts.solver_color(rc.SOLVERS["rk4"].label) == palette.SOLVER_COLORS["rk4"]


def test_re_charts_name_every_line_and_draw_the_exact_solution_near_black():
    paths, (a, b) = re.lesson(
        re.PRESETS["Side by side at equal cost: 8 ResNet layers vs 2 RK4 steps"]
    )
    sources = {
        re.LAYERS: "resnet",
        "Euler solve": "euler",
        "RK4, same Δt": "other",
        re.EXACT: "exact",
    }
    colors = dict(re.source_colors(paths, sources))
    assert colors[re.EXACT] == palette.TRUE and colors[re.LAYERS] == palette.RESNET
    assert colors["Euler solve"] == palette.SOLVER_COLORS["euler"]
    assert colors["RK4, same Δt"] == palette.SOLVER_COLORS["rk4"]
    # Side by side: the same colour for the same thing (exact near-black, RK4 its own).
    side = dict(re.source_colors(b, {"RK4, Δt = 1": "other", re.EXACT: "exact"}))
    assert side == {"RK4, Δt = 1": palette.SOLVER_COLORS["rk4"], re.EXACT: palette.TRUE}
    assert a.solver == "euler"  # drawn as the ResNet's layers, in the ResNet's colour
    spec = charts.layer_trajectory_chart(
        re.time_frame(paths, sources), tuple(colors.items())
    ).to_dict()
    lines, layers, names = spec["layer"]
    legend = lines["encoding"]["color"]["scale"]
    assert legend["domain"] == list(sources)  # every source has a legend entry
    symbols = layers["encoding"]["shape"]["scale"]
    assert dict(zip(symbols["domain"], symbols["range"], strict=True)) == {
        re.LAYERS: "circle",
        "Euler solve": "stroke",
        "RK4, same Δt": "stroke",
        re.EXACT: "stroke",
    }
    assert "strokeDash" not in lines["encoding"]  # no unexplained dashes
    assert names["mark"]["type"] == "text"  # x₁, x₂ named at the end of the exact curve
    # Phase planes: the same units per pixel on both axes.
    x, y = charts.square_domains((-1.0, 3.0, -2.0, 1.0), (340, 330))
    assert (x[1] - x[0]) / 340 == pytest.approx((y[1] - y[0]) / 330)
    assert x[0] <= -1.0 and x[1] >= 3.0 and y[0] <= -2.0 and y[1] >= 1.0
    x, y = charts.square_domains((-1.0, 3.0, -2.0, 1.0))  # any width: Vega expressions
    assert "width / height" in x["expr"] and "height / width" in y["expr"]


def test_re_axes_hold_every_layer_count():
    coarse = re.coarsest_paths("rk4", 4)
    values, plane = re.extents(re.layer_paths(8, "rk4", 4), coarse)
    for layers in (2, 8, 32, 128):
        paths = re.layer_paths(layers, "rk4", 4)
        for name in ("resnet", "euler", "other", "exact"):
            ys = paths.path(name)[1]
            assert values[0] <= ys[0].min() and ys[0].max() <= values[1]
            assert plane[0] <= ys[1:, :, 0].min() and ys[1:, :, 0].max() <= plane[1]
            assert plane[2] <= ys[1:, :, 1].min() and ys[1:, :, 1].max() <= plane[3]


def test_re_fifth_order_methods_are_at_round_off_at_once():
    """The table's caption: '—' for a fifth-order method, at round-off level almost at once."""
    study = re.convergence(("tsit5", "dopri5"), re.ResnetEulerSettings().seed)
    assert study["orders"]["observed slope"].isna().all()
    coarsest = study["errors"][study["errors"]["dt"] == re.T_END / re.CONVERGENCE_STEPS[0]]
    assert (coarsest["error"] < 1e-5).all()
