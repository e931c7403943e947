"""The framework training entry, run as the engine runs it: a subprocess on an /opt/ml-like tree.

No server is needed except for the S3 download test; ``OPENMAKER_OPT_ML`` points the entry at the tree.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import textwrap
import time
from pathlib import Path

import pytest

from openmaker.engine.environments import Environment, ensure_environment
from openmaker.engine.images import resolve_image

SKLEARN_020 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:0.20.0-cpu-py3"
MXNET_LEGACY = "520713654638.dkr.ecr.us-east-1.amazonaws.com/sagemaker-mxnet:1.2.1-cpu-py3"


def sdk_hyperparameters(program: str, submit_dir: str, **user: str) -> dict[str, str]:
    """Hyperparameters as the SageMaker SDK sends them: every value a JSON-encoded string."""
    return {
        "sagemaker_program": json.dumps(program),
        "sagemaker_submit_directory": json.dumps(submit_dir),
        "sagemaker_container_log_level": "20",
        "sagemaker_job_name": json.dumps("job-1"),
        "sagemaker_region": json.dumps("us-east-1"),
        **user,
    }


def make_tree(tmp_path: Path, files: dict[str, str], hyperparameters: dict[str, str] | None = None,
              program: str = "train.py") -> tuple[Path, Path]:
    """An /opt/ml tree with a ``train`` channel and a code directory holding ``files``."""
    opt_ml, code = tmp_path / "opt_ml", tmp_path / "code"
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True)
    (opt_ml / "input" / "data" / "train").mkdir(parents=True)
    (opt_ml / "input" / "data" / "train" / "data.csv").write_text("1,2\n3,4\n")
    hps = hyperparameters if hyperparameters is not None else sdk_hyperparameters(program, str(code))
    (config / "hyperparameters.json").write_text(json.dumps(hps))
    (config / "inputdataconfig.json").write_text(json.dumps({"train": {"TrainingInputMode": "File"}}))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    code.mkdir()
    for name, text in files.items():
        (code / name).write_text(textwrap.dedent(text))
    return opt_ml, code


def run_entry(opt_ml: Path, environment: Environment | None = None, code_dir: Path | None = None,
              extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "OPENMAKER_"))}
    if environment is not None:
        env.update(environment.env)
    env["OPENMAKER_OPT_ML"] = str(opt_ml)
    if code_dir is not None:
        env["OPENMAKER_CODE_DIR"] = str(code_dir)
    env.update(extra_env or {})
    python = environment.python if environment else env.get("PYTHON", os.sys.executable)
    return subprocess.run([python, "-m", "openmaker.runtimes.training"], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def base_env(home: Path) -> Environment:
    return ensure_environment(resolve_image(SKLEARN_020, home), home)


ECHO_SCRIPT = """
    import json, os, sys
    import helper  # the code directory is importable
    out = {"argv": sys.argv[1:], "cwd": os.getcwd(), "helper": helper.VALUE,
           "env": {k: v for k, v in os.environ.items() if k.startswith("SM_")}}
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w") as f:
        json.dump(out, f)
    print("training done", flush=True)
"""


def test_script_mode_gets_hyperparameters_as_arguments(tmp_path: Path, base_env: Environment) -> None:
    code_dir = tmp_path / "code"
    hps = sdk_hyperparameters("train.py", "s3://bucket/job-1/source/sourcedir.tar.gz",
                              epochs="10", learning_rate="0.1", optimizer='"adam"', plain="raw-string",
                              layers="[64, 32]")
    opt_ml, code = make_tree(tmp_path, {"train.py": ECHO_SCRIPT, "helper.py": "VALUE = 42\n"}, hps)
    result = run_entry(opt_ml, base_env, code_dir=code_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads((opt_ml / "model" / "seen.json").read_text())
    assert seen["argv"] == ["--epochs", "10", "--layers", "[64, 32]", "--learning_rate", "0.1",
                            "--optimizer", "adam", "--plain", "raw-string"]
    assert seen["cwd"] == str(code) and seen["helper"] == 42
    env = seen["env"]
    assert env["SM_MODEL_DIR"] == str(opt_ml / "model")
    assert env["SM_CHANNEL_TRAIN"] == str(opt_ml / "input" / "data" / "train")
    assert env["SM_OUTPUT_DATA_DIR"] == str(opt_ml / "output" / "data")
    assert json.loads(env["SM_HPS"]) == {"epochs": 10, "learning_rate": 0.1, "optimizer": "adam",
                                         "plain": "raw-string", "layers": [64, 32]}
    assert json.loads(env["SM_CHANNELS"]) == ["train"] and env["SM_HP_EPOCHS"] == "10"
    assert env["SM_USER_ENTRY_POINT"] == "train.py" and env["SM_CURRENT_HOST"] == "algo-1"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["job_name"] == "job-1" and training_env["hosts"] == ["algo-1"]
    assert "sagemaker_program" not in training_env["hyperparameters"]
    assert "Invoking script with the following command" in result.stdout
    assert "train.py --epochs 10" in result.stdout
    assert "training done" in result.stdout and "Reporting training SUCCESS" in result.stdout
    assert not (opt_ml / "output" / "failure").exists()


def test_requirements_install_into_a_cached_environment(tmp_path: Path, home: Path) -> None:
    probe = subprocess.run([os.sys.executable, "-c", "import tabulate"], capture_output=True)
    assert probe.returncode != 0, "tabulate must be absent from the base interpreter for this test"
    script = """
        import os, tabulate
        open(os.path.join(os.environ["SM_MODEL_DIR"], "table.txt"), "w").write(tabulate.tabulate([[1, 2]]))
    """
    opt_ml, code = make_tree(tmp_path, {"train.py": script, "requirements.txt": "tabulate\n"})
    image = resolve_image(SKLEARN_020, home)
    started = time.monotonic()
    environment = ensure_environment(image, home, code / "requirements.txt")
    first = time.monotonic() - started
    assert environment.python.startswith(str(home / "envs"))
    result = run_entry(opt_ml, environment, code_dir=code)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1  2" in (opt_ml / "model" / "table.txt").read_text()
    assert "Installing dependencies" not in result.stdout  # the engine's environment already had them

    started = time.monotonic()
    again = ensure_environment(image, home, code / "requirements.txt")
    second = time.monotonic() - started
    assert again == environment and second < 0.05, (first, second)
    # A fresh process (another server run) finds the cached environment without building.
    check = subprocess.run(
        [os.sys.executable, "-c", textwrap.dedent(f"""
            import time, subprocess
            from pathlib import Path
            from openmaker.engine.environments import ensure_environment
            from openmaker.engine.images import resolve_image
            calls = []
            real = subprocess.run
            subprocess.run = lambda *a, **k: calls.append(a) or real(*a, **k)
            t = time.monotonic()
            env = ensure_environment(resolve_image({SKLEARN_020!r}, Path({str(home)!r})), Path({str(home)!r}),
                                     Path({str(code / "requirements.txt")!r}))
            assert not calls and env.python == {environment.python!r}, calls
            print(time.monotonic() - t)
        """)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert float(check.stdout) < 0.05
    print(f"environment: first {first:.2f}s, cached {second * 1000:.2f}ms, new process {float(check.stdout) * 1000:.2f}ms")


def test_requirements_without_engine_environment_install_job_locally(tmp_path: Path, base_env: Environment) -> None:
    script = "import tabulate\nprint(tabulate.__file__)\n"
    opt_ml, _code = make_tree(tmp_path, {"train.py": script, "requirements.txt": "tabulate\n"})
    result = run_entry(opt_ml, base_env)  # no OPENMAKER_CODE_DIR: the submit directory is the local path
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Installing dependencies from requirements.txt" in result.stdout
    assert str(opt_ml) in result.stdout  # installed job-locally, not into the shared interpreter


def test_bad_requirements_fail_with_installer_output(tmp_path: Path, home: Path) -> None:
    from openmaker.engine.environments import EnvironmentSetupError

    _opt_ml, code = make_tree(tmp_path, {"train.py": "print(1)\n",
                                        "requirements.txt": "this-package-does-not-exist-openmaker==9.9\n"})
    with pytest.raises(EnvironmentSetupError) as error:
        ensure_environment(resolve_image(SKLEARN_020, home), home, code / "requirements.txt")
    assert "this-package-does-not-exist-openmaker" in str(error.value)
    assert not [p for p in (home / "envs").iterdir() if p.is_dir()]  # nothing half-built left behind


def test_sklearn_externals_joblib_still_works(tmp_path: Path, base_env: Environment) -> None:
    script = """
        import os
        from sklearn.externals import joblib
        from sklearn.naive_bayes import MultinomialNB
        model = MultinomialNB(alpha=0.01).fit([[1, 0], [0, 1]], [0, 1])
        joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
    """
    opt_ml, code = make_tree(tmp_path, {"train.py": script})
    result = run_entry(opt_ml, base_env, code_dir=code)
    assert result.returncode == 0, result.stdout + result.stderr
    import joblib

    assert joblib.load(opt_ml / "model" / "model.joblib").predict([[1, 0]])[0] == 0


def test_failing_script_writes_failure_file(tmp_path: Path, base_env: Environment) -> None:
    script = """
        print("about to fail")
        raise ValueError("the data has no label column")
    """
    opt_ml, code = make_tree(tmp_path, {"train.py": script})
    result = run_entry(opt_ml, base_env, code_dir=code)
    assert result.returncode == 1
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("ExecuteUserScriptError:\nExitCode 1\n")
    assert "ValueError: the data has no label column" in failure
    assert "train.py" in failure and "Reporting training FAILURE" in result.stdout
    assert "ValueError: the data has no label column" in result.stderr  # forwarded to the job's log


def test_shell_script_and_exit_code(tmp_path: Path, base_env: Environment) -> None:
    opt_ml, code = make_tree(tmp_path, {"train.sh": 'echo "args: $@"\nexit 3\n'},
                             program="train.sh")
    (opt_ml / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps(sdk_hyperparameters("train.sh", str(code), epochs="2")))
    result = run_entry(opt_ml, base_env, code_dir=code)
    assert result.returncode == 3
    assert "args: --epochs 2" in result.stdout
    assert "ExitCode 3" in (opt_ml / "output" / "failure").read_text()


def test_missing_program_is_a_clear_failure(tmp_path: Path, base_env: Environment) -> None:
    opt_ml, code = make_tree(tmp_path, {"other.py": "pass\n"})
    result = run_entry(opt_ml, base_env, code_dir=code)
    assert result.returncode == 1
    assert "'train.py' is not in the code directory" in (opt_ml / "output" / "failure").read_text()


LEGACY_SCRIPT = """
    import json, os

    def train(hyperparameters, channel_input_dirs, output_data_dir, num_gpus, num_cpus, hosts,
              current_host, batch_size, **kwargs):
        assert os.path.isdir(channel_input_dirs["train"])
        print("epoch 1 training accuracy 0.9", flush=True)
        return {"hps": hyperparameters, "batch_size": batch_size, "hosts": hosts, "gpus": num_gpus,
                "model_dir": kwargs["model_dir"]}

    def save(model, model_dir):
        with open(os.path.join(model_dir, "model.json"), "w") as f:
            json.dump(model, f)
"""


def test_legacy_train_and_save(tmp_path: Path, home: Path) -> None:
    opt_ml, code = make_tree(tmp_path, {"spam.py": LEGACY_SCRIPT}, program="spam.py")
    hps = sdk_hyperparameters("spam.py", str(code), batch_size="100", epochs="10", learning_rate="0.01")
    (opt_ml / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hps))
    environment = ensure_environment(resolve_image(MXNET_LEGACY, home), home)
    result = run_entry(opt_ml, environment, code_dir=code)
    assert result.returncode == 0, result.stdout + result.stderr
    model = json.loads((opt_ml / "model" / "model.json").read_text())
    assert model["hps"] == {"batch_size": 100, "epochs": 10, "learning_rate": 0.01}
    assert model["batch_size"] == 100 and model["hosts"] == ["algo-1"] and model["gpus"] == 0
    assert model["model_dir"] == str(opt_ml / "model")
    assert "epoch 1 training accuracy 0.9" in result.stdout and "Reporting training SUCCESS" in result.stdout


def test_legacy_without_save_pickles_and_failures_are_reported(tmp_path: Path, base_env: Environment) -> None:
    script = "def train(epochs):\n    return {'epochs': epochs}\n"
    opt_ml, code = make_tree(tmp_path, {"train.py": script},
                             sdk_hyperparameters("train.py", str(tmp_path / "code"), epochs="5"))
    result = run_entry(opt_ml, base_env, code_dir=code)
    assert result.returncode == 0, result.stdout + result.stderr
    import pickle

    assert pickle.loads((opt_ml / "model" / "model.pkl").read_bytes()) == {"epochs": 5}

    broken = "def train(hyperparameters):\n    raise RuntimeError('no data in channel')\n"
    (code / "train.py").write_text(broken)
    result = run_entry(opt_ml, base_env, code_dir=code)
    assert result.returncode == 1
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("RuntimeError: no data in channel")


def test_code_is_downloaded_from_s3(tmp_path: Path, base_env: Environment, server, s3) -> None:
    s3.create_bucket(Bucket="sources")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in {"train.py": ECHO_SCRIPT, "helper.py": "VALUE = 7\n"}.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    s3.put_object(Bucket="sources", Key="job-1/source/sourcedir.tar.gz", Body=buffer.getvalue())
    hps = sdk_hyperparameters("train.py", "s3://sources/job-1/source/sourcedir.tar.gz", epochs="1")
    opt_ml, _ = make_tree(tmp_path, {}, hps)
    aws = {k: v for k, v in server.env().items() if k.startswith("AWS_") or k == "PYTHONPATH"}
    aws["PYTHONPATH"] = f"{base_env.env['PYTHONPATH']}:{aws['PYTHONPATH']}"  # compat first, SDK shim chained
    result = run_entry(opt_ml, base_env, extra_env=aws)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads((opt_ml / "model" / "seen.json").read_text())
    assert seen["helper"] == 7 and seen["cwd"] == str(opt_ml / "code") and seen["argv"] == ["--epochs", "1"]


def test_script_that_defines_and_calls_train_is_script_mode(tmp_path: Path, base_env: Environment) -> None:
    script = """
        import argparse, os
        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])

        def train(args):
            open(os.path.join(args.model_dir, "epochs.txt"), "w").write(str(args.epochs))

        train(parser.parse_args())
    """
    opt_ml, code = make_tree(tmp_path, {"train.py": script},
                             sdk_hyperparameters("train.py", str(tmp_path / "code"), epochs="4"))
    result = run_entry(opt_ml, base_env, code_dir=code)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (opt_ml / "model" / "epochs.txt").read_text() == "4"
    assert "Invoking script with the following command" in result.stdout


def test_concurrent_builds_of_one_environment(tmp_path: Path, home: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("tabulate\n# concurrent\n")
    code = textwrap.dedent(f"""
        from pathlib import Path
        from openmaker.engine.environments import ensure_environment
        from openmaker.engine.images import resolve_image
        home = Path({str(home)!r})
        print(ensure_environment(resolve_image({SKLEARN_020!r}, home), home, Path({str(requirements)!r})).python)
    """)
    processes = [subprocess.Popen([os.sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    pythons = {out.strip() for out, _ in outputs}
    assert len(pythons) == 1
    envs = [p for p in (home / "envs").iterdir() if p.is_dir()]
    assert len(envs) == 1 and not [p for p in envs if p.name.startswith(".build-")]
    check = subprocess.run([pythons.pop(), "-c", "import tabulate"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_sagemaker_xgboost_without_a_script_runs_the_builtin(tmp_path: Path, base_env: Environment) -> None:
    opt_ml, _ = make_tree(tmp_path, {}, {"num_round": "10", "objective": "binary:logistic"})
    result = run_entry(opt_ml, base_env, extra_env={"OPENMAKER_ALGORITHM": "xgboost"})
    assert result.returncode == 1
    # The built-in algorithm ran: the channel has no ContentType, so it is read as LIBSVM, as in SageMaker.
    assert "is not 'LIBSVM' format" in (opt_ml / "output" / "failure").read_text()
    no_algorithm = run_entry(opt_ml, base_env)
    assert no_algorithm.returncode == 1
    assert "no sagemaker_program" in (opt_ml / "output" / "failure").read_text()
