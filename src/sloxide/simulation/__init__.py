"""The simulated lab without ophyd: the state the sim devices and the IOC share.

:mod:`sloxide.simulation.world` holds :class:`~sloxide.simulation.world.SimWorld`:
the sample, the axes and their clock, the beam and the injected faults. It sits
between :mod:`sloxide.model` (the physics it reads) and :mod:`sloxide.devices` and
:mod:`sloxide.ioc` (which drive it); it imports no ophyd, bluesky or caproto.
"""
