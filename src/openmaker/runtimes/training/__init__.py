"""The framework training entry: ``python -m openmaker.runtimes.training``.

It plays the part of the SageMaker training toolkit inside a framework image: it reads
``/opt/ml/input/config/*.json`` (or ``$OPENMAKER_OPT_ML/...`` when there is no sandbox), finds the user's
code, installs its ``requirements.txt`` if the engine has not, and runs ``sagemaker_program`` with the
``SM_*`` environment, either as a script (script mode) or, for legacy MXNet/TensorFlow scripts, by calling
their ``train()`` and ``save()`` functions. A failure is written to ``output/failure``, which becomes the
job's FailureReason. Nothing here imports the server, the database or the engine.
"""
