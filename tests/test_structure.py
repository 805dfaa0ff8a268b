"""The house rules that keep the code base small and safe to upgrade, checked on the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import resode_core as rc

ROOT = Path(__file__).resolve().parents[1]
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
PACKAGES = {"resode_ui": ROOT / "resode_ui", "resode_core": ROOT / "resode_core"}
PRIVATE_OK = ROOT / "resode_ui" / "streamlit_private.py"  # the one fenced module
INTERNAL = re.compile(r"^streamlit\.(runtime|elements|proto|web)(\.|$)")


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) for every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            out.append((base, [alias.name for alias in node.names]))
    return out


def test_the_core_api_is_small_and_complete():
    assert len(rc.__all__) <= 42  # 101 names before "One clear house"
    assert len(set(rc.__all__)) == len(rc.__all__)
    assert all(hasattr(rc, name) for name in rc.__all__)
    public = {name for name in dir(rc) if not name.startswith("_")}
    assert public == set(rc.__all__)


def test_no_streamlit_internals_outside_the_fenced_module():
    for path in [*APP_FILES, *_modules().values()]:
        if path == PRIVATE_OK:
            continue
        for module, names in _imports(path):
            assert not INTERNAL.match(module), f"{path.relative_to(ROOT)} imports {module}"
            if module.startswith("streamlit"):
                private = [n for n in names if n.startswith("_")]
                assert not private, f"{path.relative_to(ROOT)} imports {private} from {module}"


def test_the_core_knows_nothing_of_the_ui():
    for name, path in _modules().items():
        if name.startswith("resode_core"):
            imported = {module.split(".")[0] for module, _ in _imports(path)}
            assert not imported & {"streamlit", "altair", "resode_ui"}, name


def test_pages_use_only_the_public_core_api():
    for path in [*APP_FILES, *(ROOT / "resode_ui").rglob("*.py")]:
        source = path.read_text(encoding="utf-8")
        used = set(re.findall(r"\brc\.([A-Za-z]\w*)", source))
        assert used <= set(rc.__all__), (path.relative_to(ROOT), used - set(rc.__all__))
        assert "resode_core._" not in source, path.relative_to(ROOT)


def test_charts_are_drawn_through_the_cached_converter():
    for path in [*APP_FILES, *(ROOT / "resode_ui").rglob("*.py")]:
        calls = re.findall(r"\.altair_chart\(", path.read_text(encoding="utf-8"))
        assert not calls, f"{path.relative_to(ROOT)} calls altair_chart (see widgets.chart)"


def test_no_import_circles():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for module, names in _imports(path):
            for candidate in (module, *(f"{module}.{n}" for n in names)):
                if candidate in modules and candidate != name:
                    targets.add(candidate)
        graph[name] = targets

    def visit(node, trail):
        assert node not in trail, " -> ".join([*trail, node])
        for nxt in graph[node]:
            visit(nxt, (*trail, node))

    for start in graph:
        visit(start, ())


def test_the_sidebar_follows_the_notes():
    """Students meet solvers and Δt before the pages that use adaptive solvers."""
    from e2e.app_pages import registered_pages

    assert [page.name for page in registered_pages()] == [
        "home",
        "vanishing_gradients",
        "identity_experiment",
        "resnet_euler",
        "solvers",
        "regression_flow",
        "resnet_vs_node",
        "spiral",
        "lotka_volterra",
        "your_data",
        "recap",
    ]


def test_icons_are_material_symbols_not_emoji():
    """Emoji render as empty boxes on machines without an emoji font (many school PCs)."""
    files = [*APP_FILES, *sorted((ROOT / "resode_ui").rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg in ("icon", "page_icon"):
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    assert node.value.value.startswith(":material/"), (
                        f"{path.name}: {node.value.value}"
                    )
