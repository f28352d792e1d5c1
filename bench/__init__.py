"""Speed benchmark for Wegwijzer: `python -m bench [--model models/default] [--quick]`.

Prints figures and writes bench/results.json, bench/results.md and bench/profile.txt.
These are measurements, not tests: nothing here asserts anything; the targets are
shown beside the figures for comparison only.

Modules:
    environment   CPU, cores, thread settings, library versions
    stats         percentiles and timing helpers
    workload      test posts and the synthetic 10k/100k knowledge bases (SQLite stores)
    inprocess     Engine.triage single-post latency, batch throughput, vector search alone
    reference     the straightforward stack: transformers/PyTorch fp32 + brute-force numpy search
    profiling     pyinstrument profile and a timed breakdown of one triage call
    whatif        the same triage with runtime knobs changed (OpenBLAS threads, onnxruntime spinning)
    server        the real server in a subprocess: cold start, RSS, asyncio httpx load generator
                  (open loop, fixed rate; a server left with an overload backlog is replaced)
    report        results.json / results.md and the targets table
"""
