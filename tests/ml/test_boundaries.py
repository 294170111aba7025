import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
FORBIDDEN = ("fastapi", "starlette", "pydantic", "sqlalchemy", "alembic", "aiosqlite", "aiokafka")


def test_ml_layer_imports_no_web_or_database_library() -> None:
    """Also: importing app.ml makes idle OpenMP threads sleep (see app/ml/__init__.py)."""
    modules = sorted(p.stem for p in (ROOT / "app" / "ml").glob("*.py") if p.stem != "__init__")
    code = "\n".join(
        [
            "import sys",
            *[f"import app.ml.{name}" for name in modules],
            f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}",
            "       or m.startswith(('app.api', 'app.db', 'app.services'))]",
            "assert not bad, bad",
            "import os; assert os.environ['OMP_WAIT_POLICY'] == 'PASSIVE'",
        ]
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
