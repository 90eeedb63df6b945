"""The library never imports torch or scikit-learn: torch is for tests, sklearn only inside loaders
and in handnet.sklearn, its estimator interface."""

import subprocess
import sys


def test_importing_handnet_and_its_subpackages_loads_neither_torch_nor_sklearn():
    code = (
        "import sys, pkgutil, importlib, handnet\n"
        "def walk(path, prefix):\n"
        "    for m in pkgutil.iter_modules(path, prefix):\n"
        # handnet.sklearn exists to give scikit-learn estimators, so it imports sklearn: it is left out
        # (and not walked into, which would import it). Nothing else may import it or sklearn.
        "        if m.name == 'handnet.sklearn':\n"
        "            continue\n"
        "        module = importlib.import_module(m.name)\n"
        "        if m.ispkg:\n"
        "            walk(module.__path__, m.name + '.')\n"
        "walk(handnet.__path__, 'handnet.')\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'sklearn') or n == 'handnet.sklearn')\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
