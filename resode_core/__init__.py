"""ResODE Lab's pure-JAX core: systems, solvers, nets, neural ODEs and training.

No Streamlit or Altair here: the same core drives the app, the tests and the benchmarks.
"""

import os

# Before equinox loads: runtime checks return NaN instead of using a host callback,
# which lets XLA store the compiled executables in the persistent cache.
os.environ.setdefault("EQX_ON_ERROR", "nan")

from ._aot import code_version as code_version  # noqa: E402
from ._config import (  # noqa: E402
    compilation_cache_dir as compilation_cache_dir,
    enable_compilation_cache as enable_compilation_cache,
)
from ._convergence import (  # noqa: E402
    FLOAT32_FLOOR as FLOAT32_FLOOR,
    adaptive_study as adaptive_study,
    convergence_slope as convergence_slope,
    fixed_step_study as fixed_step_study,
    reference_endpoint as reference_endpoint,
    step_count_grid as step_count_grid,
    time_solve as time_solve,
)
from ._depth_cost import (  # noqa: E402
    DEPTH_METHOD_LABELS as DEPTH_METHOD_LABELS,
    DEPTH_METHODS as DEPTH_METHODS,
    adjoint_comparison as adjoint_comparison,
    depth_cost as depth_cost,
)
from ._diagnostics import (  # noqa: E402
    compiled_memory_bytes as compiled_memory_bytes,
    empirical_order as empirical_order,
    fixed_step_errors as fixed_step_errors,
    layer_grad_norms as layer_grad_norms,
)
from ._extrapolation import (  # noqa: E402
    ManySolution as ManySolution,
    field_on_grid as field_on_grid,
    grid_points as grid_points,
    relative_errors as relative_errors,
    solve_many as solve_many,
    spread_initial_conditions as spread_initial_conditions,
)
from ._flow_regression import (  # noqa: E402
    FLOW_TASK_NAMES as FLOW_TASK_NAMES,
    FLOW_TASKS as FLOW_TASKS,
    TINY_RESNET_MAX_BLOCKS as TINY_RESNET_MAX_BLOCKS,
    TinyResNet as TinyResNet,
    augment as augment,
    flow_fit_data as flow_fit_data,
    flow_regression_task as flow_regression_task,
    flow_settings as flow_settings,
    init_flow_fit as init_flow_fit,
    resnet_block_states as resnet_block_states,
)
from ._io import (  # noqa: E402
    vector_field_from_bytes as vector_field_from_bytes,
    vector_field_to_bytes as vector_field_to_bytes,
)
from ._layer_experiments import (  # noqa: E402
    asymptotic_order as asymptotic_order,
    fixed_step_endpoints as fixed_step_endpoints,
    hidden_state_paths as hidden_state_paths,
    shrunk_outputs as shrunk_outputs,
    smooth_field_solution as smooth_field_solution,
)
from ._nets import (  # noqa: E402
    ACTIVATION_NAMES as ACTIVATION_NAMES,
    DEFAULT_MAX_DEPTH as DEFAULT_MAX_DEPTH,
    IdentityChain as IdentityChain,
    PlainNet as PlainNet,
    ResNet as ResNet,
    ResNetVectorField as ResNetVectorField,
    SmoothLayerField as SmoothLayerField,
    param_count as param_count,
    resnet_from_field as resnet_from_field,
    resnet_vector_field as resnet_vector_field,
    scale_weights as scale_weights,
    with_depth as with_depth,
)
from ._schedule import (  # noqa: E402
    TrainingCheckpoint as TrainingCheckpoint,
    decayed_rate as decayed_rate,
    train_ode_growing_window as train_ode_growing_window,
    train_ode_streaming as train_ode_streaming,
)
from ._solvers import (  # noqa: E402
    ADAPTIVE_SOLVER_NAMES as ADAPTIVE_SOLVER_NAMES,
    DEFAULT_MAX_STEPS as DEFAULT_MAX_STEPS,
    RK4 as RK4,
    SOLVER_NAMES as SOLVER_NAMES,
    SOLVERS as SOLVERS,
    SolveResult as SolveResult,
    SolverInfo as SolverInfo,
    simulate as simulate,
    solver_info as solver_info,
)
from ._systems import (  # noqa: E402
    SPIRAL_MATRIX as SPIRAL_MATRIX,
    SPIRAL_SAMPLES as SPIRAL_SAMPLES,
    SPIRAL_T_SPAN as SPIRAL_T_SPAN,
    SPIRAL_U0 as SPIRAL_U0,
    AbstractSystem as AbstractSystem,
    LinearSystem as LinearSystem,
    LotkaVolterraSystem as LotkaVolterraSystem,
    SpiralSystem as SpiralSystem,
    identity_data as identity_data,
    linear_system as linear_system,
    lotka_volterra_system as lotka_volterra_system,
    sample_times as sample_times,
    spiral_system as spiral_system,
)
from ._training import (  # noqa: E402
    CHUNK_CAPACITY as CHUNK_CAPACITY,
    IdentityFit as IdentityFit,
    NeuralODEFit as NeuralODEFit,
    OdeChunk as OdeChunk,
    OdeFitState as OdeFitState,
    SolverSettings as SolverSettings,
    TrajectoryData as TrajectoryData,
    fit_identity as fit_identity,
    fit_identity_seeds as fit_identity_seeds,
    fit_neural_ode as fit_neural_ode,
    init_ode_fit as init_ode_fit,
    mse_loss as mse_loss,
    regression_task as regression_task,
    run_ode_fit as run_ode_fit,
    solve_trajectories as solve_trajectories,
    solver_settings as solver_settings,
    train_deep_net as train_deep_net,
    train_ode_epochs as train_ode_epochs,
    trajectory_data as trajectory_data,
    trajectory_loss as trajectory_loss,
    with_learning_rate as with_learning_rate,
)
from ._vector_field import MLPVectorField as MLPVectorField  # noqa: E402
