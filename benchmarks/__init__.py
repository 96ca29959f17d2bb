"""Benchmark suite of dowhy-e2b (processes and targets: ARCHITECTURE.md, "Benchmarks and targets").

Compares the project's weighting estimators (unweighted, GPS, entropy balancing with 1–3 moments,
E2B), called through the core API and through DoWhy, with peer packages on data-generating
processes whose average dose-response function is known. One entry point::

    python -m benchmarks.run [--quick] [--seeds 20] [--n 1000] [--scaling] [--out docs]

Modules: :mod:`benchmarks.dgps` (data), :mod:`benchmarks.methods` (uniform wrappers of every
method), :mod:`benchmarks.measure` (timing, memory, machine and versions), :mod:`benchmarks.metrics`
(errors and diagnostics), :mod:`benchmarks.scaling` (fit time and memory against n),
:mod:`benchmarks.report` (the Markdown page and plots, from the CSV files only) and
:mod:`benchmarks.run` (the command line).
"""
