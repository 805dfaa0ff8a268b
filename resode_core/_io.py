"""Save a trained vector field to bytes and load it back, with a small JSON header.

The payload is `eqx.tree_serialise_leaves` of the MLPVectorField (NumPy's .npy format
for each array, never pickle). The header records what is needed to rebuild the
template the payload is read into (dim, width, the two input flags) and any JSON
metadata the caller wants to keep beside the parameters (how the data were scaled,
which solver was used, column names). Loading checks everything before trusting it
and raises ValueError with a readable message for anything else.

Layout: MAGIC, header length (8 bytes, little endian), header (UTF-8 JSON), payload.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import equinox as eqx
import jax
import jax.random as jr
import numpy as np

from ._nets import MLPVectorField
from ._solvers import device_array

MAGIC = b"RESODE-VECTOR-FIELD\n"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 64 * 1024
MAX_DIM = 64
MAX_WIDTH = 4096


def _template(dim: int, width: int, cube_input: bool, time_input: bool) -> MLPVectorField:
    # The key only fills the template; every array is overwritten by the payload.
    return MLPVectorField(
        dim, width, key=jr.PRNGKey(0), cube_input=cube_input, time_input=time_input
    )


def vector_field_to_bytes(model: MLPVectorField, metadata: dict[str, Any] | None = None) -> bytes:
    """The model's parameters and `metadata` (anything JSON can hold) as one bytes object."""
    if not isinstance(model, MLPVectorField):
        raise ValueError("Only an MLPVectorField can be saved.")
    header = {
        "format": FORMAT_VERSION,
        "model": "MLPVectorField",
        "dim": int(model.dim),
        "width": int(model.hidden_bias.shape[0]),
        "cube_input": bool(model.cube_input),
        "time_input": bool(model.time_input),
        "metadata": metadata or {},
    }
    try:
        text = json.dumps(header, allow_nan=False, sort_keys=True).encode("utf-8")
    except (TypeError, ValueError) as problem:
        raise ValueError(f"The metadata cannot be stored as JSON: {problem}") from None
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError("The metadata are too large to store.")
    payload = io.BytesIO()
    eqx.tree_serialise_leaves(payload, model)
    return MAGIC + struct.pack("<Q", len(text)) + text + payload.getvalue()


def _read_header(data: bytes) -> tuple[dict[str, Any], int]:
    if not data.startswith(MAGIC):
        raise ValueError(
            "This is not a ResODE Lab parameter file (it should come from the page's "
            "'Download trained parameters' button)."
        )
    start = len(MAGIC)
    if len(data) < start + 8:
        raise ValueError("The parameter file is truncated.")
    (size,) = struct.unpack("<Q", data[start : start + 8])
    if size > MAX_HEADER_BYTES or len(data) < start + 8 + size:
        raise ValueError("The parameter file is damaged (its header has a wrong length).")
    try:
        header = json.loads(data[start + 8 : start + 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("The parameter file is damaged (its header is not valid JSON).") from None
    if not isinstance(header, dict):
        raise ValueError("The parameter file is damaged (its header is not a JSON object).")
    return header, start + 8 + size


def _checked_shape(header: dict[str, Any]) -> tuple[int, int, bool, bool]:
    if header.get("format") != FORMAT_VERSION or header.get("model") != "MLPVectorField":
        raise ValueError("The parameter file was written by another version or for another model.")
    dim, width = header.get("dim"), header.get("width")
    cube, time_input = header.get("cube_input"), header.get("time_input")
    valid = (
        isinstance(dim, int)
        and isinstance(width, int)
        and not isinstance(dim, bool)
        and not isinstance(width, bool)
        and 1 <= dim <= MAX_DIM
        and 1 <= width <= MAX_WIDTH
        and isinstance(cube, bool)
        and isinstance(time_input, bool)
    )
    if not valid:
        raise ValueError("The parameter file is damaged (impossible model sizes).")
    return dim, width, cube, time_input


def vector_field_from_bytes(data: bytes) -> tuple[MLPVectorField, dict[str, Any]]:
    """Rebuild the model saved by `vector_field_to_bytes`; returns (model, metadata)."""
    if not isinstance(data, bytes | bytearray):
        raise ValueError("Expected the bytes of a parameter file.")
    data = bytes(data)
    header, offset = _read_header(data)
    dim, width, cube, time_input = _checked_shape(header)
    template = _template(dim, width, cube, time_input)
    stream = io.BytesIO(data[offset:])

    def read_leaf(f, leaf):
        if not isinstance(leaf, jax.Array):
            return leaf
        try:
            value = np.load(f, allow_pickle=False)
        except (ValueError, OSError, EOFError):
            raise ValueError(
                "The parameter file is damaged (an array could not be read)."
            ) from None
        if value.shape != leaf.shape or value.dtype != leaf.dtype:
            raise ValueError(
                f"The parameter file does not match its header (an array of shape "
                f"{value.shape}, {value.dtype} where {leaf.shape}, {leaf.dtype} was expected)."
            )
        if not np.all(np.isfinite(value)):
            raise ValueError("The parameter file contains NaN or infinite parameters.")
        return device_array(value)

    try:
        model = eqx.tree_deserialise_leaves(stream, template, filter_spec=read_leaf)
    except Exception as problem:  # equinox wraps our ValueError with the leaf's path
        cause = problem
        while cause is not None and not isinstance(cause, ValueError):
            cause = cause.__cause__
        message = str(cause) if cause is not None else "its arrays could not be read"
        if not message.startswith("The parameter file"):
            message = "The parameter file is damaged (its arrays could not be read)."
        raise ValueError(message) from None
    if stream.read(1):
        raise ValueError("The parameter file has unexpected data after its parameters.")
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError("The parameter file is damaged (its metadata are not a JSON object).")
    return model, metadata
