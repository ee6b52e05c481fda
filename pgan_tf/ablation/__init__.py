"""The paper's Table 1 at small scale: the full method against each contribution switched off.

`configs` names the configurations and what the paper says each contribution does, `sweep`
trains and evaluates them run by run (resumable), `evaluation` scores a finished run's snapshots,
`report` and `plot` turn the stored runs into docs/ablation.md and its PNG.
The command line is `benchmarks/ablation.py`.
"""
