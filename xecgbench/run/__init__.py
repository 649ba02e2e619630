"""Running a grid: suite config, the stage plan, stage functions, executors, the artifact cache,
the SQLite results store and the runner that ties them together."""
