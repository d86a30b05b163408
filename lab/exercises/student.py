"""Student versions of the instructor notebooks, written by nbgrader's preprocessors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PNG = "image/png"
STILL = "[a picture of this figure: run the cell to draw it live]"
ANSWER_TAG = "answer"  # a cell whose figure gives an exercise away: its output is cleared too


def has_exercises(path: str | Path) -> bool:
    """True if the notebook at `path` has a cell marked as an nbgrader solution."""
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    return any(cell.get("metadata", {}).get("nbgrader", {}).get("solution") for cell in cells)


def make_student(src: str | Path, dst: str | Path) -> Path:
    """Write the student version of the instructor notebook `src` to `dst`.

    nbgrader's preprocessors do it, never a hand edit: CheckCellMetadata (valid, unique
    grade ids), ClearSolutions (each `### BEGIN SOLUTION … ### END SOLUTION` becomes
    `raise NotImplementedError()`), LockCells (check cells read-only) and ClearOutput (the
    instructor's outputs would give the predictions away). The stored widget state and nbval's
    test tags go too: students run the notebook themselves. The static pictures of the figures
    come back (`student_figures`), so the notebook shows them before it is run.
    """
    import nbformat
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearOutput,
        ClearSolutions,
        LockCells,
    )

    notebook = nbformat.read(src, as_version=4)
    figures = student_figures(notebook)
    resources: dict[str, Any] = {}
    for step in (CheckCellMetadata(), ClearSolutions(), ClearHiddenTests(), LockCells(),
                 ClearOutput()):
        notebook, resources = step.preprocess(notebook, resources)
    notebook.metadata.pop("widgets", None)
    for index, pictures in figures.items():
        notebook.cells[index].outputs = [nbformat.v4.new_output(
            "display_data", data={PNG: picture, "text/plain": STILL}) for picture in pictures]
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        tags = [t for t in cell.metadata.get("tags", []) if not t.startswith("nbval")]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, dst)
    return dst


def student_figures(notebook: Any) -> dict[int, list[str]]:
    """The stored PNGs (base64) a student version keeps, by cell index: every figure's, and a
    widget's picture of its default state, except in exercise cells, in the cells between an
    exercise and its check (there the figure is what the student predicts), and in cells
    tagged `answer`."""
    kept, open_exercise = {}, False
    for index, cell in enumerate(notebook.cells):
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("solution"):
            open_exercise = True
        elif grading.get("locked") and cell.cell_type == "code":  # the exercise's check
            open_exercise = False
        elif cell.cell_type == "code" and not open_exercise \
                and ANSWER_TAG not in cell.metadata.get("tags", []):
            pictures = [out["data"][PNG] for out in cell.get("outputs", [])
                        if PNG in out.get("data", {})]
            if pictures:
                kept[index] = pictures
    return kept


def make_students(src_dir: str | Path, dst_dir: str | Path) -> list[Path]:
    """The student version of every notebook in `src_dir` that has exercises, in `dst_dir`."""
    return [make_student(path, Path(dst_dir) / path.name)
            for path in sorted(Path(src_dir).glob("*.ipynb")) if has_exercises(path)]


def main(argv: Iterable[str] | None = None) -> int:
    """`python -m lab.exercises SRC_DIR DST_DIR`: exit 0 when at least one notebook was written."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write("usage: python -m lab.exercises SRC_DIR DST_DIR\n")
        return 2
    written = make_students(*args)
    sys.stdout.write("".join(f"{path}\n" for path in written))
    return 0 if written else 1

