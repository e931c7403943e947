"""Running things: the job lifecycle, scheduling, executors, workspaces, endpoints.

The engine prepares the ``/opt/ml`` tree, starts the runtime's process (plain process, bubblewrap
sandbox, later Ray or Docker), watches it and collects what it left behind. It never imports
``runtimes/`` code: runtimes are started as commands.
"""
