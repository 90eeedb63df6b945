"""Every estimator of handnet.sklearn passes scikit-learn's own estimator checks, none expected to fail.

Two kinds of check do not run in the main test, and the tests say why:
* ``check_array_api_input`` needs SCIPY_ARRAY_API=1 in the environment before scipy is first
  imported, which other tests have already done; ``test_the_array_api_check_passes_in_a_fresh_process``
  runs it for every estimator in a process that sets it.
* ``check_classifier_data_not_an_array`` and ``check_regressor_data_not_an_array`` run their
  NotAnArray half (which must pass) and then skip themselves, "pandas is not installed": the test
  environment does not install pandas, which handnet has no use for.
"""

import os
import subprocess
import sys
from functools import partial

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from handnet.sklearn import LogisticRegression, MLPClassifier, MLPRegressor, Ridge

# 100 epochs do not converge, and say so, as scikit-learn's own MLPs do under these checks.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# The MLPs as scikit-learn checks its own (max_iter=100, random_state=0), with hidden layers of 50
# instead of 100 to stay fast: the training checks (accuracy > 0.83, R² > 0.5 after 100 epochs of
# Adam) fail for scikit-learn's own MLPs with 10 hidden units too.
MLP = {"hidden_layer_sizes": (50,), "max_iter": 100, "random_state": 0}
ESTIMATORS = [
    MLPClassifier(**MLP),
    MLPClassifier(**MLP, batch_norm=True),
    MLPRegressor(**MLP),
    MLPRegressor(**MLP, solver="lbfgs"),
    Ridge(),
    Ridge(solver="gd"),
    LogisticRegression(),
    LogisticRegression(solver="gd"),
]


def check_name(check) -> str:
    return (check.func if isinstance(check, partial) else check).__name__


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_check(estimator, check):
    if check_name(check) == "check_array_api_input":
        pytest.skip("needs SCIPY_ARRAY_API=1 before scipy's first import: "
                    "test_the_array_api_check_passes_in_a_fresh_process runs it")
    check(estimator)


def test_the_array_api_check_passes_in_a_fresh_process():
    code = (
        "from functools import partial\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from tests.test_sklearn_estimator_checks import ESTIMATORS\n"
        "for estimator in ESTIMATORS:\n"
        "    check_array_api_input(type(estimator).__name__, estimator, array_namespace='numpy',\n"
        "                          expect_only_array_outputs=False)\n"
        "print('checked', len(ESTIMATORS))\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and f"checked {len(ESTIMATORS)}" in result.stdout, result.stdout + result.stderr
