"""Pure, typed, vectorized reductions: numpy, scipy, xarray and pint only.

Each function takes DataArrays with units (attrs or pint), works over any
extra dims and stays lazy on dask. The ``.sloxide`` accessor is a thin layer
over these functions.
"""
