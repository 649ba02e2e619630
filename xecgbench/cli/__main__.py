"""``python -m xecgbench.cli``: the console script without the installed wrapper."""

from xecgbench.cli import main

main()
