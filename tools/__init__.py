"""Command-line tools (layer 4): hago-opt and hago-run; argument parsing and reporting only."""
