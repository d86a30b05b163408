"""A run whose real dataset files are missing is refused before anything is stored."""

import pytest

from lab import registry
from lab.core.config import ConfigError
from lab.core.results import ResultsStore


@pytest.mark.parametrize("method, dataset, words", [
    ("conversion", "cifar10", "cifar-10-batches-py lacks data_batch_1"),
    ("ttl-bptt", "nmnist", "N-MNIST not found"),
    ("streaming", "dvsgesture", "DVS Gesture not found"),
])
def test_missing_files_store_nothing(tmp_path, method, dataset, words):
    config = registry.method(method).Config(dataset=dataset, data_dir=str(tmp_path / "none"))
    store = ResultsStore(tmp_path / "runs.db")
    with pytest.raises(ConfigError, match=words):
        registry.execute(method, config, store)
    assert store.runs() == []


def test_the_cli_exits_2_with_one_line_and_no_row(tmp_path, monkeypatch, capsys):
    from lab import cli

    monkeypatch.setenv("LAB_RESULTS", str(tmp_path / "runs.db"))
    code = cli.main(["run", "ttl-bptt", "--dataset", "nmnist", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error: data_dir: N-MNIST not found")
    assert ResultsStore(tmp_path / "runs.db").runs() == []


def test_a_sweep_over_missing_files_is_refused_before_it_starts(tmp_path, monkeypatch, capsys):
    from lab import cli

    monkeypatch.setenv("LAB_RESULTS", str(tmp_path / "runs.db"))
    code = cli.main(["sweep", "ttl-bptt", "--grid", "dataset=nmnist", "--grid",
                     f"data_dir={tmp_path / 'none'}", "--seeds", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "N-MNIST not found" in err[-1]
    assert ResultsStore(tmp_path / "runs.db").runs() == []
