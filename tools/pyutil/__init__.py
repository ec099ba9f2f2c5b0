"""Small helpers shared by the Python scripts under tools/ (no third-party
packages beyond numpy and torch)."""
