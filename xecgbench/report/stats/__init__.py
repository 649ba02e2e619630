"""Statistics of a board: seeds as replicates, windows a random effect, the pre-registered tests.

Imports nothing of ``report`` but the vocabulary (:mod:`xecgbench.report.board`).
"""
