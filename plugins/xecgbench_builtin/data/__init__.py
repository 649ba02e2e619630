"""Data family: synthetic ECGs, PhysioNet loaders (CinC 2017, LUDB), windows and fiducial masks."""
