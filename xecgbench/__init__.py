"""xecgbench: does transfer learning make ECG explanations more clinically meaningful?"""

from xecgbench.plugins.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
