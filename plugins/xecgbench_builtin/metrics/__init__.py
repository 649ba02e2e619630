"""Metric family: accuracy, localisation, interval profile and explanation quality."""
