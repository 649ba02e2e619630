"""The leaderboard's tables, one builder a module (alignment, nulls, detail, operating points,
identical models, failed cells, interval ANOVA); :mod:`xecgbench.report.tables` assembles them."""
