"""Hyperparameter tuning jobs: the search and the thread that runs each tuning job.

- ``space.py`` — ParameterRanges → Optuna distributions (scaling types), values → hyperparameter strings;
- ``search.py`` — the strategies (Bayesian = TPE, Random, Hyperband = TPE + Hyperband pruner, Grid);
- ``stopping.py`` — the Auto early-stopping median rule;
- ``definitions.py`` — training job definitions and the child CreateTrainingJob requests made from them;
- ``runner.py`` — one tuning job's thread; ``manager.py`` — the engine's front door and restart policy;
- ``trials.py`` — the read model (a tuning job and its trials) for the API, the CLI and benchmarks.

Children are ordinary training jobs (JobStore records with ``parent`` = the tuning job, run by the same
engine path as CreateTrainingJob). The tuner hears their metrics and ends through ``engine.events``.
"""
