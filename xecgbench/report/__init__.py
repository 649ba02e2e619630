"""Reporting a finished run: raw results files, statistics, leaderboard tables, their
Markdown/CSV/LaTeX/HTML renderings, figures and single-record explanations."""
