"""Read what an AppTest page shows: its metrics and the data behind its altair charts."""

import pandas as pd
import pyarrow as pa


def shown_metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart_frames(at) -> list[pd.DataFrame]:
    """The data behind each altair chart on the page, in page order."""
    frames = []
    for chart in at.get("vega_lite_chart"):
        parts = [
            pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets
        ]
        frames.append(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame())
    return frames


def walk(node):
    """Every element under an AppTest block, in page order."""
    children = getattr(node, "children", None)
    if children:
        for k in sorted(children):
            yield from walk(children[k])
    else:
        yield node


def widgets_above_the_first_chart(at) -> list[str]:
    """The keys of the widgets above the page's first chart, in page order."""
    keys = []
    for node in walk(at.main):
        if getattr(node, "type", None) == "vega_lite_chart":
            return keys
        if getattr(node, "key", None):
            keys.append(node.key)
    return keys
