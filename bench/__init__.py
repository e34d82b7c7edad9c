"""Benchmarks (`make bench`): the SCIM workload with counts, capacity, CPU and cost (`bench.workload`),
and cold starts (`bench.coldstart`). Method and results: docs/performance.md."""
