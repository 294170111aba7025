"""The C library's float32 `expf` and `logf`, for reproducing XGBoost's float32 arithmetic bit
for bit (its logistic and its base margin use them; NumPy's float32 exp and log differ from them
in the last bit for some inputs). None where the C math library cannot be loaded."""

import ctypes
import ctypes.util


def _function(name: str):
    path = ctypes.util.find_library("m")
    if path is None:
        return None
    try:
        function = getattr(ctypes.CDLL(path), name)
    except (OSError, AttributeError):
        return None
    function.restype, function.argtypes = ctypes.c_float, (ctypes.c_float,)
    return function


expf = _function("expf")
logf = _function("logf")
