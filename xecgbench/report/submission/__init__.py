"""Joining a board (``leaderboard submit``) and checking one (``leaderboard verify``)."""
