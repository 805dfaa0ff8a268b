"""PyTorch peer for the ResODE Lab benchmarks.

Re-implements, in plain PyTorch + torchdiffeq, the two Julia experiments from the
course notes (``shared/seed/resnets-and-neural-odes.txt``) so the JAX core can be
compared against an independent, widely used stack:

* the spiral neural ODE (``u' = A^T u^3``, 16 samples on ``t in [0, 1.5]``,
  model ``x -> x^3 -> Dense(2, 50, tanh) -> Dense(50, 2)``, Adam(0.1), loss =
  sum of squared errors), timed per training epoch with ``odeint`` (backprop
  through the solver) and ``odeint_adjoint`` (continuous adjoint);
* the Flux "fit y = x" experiment: a 4-layer 1-wide tanh net, plain vs. with a
  skip connection around the three tanh layers, Adam(1e-3), minibatches of 8,
  stop as soon as the full-data MSE drops below 0.01.

Conventions
-----------
* Everything is float32, like the Julia code (``Float32`` data, Flux's default).
* Weights use Glorot/Xavier-uniform and biases are zero, matching Flux's
  ``Dense`` defaults (PyTorch's own ``nn.Linear`` default init differs).
* Thread settings are left at PyTorch's defaults (``torch.get_num_threads()``,
  usually the number of physical cores); the value in use is reported in the
  JSON so numbers from different machines are not silently mixed.
* The module does no work at import time. Every timing function returns a plain
  ``dict`` of Python numbers / lists, so it can be dumped to JSON directly.

Run ``python3 benchmarks/peers_torch.py --help`` (or ``python3 -m
benchmarks.peers_torch``). It prints a table and, as the very last line, one
JSON object with all results.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from typing import Any

import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

DTYPE = torch.float32

# Spiral problem from the notes.
SPIRAL_U0 = (2.0, 0.0)
SPIRAL_A = ((-0.1, 2.0), (-2.0, -0.1))
SPIRAL_TSPAN = (0.0, 1.5)

# Identity-fit problem from the notes.
IDENTITY_ARCHITECTURES = ("plain", "resnet")


# --------------------------------------------------------------------------- #
# Shared helpers
# --------------------------------------------------------------------------- #
def _flux_init_(module: nn.Module) -> None:
    """Give every Linear in ``module`` Flux's default init: glorot-uniform W, zero b."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def _summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_s": statistics.median(samples),
        "mean_s": statistics.fmean(samples),
        "min_s": min(samples),
        "max_s": max(samples),
    }


def environment() -> dict[str, Any]:
    """Versions and thread counts, recorded next to every result."""
    import torchdiffeq

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torchdiffeq": getattr(torchdiffeq, "__version__", "unknown"),
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "dtype": str(DTYPE).removeprefix("torch."),
    }


# --------------------------------------------------------------------------- #
# Spiral neural ODE
# --------------------------------------------------------------------------- #
def _true_spiral_rhs(a_matrix: torch.Tensor):
    def rhs(t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        # Julia: ((u.^3)' * A)'  ==  row vector u^3 times A  ==  A^T u^3.
        return (u**3) @ a_matrix

    return rhs


def spiral_data(n_samples: int = 16) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The notes' spiral training data.

    Integrated in float64 with dopri5 (rtol 1e-7, atol 1e-9) and then cast to
    float32. Returns ``(t, u0, data)`` with shapes ``(n,)``, ``(2,)``, ``(n, 2)``;
    ``data[0]`` equals ``u0``.
    """
    a64 = torch.tensor(SPIRAL_A, dtype=torch.float64)
    u0_64 = torch.tensor(SPIRAL_U0, dtype=torch.float64)
    t64 = torch.linspace(SPIRAL_TSPAN[0], SPIRAL_TSPAN[1], n_samples, dtype=torch.float64)
    with torch.no_grad():
        traj = odeint(_true_spiral_rhs(a64), u0_64, t64, rtol=1e-7, atol=1e-9, method="dopri5")
    return t64.to(DTYPE), u0_64.to(DTYPE), traj.to(DTYPE)


class SpiralField(nn.Module):
    """Vector field ``u -> Dense(50, 2)(tanh(Dense(2, 50)(u^3)))`` with an NFE counter."""

    def __init__(self, hidden: int = 50) -> None:
        super().__init__()
        self.inner = nn.Linear(2, hidden)
        self.outer = nn.Linear(hidden, 2)
        self.nfe = 0
        _flux_init_(self)

    def forward(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        return self.outer(torch.tanh(self.inner(u**3)))


def time_spiral_epoch(
    method: str = "dopri5",
    adjoint: bool = False,
    epochs: int = 25,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    seed: int = 0,
    warmup: int = 2,
    step_size: float | None = None,
    init_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train the spiral neural ODE for ``epochs`` Adam(0.1) steps and time them.

    One epoch = one forward solve over the 16 sample times, the summed squared
    error against the data, one backward pass and one Adam step (the notes run
    25 of them). All ``epochs`` epochs train the model, but the first ``warmup``
    are not timed, so timing statistics cover ``epochs - warmup`` epochs and the
    trained model matches the notes' 25 steps.

    ``adjoint=True`` uses ``torchdiffeq.odeint_adjoint`` (with its defaults:
    the adjoint solve reuses ``method``/``rtol``/``atol``); otherwise
    ``torchdiffeq.odeint`` and autograd through the solver's operations.
    ``step_size`` is passed as ``options={"step_size": ...}`` for fixed-step
    methods such as ``"rk4"``.

    NFE counts are calls of the vector field: ``nfe_forward`` during the loss
    evaluation, ``nfe_backward`` during ``loss.backward()`` (always 0 without
    the adjoint, since autograd replays the recorded graph instead).
    """
    if epochs <= warmup:
        raise ValueError(f"epochs ({epochs}) must exceed warmup ({warmup})")
    t, u0, data = spiral_data()
    torch.manual_seed(seed)
    field = SpiralField()
    if init_params is not None:
        # Start from given weights (e.g. the JAX model's) so both peers follow one path.
        with torch.no_grad():
            field.inner.weight.copy_(torch.as_tensor(init_params["hidden_weight"]))
            field.inner.bias.copy_(torch.as_tensor(init_params["hidden_bias"]))
            field.outer.weight.copy_(torch.as_tensor(init_params["output_weight"]))
            field.outer.bias.copy_(torch.as_tensor(init_params["output_bias"]))
    optimizer = torch.optim.Adam(field.parameters(), lr=0.1)
    solve = odeint_adjoint if adjoint else odeint
    options = None if step_size is None else {"step_size": step_size}

    def predict(solver) -> torch.Tensor:
        return solver(field, u0, t, rtol=rtol, atol=atol, method=method, options=options)

    losses: list[float] = []
    seconds: list[float] = []
    nfe_fwd: list[int] = []
    nfe_bwd: list[int] = []
    for epoch in range(epochs):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        field.nfe = 0
        loss = ((predict(solve) - data) ** 2).sum()
        forward_calls = field.nfe
        loss.backward()
        optimizer.step()
        elapsed = time.perf_counter() - start
        losses.append(loss.item())
        nfe_fwd.append(forward_calls)
        nfe_bwd.append(field.nfe - forward_calls)
        if epoch >= warmup:
            seconds.append(elapsed)

    with torch.no_grad():
        final_loss = ((predict(odeint) - data) ** 2).sum().item()

    timed_fwd = nfe_fwd[warmup:]
    timed_bwd = nfe_bwd[warmup:]
    return {
        "method": method,
        "adjoint": adjoint,
        "solver": "odeint_adjoint" if adjoint else "odeint",
        "rtol": rtol,
        "atol": atol,
        "seed": seed,
        "epochs": epochs,
        "warmup_epochs": warmup,
        "timed_epochs": len(seconds),
        **{f"{k.removesuffix('_s')}_s_per_epoch": v for k, v in _summary(seconds).items()},
        "seconds_per_epoch": seconds,
        "initial_loss": losses[0],
        "last_epoch_loss": losses[-1],
        "final_loss": final_loss,
        "losses": losses,
        "mean_nfe_forward": statistics.fmean(timed_fwd),
        "mean_nfe_backward": statistics.fmean(timed_bwd),
        "mean_nfe_per_epoch": statistics.fmean(
            f + b for f, b in zip(timed_fwd, timed_bwd, strict=True)
        ),
        # NFE grows as the field is trained, so s/epoch depends on the training
        # path; seconds per vector-field call is the fairer cross-stack number.
        "seconds_per_nfe": sum(seconds) / (sum(timed_fwd) + sum(timed_bwd)),
        "nfe_forward": nfe_fwd,
        "nfe_backward": nfe_bwd,
    }


# --------------------------------------------------------------------------- #
# Identity fit (plain vs. ResNet)
# --------------------------------------------------------------------------- #
class _Residual(nn.Module):
    """``x -> body(x) + x`` (Flux's ``SkipConnection(body, +)``)."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


def _tanh_stack() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(1, 1), nn.Tanh(), nn.Linear(1, 1), nn.Tanh(), nn.Linear(1, 1), nn.Tanh()
    )


def identity_model(architecture: str) -> nn.Module:
    """The notes' 1-wide nets: three ``Dense(1 => 1, tanh)`` then ``Dense(1 => 1)``.

    ``"resnet"`` wraps the three tanh layers in a skip connection. Weights get
    Flux's default init (call ``torch.manual_seed`` first for reproducibility).
    """
    if architecture == "plain":
        model = nn.Sequential(_tanh_stack(), nn.Linear(1, 1))
    elif architecture == "resnet":
        model = nn.Sequential(_Residual(_tanh_stack()), nn.Linear(1, 1))
    else:
        raise ValueError(
            f"architecture must be one of {IDENTITY_ARCHITECTURES}, got {architecture!r}"
        )
    _flux_init_(model)
    return model


def time_identity_fit(
    architecture: str,
    seed: int,
    max_epochs: int = 10_000,
    tol: float = 0.01,
    batch_size: int = 8,
    lr: float = 1e-3,
) -> dict[str, Any]:
    """Fit ``y = x`` on ``x = -10, ..., 10`` like the notes' Flux loop and time it.

    Each epoch shuffles the 21 points and takes one Adam step per minibatch of
    ``batch_size`` (8, 8, 5: the partial batch is kept, as Flux's DataLoader
    does) on that batch's MSE. After every epoch the MSE on all 21 points is
    computed; training stops at the first epoch where it is below ``tol``, or
    after ``max_epochs``. ``seconds`` covers model construction, training and the
    per-epoch checks.
    """
    x = torch.arange(-10, 11, dtype=DTYPE).reshape(-1, 1)
    y = x.clone()
    n = x.shape[0]
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = identity_model(architecture)
    shuffler = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()

    epochs_run = 0
    full_mse = float("nan")
    converged = False
    for epoch in range(1, max_epochs + 1):
        order = torch.randperm(n, generator=shuffler)
        for lo in range(0, n, batch_size):
            idx = order[lo : lo + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            full_mse = loss_fn(model(x), y).item()
        epochs_run = epoch
        if full_mse < tol:
            converged = True
            break
    seconds = time.perf_counter() - start
    return {
        "architecture": architecture,
        "seed": seed,
        "epochs": epochs_run,
        "converged": converged,
        "final_mse": full_mse,
        "seconds": seconds,
        "seconds_per_epoch": seconds / epochs_run,
        "max_epochs": max_epochs,
        "tol": tol,
    }


# --------------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------------- #
def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="PyTorch/torchdiffeq peer timings for the ResODE Lab benchmarks."
    )
    parser.add_argument(
        "--seeds", type=int, default=5, help="identity-fit seeds per architecture (default 5)"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=25,
        help="spiral training epochs, 2 of them warm-up (default 25)",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=10_000,
        help="identity-fit epoch cap (default 10000, as in the notes)",
    )
    parser.add_argument("--skip-spiral", action="store_true", help="only run the identity fits")
    parser.add_argument("--skip-identity", action="store_true", help="only run the spiral timings")
    parser.add_argument("--out", help="also write the JSON result to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = _parse_args(argv)
    run_start = time.perf_counter()
    result: dict[str, Any] = {"peer": "pytorch", "environment": environment()}

    if not args.skip_spiral:
        spiral = [
            time_spiral_epoch(method="dopri5", adjoint=adj, epochs=args.epochs)
            for adj in (False, True)
        ]
        result["spiral"] = spiral
        print(f"Spiral neural ODE, dopri5 rtol=1e-7 atol=1e-9, float32, {args.epochs} epochs")
        print(
            f"{'solver':<16}{'median s/ep':>12}{'mean s/ep':>11}{'NFE fwd':>9}"
            f"{'NFE bwd':>9}{'us/NFE':>8}{'loss[0]':>10}{'final loss':>12}"
        )
        for row in spiral:
            print(
                f"{row['solver']:<16}{row['median_s_per_epoch']:>12.4f}"
                f"{row['mean_s_per_epoch']:>11.4f}{row['mean_nfe_forward']:>9.1f}"
                f"{row['mean_nfe_backward']:>9.1f}{1e6 * row['seconds_per_nfe']:>8.1f}"
                f"{row['initial_loss']:>10.3f}"
                f"{row['final_loss']:>12.4f}"
            )
        print()

    if not args.skip_identity:
        # The first optimizer steps in a fresh process pay one-off setup costs
        # (~0.8 s measured); burn them off so seed 0 is not penalised.
        for arch in IDENTITY_ARCHITECTURES:
            time_identity_fit(arch, seed=0, max_epochs=20)
        fits = [
            time_identity_fit(arch, seed, max_epochs=args.max_epochs)
            for arch in IDENTITY_ARCHITECTURES
            for seed in range(args.seeds)
        ]
        result["identity_fit"] = fits
        print(
            f"Identity fit y = x, Adam(1e-3), batch 8, stop at MSE < 0.01 (cap {args.max_epochs})"
        )
        print(
            f"{'arch':<8}{'seed':>5}{'epochs':>8}{'conv':>6}{'final MSE':>12}{'seconds':>9}"
            f"{'ms/epoch':>10}"
        )
        for row in fits:
            print(
                f"{row['architecture']:<8}{row['seed']:>5}{row['epochs']:>8}"
                f"{'yes' if row['converged'] else 'no':>6}{row['final_mse']:>12.4g}"
                f"{row['seconds']:>9.3f}{1e3 * row['seconds_per_epoch']:>10.3f}"
            )
        print()

    result["total_seconds"] = time.perf_counter() - run_start
    print(f"total {result['total_seconds']:.1f} s")
    line = json.dumps(result, separators=(",", ":"))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(line + "\n")
    print(line)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
