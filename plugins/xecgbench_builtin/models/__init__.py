"""Model family: the xECGArch model, pretraining strategies and freezing schedules."""
