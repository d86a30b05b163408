# Spike Lab — every command a user or CI needs. `make lab` and `make test` set up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 5006
# Loopback only; `make dashboard ADDRESS=0.0.0.0 ORIGINS=host:5006` exposes it on purpose.
ADDRESS ?= 127.0.0.1
ORIGINS ?= 127.0.0.1:$(PORT) localhost:$(PORT)
SERVE   = $(BIN)/panel serve dashboards/app.py --address $(ADDRESS) --port $(PORT) \
          $(ORIGINS:%=--allow-websocket-origin=%) --show

.PHONY: setup lab notebooks dashboard student student-lab export test unit nbtest lint bench clean

setup: $(STAMP)

# Re-install only when the pins or the package metadata change.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	# SpikingJelly (its NIR import and ann2snn, in tests) without the torchvision, torchaudio,
	# tensorboard and SciencePlots it declares: the lab uses none of them
	$(BIN)/python -m pip install --quiet --no-deps spikingjelly==2.0.0 loguru==0.7.3
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	# nbgrader is used for its preprocessors (make student); its server extensions would log
	# errors, and its JupyterLab extension adds grading menus (Validate, Create Assignment) to
	# every student's JupyterLab: all off (tests/test_course_tools.py checks)
	$(BIN)/jupyter server extension disable --sys-prefix nbgrader.server_extensions.formgrader \
	  nbgrader.server_extensions.assignment_list nbgrader.server_extensions.course_list \
	  nbgrader.server_extensions.validate_assignment >/dev/null 2>&1
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1
	touch $(STAMP)

# JupyterLab on the course (the instructor versions); `make notebooks` is the same.
lab: setup
	$(BIN)/jupyter lab notebooks

notebooks: lab

dashboard: setup
	$(SERVE)

# Student versions of the notebooks with exercises, made by nbgrader from the instructor's
# (solutions become `raise NotImplementedError()`, outputs cleared): build/student/.
student: setup
	$(BIN)/python -m lab.exercises notebooks build/student

# JupyterLab on the student versions (built first).
student-lab: student
	$(BIN)/jupyter lab build/student

# Every notebook as a static HTML page from its stored outputs (nothing is run), readable
# offline: MathJax is copied beside the pages, figures are the stored PNGs: build/html/.
export: setup
	$(BIN)/python -m lab.notebooks export notebooks build/html

test: setup lint unit nbtest

lint: setup
	$(BIN)/ruff check .

# The docstrings' examples run too (--doctest-modules: every module of lab/ is imported; the
# examples that train for minutes are marked +SKIP and run in tests/ instead).
unit: setup
	$(BIN)/python -m pytest -q tests --ignore=tests/test_student_notebooks.py
	$(BIN)/python -m pytest -q --doctest-modules lab

# The notebooks under strict nbval and, side by side in a second process, their student versions
# run as a student runs them (its report printed after nbval's). The kernels talk over private
# Unix sockets (conftest.py): two processes picking TCP ports at once once collided.
NBVAL = $(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-cell-timeout=300
nbtest: setup
	@mkdir -p build
	@$(BIN)/python -m pytest -q tests/test_student_notebooks.py >build/student-notebooks.log 2>&1 & \
	  students=$$!; $(NBVAL) notebooks; nbval=$$?; wait $$students; code=$$?; \
	  echo "== the student versions (tests/test_student_notebooks.py)"; \
	  cat build/student-notebooks.log; test $$nbval = 0 && test $$code = 0

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) results
