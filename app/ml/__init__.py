"""Pure computation for CreditGate: features (Polars), training and scoring (XGBoost), reasons.

No web or database imports here. Importing the package sets `OMP_WAIT_POLICY=PASSIVE` unless it
is already set: XGBoost's OpenMP threads otherwise spin while idle, and on a machine shared with
the API and other workers that spinning made 2-thread training 4-6x slower than 1 thread.
It must happen before XGBoost loads its OpenMP runtime, hence here.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
