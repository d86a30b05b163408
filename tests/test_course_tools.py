"""The commands the course page names do what it says (read with `make -n`, nothing started),
and the grading tool stays out of the student's JupyterLab: `make setup` disables nbgrader's
JupyterLab extension (its menu, Validate and Create Assignment) and its server extensions."""

from __future__ import annotations

import logging
import shutil
import subprocess

import pytest

from lab.core.results import PROJECT_ROOT

make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(target: str) -> str:
    """The commands `make TARGET` would run (setup's install steps included when stale)."""
    return subprocess.run(["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, check=True).stdout


@make
def test_make_lab_opens_jupyterlab_on_the_course_not_the_dashboard():
    commands = dry_run("lab")
    assert "/jupyter lab notebooks" in commands and "panel serve" not in commands
    assert "panel serve dashboards/app.py" in dry_run("dashboard")


@make
def test_make_student_lab_builds_the_student_versions_then_opens_them():
    commands = dry_run("student-lab").splitlines()
    build = next(i for i, c in enumerate(commands) if "-m lab.exercises notebooks build/student"
                 in c)
    opens = next(i for i, c in enumerate(commands) if c.endswith("/jupyter lab build/student"))
    assert build < opens


@make
def test_make_export_writes_the_static_pages_to_build_html():
    assert "-m lab.notebooks export notebooks build/html" in dry_run("export")


def test_nbgrader_is_hidden_from_the_students_jupyterlab():
    """The venv's JupyterLab config (what `make setup` wrote) disables nbgrader's lab
    extension and its server extensions; the preprocessors `make student` uses still import."""
    from jupyter_core.paths import jupyter_config_path, jupyter_path
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyterlab_server.config import get_page_config

    page = get_page_config(jupyter_path("labextensions"), logger=logging.getLogger(__name__))
    assert "@jupyter/nbgrader" in page.get("disabledExtensions", [])
    server = ExtensionConfigManager(read_config_path=jupyter_config_path())
    enabled = [name for name, on in server.get_jpserver_extensions().items()
               if on and name.startswith("nbgrader")]
    assert enabled == []
    from nbgrader.preprocessors import ClearSolutions  # noqa: F401
