"""Channel discovery: which channels the job has, where their files are, and in what format.

An algorithm declares its channels (``train`` required, ``validation`` optional, …) as
:class:`ChannelSpec`s; :func:`discover` checks the job's ``inputdataconfig.json`` against them with the
algorithm toolkit's messages (``Missing required channel: train``, ``Extraneous channel found: test``),
fills in the algorithm's default ContentType (XGBoost's is libsvm) and lists each channel's data files
the way the containers do: recursively, sorted, skipping hidden files, ``_SUCCESS``-style markers and
XGBoost cache files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.training.environment import TrainingEnv

MAX_DEPTH = 3


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    required: bool = False


@dataclass
class Channel:
    """One staged channel: its directory, normalized content type and the raw config entry."""

    name: str
    path: Path
    content_type: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def input_mode(self) -> str:
        return str(self.config.get("TrainingInputMode") or "File")

    @property
    def distribution(self) -> str:
        return str(self.config.get("S3DistributionType") or "FullyReplicated")

    def files(self) -> list[Path]:
        """The data files, sorted by path (a channel may be one file or a tree up to 3 levels deep)."""
        if self.path.is_file():
            return [self.path]
        found: list[Path] = []

        def walk(directory: Path, depth: int) -> None:
            try:
                entries = sorted(directory.iterdir())
            except OSError:
                return
            for entry in entries:
                if not is_data_file(entry.name):
                    continue
                if entry.is_dir():
                    if depth < MAX_DEPTH:
                        walk(entry, depth + 1)
                elif entry.is_file():
                    found.append(entry)

        walk(self.path, 1)
        return found

    def size(self) -> int:
        return sum(path.stat().st_size for path in self.files())


def is_data_file(name: str) -> bool:
    """Hidden files, ``_SUCCESS``-like markers and XGBoost's DMatrix cache files are not data."""
    if name.startswith((".", "_")):
        return False
    return not (".cache" in name and ("dtrain" in name or "dval" in name))


def discover(
    env: TrainingEnv,
    specs: Sequence[ChannelSpec],
    normalize: Callable[[str | None], str],
) -> dict[str, Channel]:
    """The job's channels, checked against ``specs``; ``normalize`` maps (and validates) a ContentType,
    receiving None when the channel has none so the algorithm can apply its default."""
    config = env.input_data_config or {}
    by_name = {spec.name: spec for spec in specs}
    for spec in specs:
        if spec.required and spec.name not in config:
            raise UserError(f"Missing required channel: {spec.name}")
    channels: dict[str, Channel] = {}
    for name, entry in config.items():
        if name not in by_name:
            raise UserError(f"Extraneous channel found: {name}")
        entry = dict(entry or {})
        content_type = normalize(entry.get("ContentType"))
        path = Path(env.channel_input_dirs.get(name) or env.input_dir / "data" / name)
        channels[name] = Channel(name=name, path=path, content_type=content_type, config=entry)
    return channels
