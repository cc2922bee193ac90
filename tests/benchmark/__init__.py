"""Side-by-side benchmark: perfscan against offline peers on the same rendered fixture pages.

`python -m tests.benchmark.run` (what `make bench` calls) measures each system in its own
subprocess, so that peak memory and CPU time belong to one system only, and writes the results
table to BENCHMARK.md. Not part of `make test`: a full run takes many minutes of CPU.
"""
