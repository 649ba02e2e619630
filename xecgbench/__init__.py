"""xecgbench: does transfer learning make ECG explanations more clinically meaningful?"""

from xecgbench.moved import install as _install_moved_paths
from xecgbench.plugins.hookspecs import hookimpl

_install_moved_paths()  # earlier plugin import paths keep working, with a warning

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
