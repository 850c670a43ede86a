"""Side-by-side benchmarks of ``parallelism`` and the tools users would pick instead.

``python -m benchmarks`` runs every workload on this library and on each installed peer
(``concurrent.futures`` always; dask's threaded and processes schedulers and dask.distributed with
the ``bench`` extra), each measurement in a fresh interpreter, peers alternating over rounds, and
prints one table per workload; ``--quick`` is the few-second mode CI runs.  See ``README.md``.

Adding a workload: drop a module into :mod:`benchmarks.workloads` that builds a
:class:`~benchmarks.registry.Workload`, registers it with :func:`~benchmarks.registry.register`, and
decorates one function per peer with ``@workload.implementation(peer)``.  Nothing else changes.
"""
