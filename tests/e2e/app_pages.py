"""The pages registered in app.py's st.navigation, read from its source (no Streamlit run).

Every page test (browser, fuzz, robustness) takes its list from here, so a page added to the
router is picked up without touching the tests.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"


@dataclass(frozen=True)
class RegisteredPage:
    path: str  # relative to the repository root, e.g. "pages/spiral.py"
    title: str
    url_path: str  # "" for the default page
    default: bool

    @property
    def name(self) -> str:
        return Path(self.path).stem


def _constant(node: ast.expr | None):
    return node.value if isinstance(node, ast.Constant) else None


def _is_page_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr == "Page") or (
        isinstance(func, ast.Name) and func.id == "Page"
    )


def registered_pages(app: Path = APP) -> list[RegisteredPage]:
    """Every `st.Page("file.py", ...)` in app.py, in the order of the navigation."""
    tree = ast.parse(app.read_text(encoding="utf-8"), filename=str(app))
    found = []
    for node in ast.walk(tree):
        if not _is_page_call(node) or not node.args:
            continue
        path = _constant(node.args[0])
        if not isinstance(path, str) or not path.endswith(".py"):
            continue  # a callable page or an external link: nothing to open as a file
        keywords = {k.arg: _constant(k.value) for k in node.keywords if k.arg}
        default = bool(keywords.get("default"))
        inferred = Path(path).stem  # st.Page names a file page after its file
        url_path = "" if default else (keywords.get("url_path") or inferred).strip("/")
        page = RegisteredPage(
            path=path,
            title=keywords.get("title") or inferred.replace("_", " "),
            url_path=url_path,
            default=default,
        )
        found.append(((node.lineno, node.col_offset), page))
    if not found:
        raise RuntimeError(f"No st.Page(...) file pages found in {app}")
    # ast.walk is breadth-first: sort back into the router's (source) order.
    return [page for _, page in sorted(found, key=lambda item: item[0])]
