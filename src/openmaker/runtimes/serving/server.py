"""Start-up: environment, user code, model, then uvicorn on ``127.0.0.1:$SAGEMAKER_BIND_TO_PORT``.

The model is loaded before the port opens, so the hosting engine's ``GET /ping`` polling sees 200
exactly when the endpoint can answer. If anything fails first (code download, import, ``model_fn``), the
process exits 1 with the error on stderr and in ``/opt/ml/output/failure``, which the engine reports as
the endpoint's FailureReason.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openmaker.runtimes.serving.app import ModelServerApp
from openmaker.runtimes.serving.environment import ServingEnv
from openmaker.runtimes.serving.errors import ModelLoadError
from openmaker.runtimes.serving.handlers import handlers_for, has_algorithm
from openmaker.runtimes.serving.transformer import Transformer
from openmaker.runtimes.serving.usercode import load_user_module

logger = logging.getLogger("openmaker-serving")
FAILURE_CHARS = 4096


def _setup_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s - %(name)s - %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def _install_compat() -> None:
    """The training entry's import shims (``from sklearn.externals import joblib`` …), if the engine's
    ``PYTHONPATH`` did not already load them at interpreter start-up."""
    if any(type(finder).__name__ == "AliasFinder" for finder in sys.meta_path):
        return
    from openmaker.runtimes.compat import sitecustomize

    sitecustomize.install()


def write_failure(env: ServingEnv, message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    try:
        env.failure_file.parent.mkdir(parents=True, exist_ok=True)
        env.failure_file.write_text(message[:FAILURE_CHARS])
    except OSError:
        pass  # a read-only /opt/ml: stderr still carries the reason


def build(env: ServingEnv, framework: str | None, algorithm: str | None) -> Any:
    """The loaded transformer (the user's code over the framework's or algorithm's defaults)."""
    module = load_user_module(env)
    if (module is None or not framework) and has_algorithm(algorithm):
        handlers = handlers_for(env, algorithm=algorithm)
    elif module is None and not framework and algorithm:
        raise ModelLoadError(f"The built-in algorithm {algorithm!r} has no model server in openmaker yet "
                             "(no handlers registered for it).")
    else:
        handlers = handlers_for(env, framework=framework)
    model_dir = str(env.model_dir)
    if handlers.transformer is not None:
        rest_uri = f"http://{env.host}:{env.port}/v1/models/model:predict"
        transformer = handlers.transformer(handlers, module, model_dir, env.default_accept,
                                           env.default_content_type, rest_uri=rest_uri)
    else:
        transformer = Transformer(handlers, module, model_dir, env.default_accept, env.default_content_type)
    logger.info("Handlers: %s defaults%s", handlers.name,
                f", user functions {', '.join(transformer.user_functions)}" if transformer.user_functions else "")
    started = time.monotonic()
    logger.info("Loading the model from %s", model_dir)
    transformer.load()
    logger.info("Model loaded in %.2fs", time.monotonic() - started)
    return transformer, module


def execution_parameters(env: ServingEnv, module: Any) -> dict[str, Any]:
    custom = getattr(module, "execution_parameters_fn", None)
    if callable(custom):
        result = custom()
        if isinstance(result, dict):
            return result
    return {"MaxConcurrentTransforms": env.workers, "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": env.max_payload_mb}


def serve(framework: str | None = None, algorithm: str | None = None) -> int:
    """Run the model server until SIGTERM; ``algorithm`` selects a registered built-in's handlers."""
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)
    env = ServingEnv.load()
    _setup_logging(env.log_level)
    _install_compat()
    framework = framework or env.framework
    algorithm = algorithm or env.algorithm
    logger.info("Imported framework openmaker.runtimes.serving (framework %s%s%s)", framework or "none",
                f" {env.framework_version}" if env.framework_version else "",
                f", algorithm {algorithm}" if algorithm else "")
    try:
        transformer, module = build(env, framework, algorithm)
    except ModelLoadError as error:
        write_failure(env, str(error))
        return 1
    except BaseException as error:  # model_fn and the user's import may raise anything
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        tail = "".join(traceback.format_tb(error.__traceback__)[-4:]).rstrip()
        write_failure(env, f"Loading the model failed: {detail}\nTraceback (most recent call last):\n{tail}")
        return 1
    return run_http(env, transformer, module)


def run_http(env: ServingEnv, transformer: Any, module: Any) -> int:
    import uvicorn

    executor = ThreadPoolExecutor(max_workers=max(2, env.workers), thread_name_prefix="invocation")
    app = ModelServerApp(transformer, executor, execution_parameters(env, module))
    config = uvicorn.Config(
        app, host=env.host, port=env.port, loop="uvloop", http="httptools", lifespan="off",
        access_log=False, log_level="warning", server_header=False, date_header=False,
        timeout_keep_alive=65, proxy_headers=False,  # nothing here reads the client's address or scheme
    )
    logger.info("Listening at: http://%s:%d (pid %d, %d worker threads)", env.host, env.port, os.getpid(),
                executor._max_workers)
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    return 0 if server.started else 1


def main() -> int:
    return serve()
