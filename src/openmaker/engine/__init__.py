"""Running things: the job lifecycle, scheduling, executors, workspaces, endpoints.

The engine prepares the ``/opt/ml`` tree, starts the runtime's process (plain process, bubblewrap
sandbox, later Ray or Docker), watches it and collects what it left behind. It never imports
``runtimes/`` code: runtimes are started as commands.

Map of the jobs part:

- ``engine.py`` — the front door (submit / stop / start-up recovery / shutdown).
- ``scheduler.py`` — admission by capacity: ``OPENMAKER_SLOTS`` slots (default: CPU count), each
  instance takes ``OPENMAKER_SLOT_SIZE`` (default 1); jobs that do not fit wait in order, with
  SecondaryStatus Starting and the message "Waiting for capacity: ...".
- ``lifecycle.py`` — the state machine shared by every job kind; ``training.py``,
  ``processing.py`` — the kinds. Stop = SIGTERM, then SIGKILL after ``OPENMAKER_STOP_GRACE``
  seconds (default 5); MaxRuntimeInSeconds the same, ending Stopped / MaxRuntimeExceeded.
- ``executors/`` — how a host is started (see ``executors/base.py`` for the interface). The
  bubblewrap sandbox is used when ``bwrap`` is installed (``OPENMAKER_EXECUTOR=process|sandbox``
  forces one). Without it, ``/opt/ml`` cannot be mounted: every ``SM_*`` path and
  ``OPENMAKER_OPT_ML`` name the real workspace, and argv/env values starting with ``/opt/ml`` are
  rewritten to it; ``algo-<n>`` names do not resolve there (``OPENMAKER_HOST_ADDRESSES`` maps them).
- ``events.py`` — a job's metric points and its end, announced to whoever watches it (the tuner),
  so nothing in the server polls for them.
- ``tuning/`` — hyperparameter tuning jobs: a thread per job asks Optuna for hyperparameters and
  launches ordinary training jobs (records with ``parent`` = the tuning job) through ``submit``;
  ``tuning/trials.py`` is the read model the API, the CLI and the benchmarks share.
- ``workspace.py`` (the tree, config JSON, ``SM_*``), ``staging.py`` (S3 → channels/inputs),
  ``archive.py`` (safe tar extraction, streamed ``tar.gz``), ``s3io.py`` (object store I/O without
  HTTP), ``output.py`` (log batches and metric regexes), ``runtime.py`` (image → argv/interpreter).

Workspaces live in ``<home>/jobs/<kind>/<name>/algo-<n>/``. A completed job's is deleted at once; a
failed or stopped one is kept for debugging until the next server start-up removes it. After a
restart, jobs that never started are queued again and jobs that were running end Failed (their
processes are killed: the sandbox dies with the server, plain processes are reaped by pid).
"""
