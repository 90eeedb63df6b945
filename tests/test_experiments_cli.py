"""The command line of the experiments: list, run by name, refuse unknown names, write the index."""

import importlib
import inspect
import pathlib
import subprocess
import sys

import pytest

from experiments import EXPERIMENTS
from experiments.__main__ import main, write_index
from experiments._report import paragraphs

HERE = pathlib.Path(__file__).resolve().parent.parent / "experiments"


def test_every_experiment_file_is_registered_and_has_the_common_shape():
    # a docstring of title, claim and why; NAME; main(out_dir, *, quick, seed)
    assert sorted(EXPERIMENTS) == sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))
    for name in EXPERIMENTS:
        module = importlib.import_module(f"experiments.{name}")
        assert module.NAME == name and len(paragraphs(module.__doc__)) >= 3, name
        assert list(inspect.signature(module.main).parameters) == ["out_dir", "quick", "seed"], name


def test_list_names_every_experiment_with_its_title(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in EXPERIMENTS)


def test_unknown_experiment_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit) as info:
        main(["no_such_experiment"])
    assert info.value.code == 2
    assert "unknown experiment" in capsys.readouterr().err


def test_running_one_experiment_by_name_writes_its_folder(tmp_path):
    command = [sys.executable, "-m", "experiments", "hessian_surfaces", "--quick", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "claim holds" in result.stdout
    assert {p.name for p in (tmp_path / "hessian_surfaces").iterdir()} >= {"report.md", "metrics.json"}


def test_all_runs_every_experiment_and_writes_the_index(tmp_path, monkeypatch):
    import experiments.__main__ as cli
    monkeypatch.setattr(cli, "EXPERIMENTS", ["identities", "hessian_surfaces"])  # the two fast ones
    assert cli.main(["all", "--quick", "--out", str(tmp_path)]) == 0
    index = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "(identities/report.md)" in index and "(hessian_surfaces/report.md)" in index
    assert (tmp_path / "identities" / "report.md").exists() and (tmp_path / "hessian_surfaces" / "report.md").exists()


def test_index_links_every_report_and_flags_a_claim_that_does_not_hold(tmp_path):
    write_index(tmp_path, {"identities": {"claim_holds": True}, "hessian_surfaces": {"claim_holds": False}})
    index = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "(identities/report.md)" in index and "(hessian_surfaces/report.md)" in index
    assert "**no**" in index
