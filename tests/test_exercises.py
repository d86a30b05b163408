"""The exercise checks (right answers pass, classic mistakes get their hint, stubs read "not
solved yet") and the student versions nbgrader makes of the course notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import torch

from lab import exercises as ex
from lab.core.neurons import NeuronParams
from lab.exercises import code as ex_code
from lab.exercises import methods as ex_methods
from lab.exercises import student as ex_student

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WITH_EXERCISES = [p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if ex.has_exercises(p)]


def todo(*args):
    raise NotImplementedError()


# --- Feedback --------------------------------------------------------------------------------

def test_feedback_reads_as_its_message_and_is_true_only_when_solved():
    assert repr(ex.Feedback("solved", "fine")) == "✓ fine" and ex.Feedback("solved", "")
    assert repr(ex.Feedback("unsolved", "x")) == "not solved yet: x"
    assert not ex.Feedback("wrong", "x") and repr(ex.Feedback("wrong", "x")) == "✗ x"


# --- the IF loop -----------------------------------------------------------------------------

def neuron(current, params, strict=False, reset=None, leak=True):
    """A student's loop; the keywords put in one classic mistake each."""
    theta = params.threshold
    v = torch.full_like(current[0], params.v_init * theta)
    spikes = []
    for t in range(current.shape[0]):
        v = (params.beta if leak else 1.0) * v + current[t]
        s = ((v > theta) if strict else (v >= theta)).to(current.dtype)
        v = v - theta * s if (reset or params.reset) == "subtract" else v * (1 - s)
        spikes.append(s)
    return torch.stack(spikes), v


def test_a_correct_loop_passes():
    result = ex.check_if_loop(neuron)
    assert result.status == "solved" and "6 cases" in result.message


@pytest.mark.parametrize("mistake, kwargs, says", [
    ("fires on >", {"strict": True}, "compare with >=, not >"),
    ("always subtracts", {"reset": "subtract"}, "read params.reset"),
    ("ignores the leak", {"leak": False}, "params.beta"),
])
def test_a_classic_mistake_gets_its_own_hint(mistake, kwargs, says):
    result = ex.check_if_loop(lambda c, p: neuron(c, p, **kwargs))
    assert result.status == "wrong", mistake
    assert says in result.message and "Hint:" in result.message


@pytest.mark.parametrize("mistake", list(ex_code.IF_MISTAKES))
def test_every_listed_mistake_is_recognised(mistake):
    result = ex.check_if_loop(lambda c, p: ex_code._if_variant(c, p, mistake))
    assert result.status == "wrong" and ex_code.IF_MISTAKES[mistake] in result.message


def test_an_unknown_bug_names_the_case_and_the_step():
    def off_by_one(current, params):
        spikes, v = neuron(current, params)
        return spikes.roll(1, 0), v
    result = ex.check_if_loop(off_by_one)
    assert result.status == "wrong" and "at step t =" in result.message
    assert "case '" in result.message


@pytest.mark.parametrize("student, says", [
    (lambda c, p: neuron(c, p)[0], "two things"),
    (lambda c, p: (neuron(c, p)[0].T, neuron(c, p)[1]), "shape"),
    (lambda c, p: (neuron(c, p)[0].tolist(), neuron(c, p)[1]), "torch tensor"),
    (lambda c, p: c + "x", "raised"),
])
def test_malformed_answers_are_explained(student, says):
    result = ex.check_if_loop(student)
    assert result.status == "wrong" and says in result.message


def test_the_nbgrader_stub_reads_not_solved_yet():
    result = ex.check_if_loop(todo)
    assert result.status == "unsolved" and "NotImplementedError" in repr(result)
    assert repr(result).startswith("not solved yet: ")


# --- the rate identity -----------------------------------------------------------------------

def identity(current, v_init, v_final):
    return current.mean(0) - (v_final - v_init) / current.shape[0]


def test_the_identity_passes():
    assert ex.check_rate_identity(identity).status == "solved"


@pytest.mark.parametrize("student, says", [
    (lambda c, v0, vT: c.mean(0), "left out the residual"),
    (lambda c, v0, vT: c.mean(0) + (vT - v0) / c.shape[0], "sign"),
    (lambda c, v0, vT: c.mean(0) - vT / c.shape[0], "v[0]"),
    (lambda c, v0, vT: c.sum(0) - (vT - v0), "per step"),
    (lambda c, v0, vT: c.mean(0) - (vT - v0) / 10, "neuron"),
    (lambda c, v0, vT: c.mean(1), "shape"),
])
def test_identity_mistakes_are_explained(student, says):
    result = ex.check_rate_identity(student)
    assert result.status == "wrong" and says in result.message


def test_identity_stub_is_not_solved_yet():
    assert ex.check_rate_identity(todo).status == "unsolved"


# --- the rate code ---------------------------------------------------------------------------

@pytest.mark.parametrize("student", [
    lambda x, T, g: (torch.rand(T, *x.shape, generator=g) < x).float(),
    lambda x, T, g: torch.bernoulli(x.expand(T, *x.shape), generator=g),
])
def test_rate_codes_pass(student):
    assert ex.check_rate_encoding(student).status == "solved"


@pytest.mark.parametrize("student, says", [
    (lambda x, T, g: (torch.rand(*x.shape, generator=g) < x).float().expand(T, *x.shape),
     "same spikes"),
    (lambda x, T, g: (torch.rand(T, *x.shape, generator=g) > x).float(), "never fire"),
    (lambda x, T, g: (torch.rand(T, *x.shape, generator=g) < x ** 2).float(), "approach x"),
    (lambda x, T, g: (torch.rand(T, *x.shape) < x).float(), "generator"),
    (lambda x, T, g: x.expand(T, *x.shape), "0 or 1"),
    (lambda x, T, g: (torch.rand(T, *x.shape, generator=g) < x)[0], "shape"),
])
def test_rate_code_mistakes_are_explained(student, says):
    result = ex.check_rate_encoding(student)
    assert result.status == "wrong" and says in result.message


def test_rate_code_stub_is_not_solved_yet():
    assert ex.check_rate_encoding(todo).status == "unsolved"


# --- the surrogate gradient ------------------------------------------------------------------

def test_the_arctan_derivative_passes():
    result = ex.check_surrogate_gradient(lambda x, a: a / 2 / (1 + (torch.pi / 2 * a * x) ** 2))
    assert result.status == "solved"


@pytest.mark.parametrize("student, says", [
    (lambda x, a: torch.zeros_like(x), "true derivative of the step"),
    (lambda x, a: 1 / (1 + (torch.pi / 2 * a * x) ** 2), "chain rule"),
    (lambda x, a: a / 2 / (1 + (a * x) ** 2), "(π/2)·α·x"),
    (lambda x, a: torch.sigmoid(x), "should be α/2"),
])
def test_surrogate_mistakes_are_explained(student, says):
    result = ex.check_surrogate_gradient(student)
    assert result.status == "wrong" and says in result.message


# --- QCFS (notebook 02) ----------------------------------------------------------------------

def qcfs(z, threshold, levels):
    return threshold / levels * torch.clamp(torch.floor(z * levels / threshold + 0.5), 0, levels)


def test_qcfs_passes():
    result = ex.check_qcfs(qcfs)
    assert result.status == "solved" and "lab.conversion" in result.message


@pytest.mark.parametrize("mistake", list(ex_methods.QCFS_MISTAKES))
def test_every_qcfs_mistake_gets_its_hint(mistake):
    result = ex.check_qcfs(lambda z, th, L: ex_methods._qcfs_variant(z, th, L, mistake))
    assert result.status == "wrong" and ex_methods.QCFS_MISTAKES[mistake] in result.message


@pytest.mark.parametrize("student, says", [
    (lambda z, th, L: qcfs(z, th, L) + 0.01, "at z ="),
    (lambda z, th, L: qcfs(z, th, L).tolist(), "torch tensor"),
    (lambda z, th, L: qcfs(z, th, L)[1:], "shape"),
    (lambda z, th, L: z + "x", "raised"),
])
def test_other_qcfs_answers_are_explained(student, says):
    result = ex.check_qcfs(student)
    assert result.status == "wrong" and says in result.message and "Hint:" in result.message


# --- the single-step noise identity (notebook 03) --------------------------------------------

def expected_spike(current, threshold, v_init, noise_std):
    return torch.special.ndtr((current + v_init * threshold - threshold) / (noise_std * threshold))


def test_expected_spike_passes_and_reports_the_monte_carlo_agreement():
    result = ex.check_expected_spike(expected_spike)
    assert result.status == "solved" and "20 000 noisy steps" in result.message


@pytest.mark.parametrize("mistake", list(ex_methods.NOISE_MISTAKES))
def test_every_noise_mistake_gets_its_hint(mistake):
    result = ex.check_expected_spike(
        lambda i, th, v, s: ex_methods._noise_variant(i, th, v, s, mistake))
    assert result.status == "wrong" and ex_methods.NOISE_MISTAKES[mistake] in result.message


def test_an_unknown_expected_spike_is_compared_with_monte_carlo():
    result = ex.check_expected_spike(lambda i, th, v, s: expected_spike(i, th, v, s) ** 2)
    assert result.status == "wrong" and "20 000 noisy steps that fire" in result.message


# --- the truncated segment (notebook 04) -----------------------------------------------------

def truncated(current, params, truncation_length, cut="segment", restart=False):
    """A student's TTL loop; `cut` and `restart` put in one mistake each."""
    from lab.core.neurons import NeuronState, initial_state, step

    state, spikes = initial_state(current[0], params), []
    for t in range(current.shape[0]):
        if {"segment": t % truncation_length == 0, "every": True, "never": False,
                "late": t % truncation_length == 1 % truncation_length}[cut]:
            state = initial_state(current[0], params) if restart else NeuronState(
                state.v.detach())
        s, state = step(current[t], state, params)
        spikes.append(s)
    return torch.stack(spikes)


def test_the_truncated_loop_passes():
    result = ex.check_truncated_rollout(truncated)
    assert result.status == "solved" and "lab.ttl_bptt" in result.message


@pytest.mark.parametrize("student, says", [
    (lambda c, p, k: truncated(c, p, k, cut="never"), "across the cut"),
    (lambda c, p, k: truncated(c, p, k, cut="late"), "across the cut"),
    (lambda c, p, k: truncated(c, p, k, cut="every"), "not at every step"),
    (lambda c, p, k: truncated(c, p, k, restart=True), "keeps v's value"),
    (lambda c, p, k: truncated(c.detach(), p, k), "carry no gradient"),
    (lambda c, p, k: truncated(c, p, k).roll(1, 0), "not change the forward pass"),
])
def test_truncation_mistakes_are_explained(student, says):
    result = ex.check_truncated_rollout(student)
    assert result.status == "wrong" and says in result.message and "Hint:" in result.message


def test_a_gradient_of_the_wrong_size_is_named():
    from snntorch import surrogate

    from lab.core.neurons import NeuronState, initial_state, step

    def other_surrogate(current, params, k):
        state, spikes = initial_state(current[0], params), []
        for t in range(current.shape[0]):
            if t % k == 0:
                state = NeuronState(state.v.detach())
            s, state = step(current[t], state, params, spike_fn=surrogate.fast_sigmoid())
            spikes.append(s)
        return torch.stack(spikes)
    result = ex.check_truncated_rollout(other_surrogate)
    assert result.status == "wrong" and "surrogate" in result.message


# --- the first step in a graph with delays (notebook 05) -------------------------------------

def first_steps(graph, rollout, delay=None, pick=min):
    delays = {e.name: (1 if rollout == "streaming" else e.delay) for e in graph.edges}
    first = {graph.input: 0}
    for _ in graph.edges:
        for e in graph.edges:
            if e.src in first and (pick is min or e.src != e.dst):
                d = delays[e.name] if delay is None else delay(e)
                first[e.dst] = pick(first.get(e.dst, first[e.src] + d), first[e.src] + d)
    return first


def test_first_steps_pass():
    result = ex.check_first_steps(first_steps)
    assert result.status == "solved" and "6 graphs and rollouts" in result.message


@pytest.mark.parametrize("student, says", [
    (lambda g, r: first_steps(g, r, delay=lambda e: e.delay), "every edge delays by one step"),
    (lambda g, r: first_steps(g, r, delay=lambda e: 1), "keeps its own delay"),
    (lambda g, r: first_steps(g, r, pick=max), "not the maximum"),
    (lambda g, r: {**first_steps(g, r), g.input: 1}, "step 0"),
    (lambda g, r: {"conv1": 0}, "no step for"),
    (lambda g, r: [0, 1], "dict"),
    (lambda g, r: {n: s + (n == "fc") for n, s in first_steps(g, r).items()}, "fc first sees"),
])
def test_first_step_mistakes_are_explained(student, says):
    result = ex.check_first_steps(student)
    assert result.status == "wrong" and says in result.message and "Hint:" in result.message


@pytest.mark.parametrize("check", [ex.check_qcfs, ex.check_expected_spike,
                                   ex.check_truncated_rollout, ex.check_first_steps])
def test_method_stubs_are_not_solved_yet(check):
    result = check(todo)
    assert result.status == "unsolved" and repr(result).startswith("not solved yet: ")


# --- a pattern the converter refuses, rewritten (notebook 06) --------------------------------

class Rewritten(torch.nn.Module):
    """ScaledResidual's forward without the multiply (given in notebook 06)."""

    def __init__(self, fc1, fc2, out):
        super().__init__()
        self.fc1, self.fc2, self.out = fc1, fc2, out

    def forward(self, x):
        h = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.out(torch.relu(h + self.fc2(h)))


def rewrite(model, mistake=""):
    """A student's rewrite; `mistake` puts in one classic mistake."""
    import copy

    if mistake == "refused":
        return model
    fc2 = model.fc2 if mistake == "in_place" else copy.deepcopy(model.fc2)
    weight, bias = {"no_scale": (1, 1), "weight_only": (0.5, 1),
                    "doubled": (2, 2)}.get(mistake, (0.5, 0.5))
    with torch.no_grad():
        fc2.weight *= weight
        fc2.bias *= bias
    return Rewritten(model.fc1, fc2, model.out)


def test_the_rewrite_passes_and_names_its_if_layers():
    result = ex.check_rewrite(rewrite)
    assert result.status == "solved" and "2 IF layers" in result.message


@pytest.mark.parametrize("mistake", list(ex_methods.REWRITE_MISTAKES))
def test_every_rewrite_mistake_gets_its_hint(mistake):
    result = ex.check_rewrite(lambda model: rewrite(model, mistake))
    assert result.status == "wrong" and ex_methods.REWRITE_MISTAKES[mistake] in result.message
    assert "Hint:" in result.message


@pytest.mark.parametrize("student, says", [
    (lambda m: Rewritten(m.fc1, torch.nn.Linear(32, 32), m.out), "differ from the original's"),
    (lambda m: Rewritten(m.fc1, m.fc2, torch.nn.Linear(32, 5)), "shape"),
    (lambda m: "model", "torch.nn.Module"),
    (lambda m: m.nope, "raised AttributeError"),
])
def test_other_rewrites_are_explained(student, says):
    result = ex.check_rewrite(student)
    assert result.status == "wrong" and says in result.message and "Hint:" in result.message


def test_the_rewrite_stub_is_not_solved_yet():
    assert ex.check_rewrite(todo).status == "unsolved"


def test_notebook_06_shows_the_network_the_rewrite_check_uses(capsys):
    from lab import conversion

    (source,) = [c.source for c in cells(NOTEBOOKS / "06_your_own_network.ipynb")
                 if c.source.startswith("class ScaledResidual")]
    namespace = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional,
                 "conversion": conversion}
    exec(source, namespace)  # the notebook's class, and its refusal
    assert "cannot be converted" in capsys.readouterr().out
    checked = ex_methods.ScaledResidual()
    shown = namespace["ScaledResidual"]()
    shown.load_state_dict(checked.state_dict())
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(shown(x), checked(x))


# --- predictions -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ex.PREDICTIONS))
def test_each_prediction_accepts_its_answer_and_rejects_a_far_one(name):
    item = ex.PREDICTIONS[name]
    answer = item.answer()
    assert ex.check_prediction(name, answer).status == "solved"
    assert ex.check_prediction(name, lambda: answer).status == "solved"
    high = ex.check_prediction(name, answer + item.tolerance + 1)
    assert high.status == "wrong" and "too high" in high.message and item.hint in high.message


def test_prediction_answers_come_from_the_lab():
    answers = {name: item.answer() for name, item in ex.PREDICTIONS.items()}
    assert answers["if_spike_count"] == 7 and answers["leak_spike_count"] == 0
    assert answers["zero_reset_rate"] == 0.5
    assert answers["silent_pixel_probability"] == pytest.approx(0.1001, abs=1e-4)
    assert 1.6 < answers["bptt_memory_ratio"] < 2.0  # linear in T, plus a T-free part


def test_a_prediction_must_be_one_number():
    assert ex.check_prediction("if_spike_count", todo).status == "unsolved"
    assert ex.check_prediction("if_spike_count", None).status == "unsolved"
    assert ex.check_prediction("if_spike_count", torch.tensor(7.0)).status == "solved"
    assert ex.check_prediction("if_spike_count", "7").status == "wrong"
    assert "too low" in ex.check_prediction("if_spike_count", 3).message
    with pytest.raises(ValueError, match="no prediction named"):
        ex.check_prediction("nope", 1)


# --- the student versions --------------------------------------------------------------------

def test_the_course_has_notebooks_with_exercises():
    names = {p.name for p in WITH_EXERCISES}
    assert {"01_spiking_neurons.ipynb", "02b_encodings_surrogate_gradients.ipynb"} <= names


CODE_CHECKS = {"02_conversion_residual_error": "check_qcfs(",
               "03_noise_single_step": "check_expected_spike(",
               "04_truncated_local_bptt": "check_truncated_rollout(",
               "05_streaming_rollouts": "check_first_steps("}


@pytest.mark.parametrize("stem, call", CODE_CHECKS.items())
def test_notebooks_02_to_05_have_a_code_exercise_with_its_check(stem, call):
    nb = cells(NOTEBOOKS / f"{stem}.ipynb")
    checks = [c for c in nb if is_check(c) and c.source.startswith(call)]
    assert len(checks) == 1 and output_text(checks[0]).startswith("✓")


def cells(path: Path):
    return nbformat.read(path, as_version=4).cells


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_check(cell) -> bool:
    return nbgrader(cell).get("locked", False) and not nbgrader(cell).get("solution", False)


def output_text(cell) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                   for o in cell.get("outputs", []))


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.stem)
def test_instructor_version_has_a_passing_check_for_every_exercise(path):
    nb = cells(path)
    solutions = [c for c in nb if nbgrader(c).get("solution")]
    checks = [c for c in nb if is_check(c)]
    assert len(checks) == len(solutions) >= 3
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    for cell in checks:  # nbval re-runs them, so the stored ✓ is also the current one
        assert output_text(cell).startswith("✓"), cell.source


def test_make_student_refuses_a_solution_outside_a_solution_cell(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION")])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3 (ipykernel)"}
    nbformat.write(nb, tmp_path / "a.ipynb")
    with pytest.raises(RuntimeError, match="non-solution cell"):
        ex.make_student(tmp_path / "a.ipynb", tmp_path / "out" / "a.ipynb")


def test_student_version_keeps_the_pictures_of_figures_that_give_nothing_away(tmp_path):
    """Figures show before the student runs anything, except where they show what an exercise
    asks to predict: between an exercise and its check, or in a cell tagged `answer`."""
    src = NOTEBOOKS / "01_spiking_neurons.ipynb"
    teacher = nbformat.read(src, as_version=4)
    student = nbformat.read(ex.make_student(src, tmp_path / src.name), as_version=4)
    kept = {i for i, cell in enumerate(student.cells) if cell.get("outputs")}
    figures = {i for i, cell in enumerate(teacher.cells) if any(
        "image/png" in out.get("data", {}) for out in cell.get("outputs", []))}
    assert kept and kept < figures  # some figures kept, and some withheld
    withheld, inside, start = figures - kept, set(), None
    for i, cell in enumerate(teacher.cells):  # the cells between an exercise and its check
        if nbgrader(cell).get("solution"):
            start = i
        elif is_check(cell) and start is not None:
            inside |= set(range(start, i))
            start = None
    assert withheld == figures & inside
    for i in kept:
        (out,) = student.cells[i].outputs  # one picture each
        assert out.data["image/png"] in [o["data"].get("image/png") for o in
                                         teacher.cells[i].outputs]
        assert out.data["text/plain"] == ex_student.STILL

    tagged = nbformat.read(src, as_version=4)
    first = min(kept)
    tagged.cells[first].metadata["tags"] = ["answer"]
    nbformat.write(tagged, tmp_path / "tagged.ipynb")
    again = nbformat.read(ex.make_student(tmp_path / "tagged.ipynb", tmp_path / "t.ipynb"),
                          as_version=4)
    assert not again.cells[first].get("outputs")


def test_main_writes_only_notebooks_with_exercises(tmp_path, capsys):
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    (tmp_path / "src").mkdir()
    nbformat.write(plain, tmp_path / "src" / "plain.ipynb")
    assert ex.main([str(tmp_path / "src"), str(tmp_path / "dst")]) == 1
    src = WITH_EXERCISES[0]
    (tmp_path / "src" / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    assert ex.main([str(tmp_path / "src"), str(tmp_path / "dst")]) == 0
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == [src.name]
    assert src.name in capsys.readouterr().out
    assert ex.main(["only-one"]) == 2
    assert json.loads((tmp_path / "dst" / src.name).read_text())["cells"]


def test_if_cases_cover_both_resets_a_leak_and_v_init():
    params = [case.params for case in ex_code._if_cases()]
    assert {p.reset for p in params} == {"subtract", "zero"}
    assert any(p.beta < 1 for p in params) and any(p.v_init > 0 for p in params)
    assert NeuronParams(1.0) in params


# --- every exercise in the course: its common wrong answers fail with a hint -----------------

# the tests above that feed each code check its classic mistakes (a new code exercise adds its
# own here, or the test below fails)
CODE_MISTAKE_TESTS = {
    "check_if_loop": test_every_listed_mistake_is_recognised,
    "check_rate_identity": test_identity_mistakes_are_explained,
    "check_rate_encoding": test_rate_code_mistakes_are_explained,
    "check_surrogate_gradient": test_surrogate_mistakes_are_explained,
    "check_qcfs": test_every_qcfs_mistake_gets_its_hint,
    "check_expected_spike": test_every_noise_mistake_gets_its_hint,
    "check_truncated_rollout": test_truncation_mistakes_are_explained,
    "check_first_steps": test_first_step_mistakes_are_explained,
    "check_rewrite": test_every_rewrite_mistake_gets_its_hint,
}


def course_checks() -> list[tuple[str, str, str | None]]:
    """(notebook, check function, prediction name) for every check cell of the course."""
    import re

    found = []
    for path in WITH_EXERCISES:
        for cell in cells(path):
            if is_check(cell):
                call = re.match(r"\s*(check_\w+)\(\s*(?:\"(\w+)\")?", cell.source)
                assert call, f"{path.stem}: a check cell that calls no check: {cell.source!r}"
                found.append((path.stem, call[1], call[2]))
    return found


@pytest.mark.parametrize("stem, check, name", course_checks(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_exercise_rejects_its_common_wrong_answers_with_a_hint(stem, check, name):
    if check != "check_prediction":
        assert check in CODE_MISTAKE_TESTS, f"{stem}: {check} has no test of its mistakes"
        return
    item = ex.PREDICTIONS[name]
    answer = item.answer()
    assert len(item.wrong) >= 2, f"{name}: list at least two common wrong answers"
    for value, why in item.wrong.items():
        assert abs(value - answer) > item.tolerance, f"{name}: {value} is inside the tolerance"
        result = ex.check_prediction(name, value)
        assert result.status == "wrong" and why in result.message
        assert "Hint: " + item.hint in result.message and str(answer) not in why
