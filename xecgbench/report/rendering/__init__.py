"""A leaderboard rendered: Markdown, tidy CSV and LaTeX, the HTML report and its figures."""
