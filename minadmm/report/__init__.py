"""What a run shows: the pruning report (report.py) and the figures drawn from saved histories (plots.py)."""
