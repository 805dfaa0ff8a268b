"""ResODE Lab's pure-JAX core: systems, solvers, nets, training and diagnostics.

No Streamlit or Altair here: the same core drives the app, the tests and the benchmarks.
The public API is the names below, grouped by concept (`__all__` lists them all).
"""

import os as _os

# Before equinox loads: runtime checks return NaN instead of using a host callback,
# which lets XLA store the compiled executables in the persistent cache.
_os.environ.setdefault("EQX_ON_ERROR", "nan")

# ruff: noqa: E402
# isort: skip_file  (grouped by concept, not alphabetically)
# Systems: the worked examples' ODEs and data sets.
# Files and process set-up: trained fields as bytes, the persistent compilation cache.
from ._aot import background_compiles as background_compiles, clear_programs as clear_programs
from ._config import enable_compilation_cache as enable_compilation_cache

# Diagnostics: gradients per layer, orders, errors, and what depth costs.
from ._depth_cost import adjoint_comparison as adjoint_comparison, depth_cost as depth_cost
from ._diagnostics import (
    convergence_order as convergence_order,
    fixed_step_endpoints as fixed_step_endpoints,
    hidden_state_paths as hidden_state_paths,
    layer_grad_norms as layer_grad_norms,
    relative_errors as relative_errors,
    shrunk_outputs as shrunk_outputs,
)

# Training: one neural-ODE fit API, the y = x recipe, deep nets, regression as a flow.
from ._fit_deep import train_deep_net as train_deep_net
from ._fit_identity import fit_identity as fit_identity, fit_identity_seeds as fit_identity_seeds
from ._fit_ode import (
    OdeFit as OdeFit,
    fit_neural_ode as fit_neural_ode,
    fit_ode as fit_ode,
    trajectory_data as trajectory_data,
)
from ._flows import FLOW_TASKS as FLOW_TASKS, flow_regression_task as flow_regression_task
from ._io import (
    vector_field_from_bytes as vector_field_from_bytes,
    vector_field_to_bytes as vector_field_to_bytes,
)

# Nets: layer stacks, the notes' vector field, and the ResNet ↔ Euler bridge.
from ._nets import (
    MLPVectorField as MLPVectorField,
    PlainNet as PlainNet,
    ResNet as ResNet,
    SmoothLayerField as SmoothLayerField,
    TinyResNet as TinyResNet,
    param_count as param_count,
    resnet_from_field as resnet_from_field,
    resnet_vector_field as resnet_vector_field,
)

# Solvers: one settings object describes a solve; simulate one trajectory or many.
from ._solvers import (
    SOLVER_NAMES as SOLVER_NAMES,
    SOLVERS as SOLVERS,
    SolverSettings as SolverSettings,
    field_on_grid as field_on_grid,
    simulate as simulate,
    solve_many as solve_many,
)
from ._systems import (
    identity_data as identity_data,
    linear_system as linear_system,
    lotka_volterra_system as lotka_volterra_system,
    regression_task as regression_task,
    sample_times as sample_times,
    spiral_system as spiral_system,
)

__all__ = [
    # systems
    "identity_data",
    "linear_system",
    "lotka_volterra_system",
    "regression_task",
    "sample_times",
    "spiral_system",
    # solvers
    "SOLVER_NAMES",
    "SOLVERS",
    "SolverSettings",
    "field_on_grid",
    "simulate",
    "solve_many",
    # nets
    "MLPVectorField",
    "PlainNet",
    "ResNet",
    "SmoothLayerField",
    "TinyResNet",
    "param_count",
    "resnet_from_field",
    "resnet_vector_field",
    # training
    "FLOW_TASKS",
    "OdeFit",
    "fit_identity",
    "fit_identity_seeds",
    "fit_neural_ode",
    "fit_ode",
    "flow_regression_task",
    "train_deep_net",
    "trajectory_data",
    # diagnostics
    "adjoint_comparison",
    "convergence_order",
    "depth_cost",
    "fixed_step_endpoints",
    "hidden_state_paths",
    "layer_grad_norms",
    "relative_errors",
    "shrunk_outputs",
    # files and set-up
    "background_compiles",
    "clear_programs",
    "enable_compilation_cache",
    "vector_field_from_bytes",
    "vector_field_to_bytes",
]
