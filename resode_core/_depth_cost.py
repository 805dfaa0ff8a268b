"""What depth costs: parameters, gradient memory and time of a ResNet against a neural ODE.

Both models use the same smooth one-layer field V(x, t) = tanh(W(t)x + b(t))
(`SmoothLayerField`). The ResNet of depth L stores one layer per step, sampled from the
field at t_ℓ = ℓT/L (so its forward pass *is* forward Euler on the field); the neural ODE
keeps the field itself and takes L Euler steps. Memory is XLA's own analysis of the
compiled gradient, one compile per L (the step count fixes buffer sizes).
"""

from __future__ import annotations

import time

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ._aot import AotFunction
from ._nets import SmoothLayerField, param_count, resnet_from_field
from ._solvers import device_array, solver_info

DEPTH_METHODS = ("resnet", "node_backprop", "node_backsolve")
DEPTH_METHOD_LABELS = {
    "resnet": "ResNet (backprop)",
    "node_backprop": "neural ODE, backprop through the solver",
    "node_backsolve": "neural ODE, adjoint (BacksolveAdjoint)",
}


def _adjoint(method: str, checkpoints: int | None):
    if method == "node_backsolve":
        return diffrax.BacksolveAdjoint()
    # Backprop through the solver, storing every step (no recomputation): O(L) memory.
    return diffrax.RecursiveCheckpointAdjoint(checkpoints=checkpoints)


def _problem(width: int, batch: int, seed: int):
    keys = jr.split(jr.PRNGKey(seed), 3)
    field = SmoothLayerField(width, key=keys[0], scale=0.5)
    xs = jr.normal(keys[1], (batch, width))
    targets = jr.normal(keys[2], (batch, width))
    return field, xs, targets


def _node_solve(field, x, t_end, *, solver, dt, max_steps, adjoint, rtol=None, atol=None):
    adaptive = dt is None
    return diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        solver_info(solver).make(),
        t0=0.0,
        t1=t_end,
        dt0=dt,
        y0=x,
        saveat=diffrax.SaveAt(t1=True),
        stepsize_controller=(
            diffrax.PIDController(rtol=rtol, atol=atol) if adaptive else diffrax.ConstantStepSize()
        ),
        adjoint=adjoint,
        max_steps=max_steps,
        throw=False,
    )


def _depth_model(method: str, depth: int, width: int, batch: int, t_end: float, seed: int):
    """The problem's field, inputs and targets, and the model whose gradient is measured."""
    field, xs, targets = _problem(width, batch, seed)
    if method == "resnet":
        return field, xs, targets, resnet_from_field(field, depth, t_end / depth, max_depth=depth)
    return field, xs, targets, field


def _depth_gradient(params, method, depth, width, batch, t_end, seed):
    # Inputs, targets and the model's structure are constants of the program, as in a closure:
    # rebuilt here from the static arguments, evaluated now rather than traced.
    with jax.ensure_compile_time_eval():
        _, xs, targets, model = _depth_model(method, depth, width, batch, t_end, seed)
    static = eqx.partition(model, eqx.is_inexact_array)[1]
    dt = t_end / depth

    def loss(p):
        net = eqx.combine(p, static)
        if method == "resnet":
            outputs = jax.vmap(net)(xs)
        else:
            adjoint = _adjoint(method, depth)

            def one(x):
                sol = _node_solve(
                    net, x, t_end, solver="euler", dt=dt, max_steps=depth, adjoint=adjoint
                )
                return sol.ys[-1]

            outputs = jax.vmap(one)(xs)
        return jnp.mean(jnp.sum((outputs - targets) ** 2, axis=-1))

    return jax.grad(loss)(params)


# Stored traced: the page measures a dozen depths, whose tracing took about 3 s of a restarted
# server's first visit.
_depth_gradient_stored = AotFunction("depth_gradient", _depth_gradient, lambda params, *_: params)


def depth_cost(
    method: str,
    depth: int,
    *,
    width: int = 16,
    batch: int = 64,
    t_end: float = 1.0,
    seed: int = 0,
    repeats: int = 3,
) -> dict:
    """Parameters, compiled-gradient memory (bytes) and time of one gradient at depth L.

    method: "resnet" (L stored layers), "node_backprop" (L Euler steps, gradient by
    backprop through the stored steps) or "node_backsolve" (L Euler steps, gradient by
    solving the adjoint ODE backwards, which stores nothing per step). Returns a dict with
    params, argument/output/temp/total bytes, seconds, and the flat gradient with respect
    to the field's parameters (None for the ResNet, whose parameters are its layers).
    """
    if method not in DEPTH_METHODS:
        raise ValueError(f"method must be one of {', '.join(DEPTH_METHODS)}.")
    if int(depth) != depth or not 1 <= depth <= 4096:
        raise ValueError("depth must be a whole number between 1 and 4096.")
    problem = (method, int(depth), int(width), int(batch), float(t_end), int(seed))
    field, _, _, model = _depth_model(*problem)
    params = eqx.filter(model, eqx.is_inexact_array)
    compiled, arrays = _depth_gradient_stored.compiled(params, *problem)
    analysis = compiled.memory_analysis()
    memory = {
        "argument_bytes": int(getattr(analysis, "argument_size_in_bytes", 0)),
        "output_bytes": int(getattr(analysis, "output_size_in_bytes", 0)),
        "temp_bytes": int(getattr(analysis, "temp_size_in_bytes", 0)),
    }
    memory["total_bytes"] = sum(memory.values())
    grads = compiled(*arrays)
    jax.block_until_ready(grads)
    times = []
    for _ in range(max(1, int(repeats))):
        started = time.perf_counter()
        jax.block_until_ready(compiled(*arrays))
        times.append(time.perf_counter() - started)
    flat = None
    if method != "resnet":
        flat = np.concatenate([np.ravel(g) for g in grads])
    return {
        "method": method,
        "depth": int(depth),
        "params": param_count(model) if method == "resnet" else param_count(field),
        **memory,
        "seconds": float(np.median(times)),
        "gradient": flat,
    }


def _adaptive_gradient(field, xs, targets, rtol, atol, backsolve: bool, max_steps: int):
    adjoint = diffrax.BacksolveAdjoint() if backsolve else diffrax.RecursiveCheckpointAdjoint()

    def loss(f):
        def one(x):
            sol = _node_solve(
                f,
                x,
                1.0,
                solver="tsit5",
                dt=None,
                max_steps=max_steps,
                adjoint=adjoint,
                rtol=rtol,
                atol=atol,
            )
            return sol.ys[-1], sol.stats["num_steps"]

        outputs, steps = jax.vmap(one)(xs)
        return jnp.mean(jnp.sum((outputs - targets) ** 2, axis=-1)), jnp.max(steps)

    (value, steps), grads = eqx.filter_value_and_grad(loss, has_aux=True)(field)
    return value, steps, grads


# Stored traced (a restarted server skips tracing two diffrax gradients, 2.7 s).
_adaptive_gradient_stored = AotFunction(
    "adaptive_gradient",
    eqx.filter_jit(_adaptive_gradient),
    lambda field, *_: (0, 0, eqx.filter(field, eqx.is_inexact_array)),
)


def _round_trip(field, xs, rtol, atol, max_steps: int):
    """Solve each x from 0 to 1, then back from x(1) to 0 (both Tsit5 at these tolerances):
    the relative distance ‖x̃(0) − x(0)‖ / ‖x(0)‖ over the batch."""
    controller = diffrax.PIDController(rtol=rtol, atol=atol)

    def one(x):
        def solve(start, t0, t1):
            return diffrax.diffeqsolve(
                diffrax.ODETerm(field),
                solver_info("tsit5").make(),
                t0=t0,
                t1=t1,
                dt0=None,
                y0=start,
                saveat=diffrax.SaveAt(t1=True),
                stepsize_controller=controller,
                max_steps=max_steps,
                throw=False,
            )

        return solve(solve(x, 0.0, 1.0).ys[-1], 1.0, 0.0).ys[-1]

    recovered = jax.vmap(one)(xs)
    return jnp.linalg.norm(recovered - xs) / jnp.linalg.norm(xs)


_round_trip_stored = AotFunction("round_trip", eqx.filter_jit(_round_trip), lambda *_: 0)


def adjoint_comparison(
    rtol: float, *, width: int = 16, batch: int = 64, seed: int = 0, repeats: int = 3
) -> dict:
    """Gradients of the same loss by backprop through Tsit5 and by the backsolve adjoint.

    Returns the relative difference ‖g_adjoint − g_backprop‖ / ‖g_backprop‖, the time of
    each, and the forward step count. rtol is a runtime value (atol = rtol / 100).
    Also `backward_drift`: what the adjoint's backward pass relies on, solving the ODE in
    reverse, measured alone. Each input is solved to t = 1 and back to 0 at the same
    tolerances, and ‖x̃(0) − x(0)‖ / ‖x(0)‖ over the batch is how far the round trip misses.
    """
    if not (np.isfinite(rtol) and 0 < rtol < 1):
        raise ValueError("rtol must be in (0, 1).")
    field, xs, targets = _problem(width, batch, seed)
    out = {}
    for name, backsolve in (("backprop", False), ("backsolve", True)):
        args = (
            field,
            xs,
            targets,
            device_array(rtol, jnp.float32),
            device_array(rtol / 100, jnp.float32),
            backsolve,
            4096,  # max_steps
        )
        value, steps, grads = _adaptive_gradient_stored(*args)
        jax.block_until_ready(grads)
        times = []
        for _ in range(max(1, int(repeats))):
            started = time.perf_counter()
            jax.block_until_ready(_adaptive_gradient_stored(*args))
            times.append(time.perf_counter() - started)
        leaves = jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_inexact_array))
        out[name] = {
            "loss": float(value),
            "steps": int(steps),
            "seconds": float(np.median(times)),
            "gradient": np.concatenate([np.ravel(g) for g in leaves]),
        }
    bp, bs = out["backprop"]["gradient"], out["backsolve"]["gradient"]
    out["relative_difference"] = float(np.linalg.norm(bs - bp) / np.linalg.norm(bp))
    tolerances = (device_array(rtol, jnp.float32), device_array(rtol / 100, jnp.float32))
    out["backward_drift"] = float(_round_trip_stored(field, xs, *tolerances, 4096))
    return out
