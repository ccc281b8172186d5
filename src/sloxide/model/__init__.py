"""Physics of the paper's samples, in plain numpy, for the simulated instruments and the tests.

Every number here is a parameter of PHYSICS.md section 7.
"""
