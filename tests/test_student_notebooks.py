"""The student versions nbgrader makes of the course notebooks, executed as a student runs them:
every check unsolved, no error. Each runs a whole notebook, so `make nbtest` runs this file
after the notebooks themselves, not `make unit`."""

from __future__ import annotations

import nbformat
import pytest
from test_exercises import NOTEBOOKS, WITH_EXERCISES, cells, is_check, nbgrader, output_text

from lab import exercises as ex


# Last notebook first: `make nbtest` runs this beside nbval, which goes first to last, so the two
# processes rarely run the same notebook at once.
@pytest.mark.parametrize("path", WITH_EXERCISES[::-1], ids=lambda p: p.stem)
def test_student_version_is_made_by_nbgrader_and_runs_with_checks_unsolved(path, tmp_path):
    from nbclient import NotebookClient
    from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager

    from lab.notebooks import kernel_manager, shutdown, sliced_polling

    student = ex.make_student(path, tmp_path / path.name)
    teacher, nb = cells(path), nbformat.read(student, as_version=4)
    assert len(nb.cells) == len(teacher)
    for mine, theirs in zip(nb.cells, teacher, strict=True):
        if nbgrader(theirs).get("solution"):
            assert "raise NotImplementedError()" in mine.source
            assert "BEGIN SOLUTION" not in mine.source
        else:
            assert mine.source == theirs.source
        # only the static pictures of figures that give no exercise away (ex.student_figures)
        assert all(out.output_type == "display_data" and set(out.data) == {"image/png",
                                                                          "text/plain"}
                   for out in mine.get("outputs", []))
        assert not any(t.startswith("nbval") for t in mine.metadata.get("tags", []))
        if is_check(theirs):
            assert mine.metadata["editable"] is False and mine.metadata["deletable"] is False
    assert "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"] == nbformat.read(path, as_version=4).metadata["kernelspec"]

    sliced_polling()  # a missed wake-up would otherwise wait the whole timeout (lab.notebooks)
    km = kernel_manager()(kernel_name=CURRENT_ENV_KERNEL_NAME,
                       kernel_spec_manager=NbvalKernelspecManager())
    try:
        NotebookClient(nb, km=km, timeout=300,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()  # no error
    finally:  # nbclient shuts down only the kernels it made itself
        shutdown(km)
    assert not km.is_alive()
    checks = [c for c in nb.cells if is_check(c)]
    assert checks and all(output_text(c).startswith("not solved yet: ") for c in checks)
