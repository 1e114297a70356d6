"""Test set-up: the repository on sys.path, and one thread per xdist worker."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402  (framework-free import)
from helpers.device import preload_triton  # noqa: E402

# In every test process: triton before any test imports TensorFlow (TF first, then torch.optim
# loading triton, crashes the process; see README, Troubleshooting).
preload_triton()

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel workers share the cores: one thread each, set before any framework is imported.
    # The notebook kernels a worker starts inherit the setting through the environment.
    helpers.set_threads(1)
