import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("fastapi", "sqlalchemy", "pydantic", "starlette", "alembic", "aiokafka", "app.db", "app.api")


def test_ml_layer_imports_no_web_or_database_library() -> None:
    modules = sorted(p.stem for p in (Path(__file__).parents[2] / "app" / "ml").glob("*.py"))
    code = (
        "import sys\n"
        + "".join(f"import app.ml.{m}\n" for m in modules if m != "__init__")
        + f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith(('app.db', 'app.api'))]\n"
        + "assert not bad, bad\n"
    )
    root = Path(__file__).parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
