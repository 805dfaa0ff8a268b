"""ResODE Lab's JAX core against PyTorch peers, in the same process and run.

    python3 -m pip install -r requirements-bench.txt
    python3 -m benchmarks.bench_core            # table + JSON (benchmarks/results/core.json)
    python3 -m benchmarks.bench_core --quick    # fewer seeds/repeats

Prints medians and ratios (peer time / our time). Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import jax.random as jr
import numpy as np

import resode_core as rc


def _timed(fn, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def spiral_data() -> tuple[np.ndarray, np.ndarray]:
    system = rc.spiral_system()
    ts = rc.sample_times()
    return ts, np.asarray(rc.simulate(system, system.u0, ts).ys)


def jax_spiral_epoch(solver: str, epochs: int = 25, repeats: int = 5) -> dict[str, Any]:
    """Seconds per training epoch at the notes' settings (Adam(0.1), rtol 1e-7, atol 1e-9)."""
    ts, ys = spiral_data()
    data = rc.trajectory_data(ts, ys)
    settings = rc.SolverSettings(solver, rtol=1e-7, atol=1e-9)
    untrained = rc.fit_ode(data, settings, epochs=0, learning_rate=0.1)  # weights of seed 0

    def run_block():
        # All epochs in one compiled call, as a page's chunk runs them.
        return rc.fit_ode(
            data, settings, epochs=epochs, learning_rate=0.1, chunks=1, start=untrained
        )

    compile_start = time.perf_counter()
    fit = run_block()
    first_call = time.perf_counter() - compile_start
    per_epoch = [s / epochs for s in _timed(run_block, repeats)]

    # One epoch per call: the per-epoch median as a page streaming one epoch would see it.
    def one_epoch_each():
        step, times = untrained, []
        for k in range(1, epochs + 1):
            start = time.perf_counter()
            step = rc.fit_ode(data, settings, epochs=k, learning_rate=0.1, chunks=k, start=step)
            times.append(time.perf_counter() - start)
        return times

    single = one_epoch_each()
    nfe_forward = fit.solver_steps * rc.SOLVERS[solver].evaluations_per_step + 1
    return {
        "mean_nfe_forward": float(np.mean(nfe_forward)),
        "seconds_per_forward_nfe": statistics.median(per_epoch) / float(np.mean(nfe_forward)),
        "solver": solver,
        "first_call_s": first_call,
        "mean_s_per_epoch": statistics.median(per_epoch),
        "median_single_epoch_call_s": statistics.median(single),
        "initial_loss": float(fit.losses[0]),
        "last_epoch_loss": float(fit.losses[-1]),
    }


def jax_fit_times(repeats: int = 5) -> dict[str, Any]:
    ts, ys = spiral_data()
    rc.fit_neural_ode(ts, ys, epochs=25, learning_rate=0.1)  # compile
    fit25 = _timed(lambda: rc.fit_neural_ode(ts, ys, epochs=25, learning_rate=0.1), repeats)
    fit300 = _timed(lambda: rc.fit_neural_ode(ts, ys, epochs=300, learning_rate=0.1), 2)
    return {"fit_25_epochs_s": statistics.median(fit25), "fit_300_epochs_s": min(fit300)}


def jax_identity(seeds: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arch in ("plain", "resnet"):
        rc.fit_identity(arch, seed=0, max_epochs=5)  # compile
        per_seed = []
        for seed in seeds:
            start = time.perf_counter()
            fit = rc.fit_identity(arch, seed=seed)
            per_seed.append(
                {
                    "seed": seed,
                    "epochs": fit.epochs,
                    "converged": fit.converged,
                    "final_mse": fit.final_mse,
                    "seconds": time.perf_counter() - start,
                }
            )
        rc.fit_identity_seeds(arch, seeds, max_epochs=5)  # compile this seed-count bucket
        start = time.perf_counter()
        rc.fit_identity_seeds(arch, seeds)
        vmapped = time.perf_counter() - start
        out[arch] = {"runs": per_seed, "all_seeds_one_call_s": vmapped}
    return out


def cost_against_depth(depths=(32, 128, 512, 2048), width: int = 32) -> list[dict]:
    """ResNet forward+backward time against depth L (one compile per L: max_depth = L)."""
    x, y = rc.regression_task(width, 128, seed=0)
    rows = []
    for depth in depths:
        net = rc.ResNet(depth, width, key=jr.PRNGKey(0), max_depth=depth)
        rc.layer_grad_norms(net, x, y)
        seconds = statistics.median(_timed(lambda n=net: rc.layer_grad_norms(n, x, y), 20))
        rows.append({"L": depth, "params": rc.param_count(net), "seconds": seconds})
    return rows


def cost_against_steps(steps=(64, 256, 1024, 4096)) -> list[dict]:
    """Neural-ODE loss+gradient time against the number of Euler steps (one compile)."""
    ts, ys = spiral_data()
    data = rc.trajectory_data(ts, ys)
    untrained = rc.fit_ode(data, rc.SolverSettings(), epochs=0, learning_rate=1e-3)
    rows = []
    for n in steps:
        settings = rc.SolverSettings("euler", dt=1.5 / n)

        def one_epoch(s=settings):
            return rc.fit_ode(data, s, epochs=1, learning_rate=1e-3, start=untrained)

        one_epoch()
        seconds = statistics.median(_timed(one_epoch, 10))
        rows.append({"steps": n, "params": rc.param_count(untrained.model), "seconds": seconds})
    return rows


def linear_fit_slope(xs, ys) -> float:
    slope, _ = np.polyfit(np.log(xs), np.log(ys), 1)
    return float(slope)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer seeds and repeats")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch peers")
    parser.add_argument("--out", default="benchmarks/results/core.json")
    args = parser.parse_args(argv)
    seeds = list(range(3 if args.quick else 5))

    report: dict[str, Any] = {}
    report["jax_spiral"] = {s: jax_spiral_epoch(s) for s in ("dopri5", "tsit5")}
    report["jax_fits"] = jax_fit_times()
    report["jax_identity"] = jax_identity(seeds)
    report["depth_cost"] = cost_against_depth()
    report["steps_cost"] = cost_against_steps()

    if not args.no_torch:
        try:
            from benchmarks import peers_torch
        except ImportError as error:  # torch is optional
            print(f"PyTorch peers skipped ({error}); install requirements-bench.txt")
        else:
            # The same initial weights as the JAX fit, so both train along the same path.
            model = rc.MLPVectorField(2, 50, key=jr.PRNGKey(0))
            init = {
                name: np.asarray(getattr(model, name))
                for name in ("hidden_weight", "hidden_bias", "output_weight", "output_bias")
            }
            report["torch_spiral"] = {
                name: peers_torch.time_spiral_epoch("dopri5", adjoint=adjoint, init_params=init)
                for name, adjoint in (("odeint", False), ("odeint_adjoint", True))
            }
            peers_torch.time_identity_fit("resnet", 0, max_epochs=20)  # warm-up
            report["torch_identity"] = {
                arch: [peers_torch.time_identity_fit(arch, s) for s in seeds]
                for arch in ("plain", "resnet")
            }

    print_table(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=float))
    print(json.dumps(report, default=float))
    return report


def print_table(r: dict[str, Any]) -> None:
    print("\n== Spiral neural ODE, one training epoch (rtol 1e-7, atol 1e-9, Adam(0.1), 25 epochs)")
    # Ratios per epoch and per forward function evaluation (NFE): the second corrects
    # for the two stacks taking slightly different adaptive steps.
    print(
        f"{'implementation':34s} {'s/epoch':>10s} {'ratio':>8s} {'fwd NFE':>8s}"
        f" {'us/NFE':>8s} {'ratio':>8s}"
    )
    ours = r["jax_spiral"]["dopri5"]["mean_s_per_epoch"]
    ours_nfe = r["jax_spiral"]["dopri5"]["seconds_per_forward_nfe"]
    for solver, row in r["jax_spiral"].items():
        print(
            f"{'JAX/diffrax ' + solver + ' (whole-loop jit)':34s} {row['mean_s_per_epoch']:10.5f}"
            f" {'':8s} {row['mean_nfe_forward']:8.1f} {1e6 * row['seconds_per_forward_nfe']:8.2f}"
        )
        print(
            f"{'JAX/diffrax ' + solver + ' (1 epoch per call)':34s} "
            f"{row['median_single_epoch_call_s']:10.5f}"
        )
    for name, row in r.get("torch_spiral", {}).items():
        peer = row["median_s_per_epoch"]
        peer_nfe = peer / row["mean_nfe_forward"]
        print(
            f"{'torchdiffeq dopri5 ' + name:34s} {peer:10.5f} {peer / ours:7.1f}x"
            f" {row['mean_nfe_forward']:8.1f} {1e6 * peer_nfe:8.2f} {peer_nfe / ours_nfe:7.1f}x"
        )

    f = r["jax_fits"]
    print(f"\n25-epoch seed fit end to end (warm): {f['fit_25_epochs_s']:.3f} s")
    print(f"300-epoch seed fit end to end (warm): {f['fit_300_epochs_s']:.3f} s")

    print("\n== y = x (notes' recipe), time to converge from a fresh initialisation")
    print(
        f"{'arch':7s} {'JAX median s':>13s} {'epochs':>8s} {'conv':>5s} {'torch median s':>15s} {'ratio':>7s}"
    )
    for arch in ("plain", "resnet"):
        runs = r["jax_identity"][arch]["runs"]
        jax_s = statistics.median(run["seconds"] for run in runs)
        epochs = statistics.median(run["epochs"] for run in runs)
        conv = sum(run["converged"] for run in runs)
        line = f"{arch:7s} {jax_s:13.3f} {epochs:8.0f} {conv:>3d}/{len(runs)}"
        if "torch_identity" in r:
            torch_s = statistics.median(run["seconds"] for run in r["torch_identity"][arch])
            line += f" {torch_s:15.3f} {torch_s / jax_s:6.1f}x"
        print(line)
        print(
            f"        all seeds in one compiled call: {r['jax_identity'][arch]['all_seeds_one_call_s']:.3f} s"
        )

    print("\n== Cost against depth L (ResNet, width 32) and steps (neural ODE, Euler)")
    for row in r["depth_cost"]:
        print(f"ResNet L={row['L']:4d}  params={row['params']:7d}  {row['seconds'] * 1e3:8.3f} ms")
    depth = r["depth_cost"]
    print(
        f"  log-log slope of time vs L: {linear_fit_slope([d['L'] for d in depth], [d['seconds'] for d in depth]):.2f}"
    )
    for row in r["steps_cost"]:
        print(
            f"NODE steps={row['steps']:4d}  params={row['params']:7d}  {row['seconds'] * 1e3:8.3f} ms"
        )
    steps = r["steps_cost"]
    print(
        f"  log-log slope of time vs steps: {linear_fit_slope([s['steps'] for s in steps], [s['seconds'] for s in steps]):.2f}"
    )


if __name__ == "__main__":
    main()
