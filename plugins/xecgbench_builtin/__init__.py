"""xecgbench's bundled plugins, registered through the same hooks a third party uses."""
