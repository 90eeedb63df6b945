"""The library never imports torch or scikit-learn: torch is for tests, sklearn only inside loaders."""

import subprocess
import sys


def test_importing_handnet_and_its_subpackages_loads_neither_torch_nor_sklearn():
    code = (
        "import sys, pkgutil, importlib, handnet\n"
        "for m in pkgutil.walk_packages(handnet.__path__, 'handnet.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'sklearn'))\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
