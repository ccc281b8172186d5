"""Performance suite of sloxide, always reported as ratios against baselines run in the same process.

Run it with ``python -m benchmarks`` (add ``--quick`` for a smaller size).
"""
