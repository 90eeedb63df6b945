"""The README is part of the product: its commands are the ones CI runs, and its quickstart runs."""

import configparser
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_exactly_two_setup_commands_and_ci_runs_the_second():
    block = re.search(r"```bash\n(.*?)```", _readme(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert len(commands) == 2
    assert "experiments all" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci


def test_readme_quickstart_runs():
    code = re.search(r"```python\n(.*?)```", _readme(), re.S).group(1)
    exec(compile(code, "README quickstart", "exec"), {})


def test_torch_is_pinned_in_one_requirements_file_and_never_a_library_dependency():
    files = {name: (ROOT / name).read_text(encoding="utf-8") for name in ("requirements.txt", "requirements-test.txt")}
    pins = [name for name, text in files.items() if re.search(r"^torch\b", text, re.M)]
    assert pins == ["requirements.txt"] and "torch==2.13.0" in files["requirements.txt"]
    assert "-r requirements.txt" in files["requirements-test.txt"]
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    dependencies = setup["options"]["install_requires"] + " ".join(setup["options.extras_require"].values())
    assert "torch" not in dependencies
