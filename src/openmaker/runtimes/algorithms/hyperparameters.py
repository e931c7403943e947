"""Hyperparameter schemas: parse the strings of ``hyperparameters.json`` and check them at the boundary.

Every built-in algorithm declares its hyperparameters once (name, type, range, required or default,
dependencies) and :meth:`Schema.validate` turns the job's strings into typed values or raises a
:class:`~.errors.UserError` whose message names the hyperparameter, worded like the SageMaker algorithm
toolkit's (``Missing required hyperparameter: num_round``, ``Extraneous hyperparameter found: foo``,
``Hyperparameter eta: 2.0 is not in [0, 1]``), so FailureReason reads like the real service's. Algorithms
with other wording (the first-party ones say ``No value(s) were specified for 'feature_dim' …``) pass their
own :class:`Messages`.

Values are forgiven one SDK quirk: framework estimators JSON-encode strings (``"\\"binary:logistic\\""``);
such a value is unquoted before parsing instead of failing as the real container does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openmaker.runtimes.algorithms.errors import AlgorithmError, UserError


@dataclass(frozen=True)
class Interval:
    """A numeric range with open or closed ends; printed as the toolkit prints it (``[0, 1]``, ``(0, +inf)``)."""

    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: Any) -> bool:
        if isinstance(value, float) and math.isnan(value):
            return False
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        low = (f"({self.min_open}, " if self.min_open is not None
               else f"[{self.min_closed}, " if self.min_closed is not None else "(-inf, ")
        high = (f"{self.max_open})" if self.max_open is not None
                else f"{self.max_closed}]" if self.max_closed is not None else "+inf)")
        return low + high


class Predicate:
    """A range given as a test (``"0.5@error"`` style values), printed as the values it names."""

    def __init__(self, test: Callable[[Any], bool], shown: Iterable[str]) -> None:
        self.test = test
        self.shown = list(shown)

    def __contains__(self, value: Any) -> bool:
        return self.test(value)

    def __str__(self) -> str:
        return str(self.shown)


@dataclass(frozen=True)
class Messages:
    """The wording of validation failures; the defaults are the SageMaker algorithm toolkit's."""

    missing: str = "Missing required hyperparameter: {name}"
    extraneous: str = "Extraneous hyperparameter found: {name}"
    unparsable: str = "Hyperparameter {name}: could not parse value"
    out_of_range: str = "Hyperparameter {name}: {value} is not in {range}"
    list_out_of_range: str = "Hyperparameter {name}: value {value} not in range {range}"


Check = Callable[[Any, dict[str, Any]], None]


@dataclass
class Hyperparameter:
    """One hyperparameter: ``parse`` a string, check ``range``, then ``check`` it against ``depends_on``."""

    name: str
    range: Any = None
    required: bool = False
    default: Any = None
    depends_on: tuple[str, ...] = ()
    check: Check | None = None
    tunable: bool = False

    def parse(self, value: Any) -> Any:
        return value

    def in_range(self, value: Any) -> bool:
        return self.range is None or value in self.range


class FreeText(Hyperparameter):
    def parse(self, value: Any) -> str:
        return str(value)


class Integer(Hyperparameter):
    def parse(self, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"invalid literal for int(): {value!r}")
        return value if isinstance(value, int) else int(str(value).strip())


class Continuous(Hyperparameter):
    def parse(self, value: Any) -> float:
        return float(value)


class Categorical(Hyperparameter):
    def parse(self, value: Any) -> str:
        return str(value).strip()


class CommaList(Hyperparameter):
    """``"auc,error"`` -> ``["auc", "error"]``; every element must be in ``range``."""

    def parse(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return [str(item).strip() for item in value]
        return [item.strip() for item in str(value).split(",") if item.strip()]

    def in_range(self, value: Any) -> bool:
        return self.range is None or all(item in self.range for item in value)


def unquote(value: Any) -> Any:
    """``'"reg:squarederror"'`` (a JSON-encoded string from a framework estimator) -> ``reg:squarederror``."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, str) else value
    return value


@dataclass
class Schema:
    """All hyperparameters of one algorithm (aliases map alternative names to declared ones)."""

    parameters: list[Hyperparameter]
    aliases: dict[str, str] = field(default_factory=dict)
    messages: Messages = field(default_factory=Messages)

    def __post_init__(self) -> None:
        self.by_name = {hp.name: hp for hp in self.parameters}

    def __getitem__(self, name: str) -> Hyperparameter:
        return self.by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self.by_name or name in self.aliases

    def validate(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values for every given hyperparameter plus the defaults; the first problem raises."""
        given = {self.aliases.get(name, name): unquote(value) for name, value in raw.items()}
        for hp in self.parameters:
            if hp.name not in given:
                if hp.required:
                    raise UserError(self.messages.missing.format(name=hp.name))
                if hp.default is not None:
                    given[hp.name] = hp.default
        parsed: dict[str, Any] = {}
        for name, value in given.items():
            hp = self.by_name.get(name)
            if hp is None:
                raise UserError(self.messages.extraneous.format(name=name))
            try:
                parsed[name] = hp.parse(value)
            except (TypeError, ValueError) as error:
                raise UserError(self.messages.unparsable.format(name=name), caused_by=error) from error
        for name, value in parsed.items():
            hp = self.by_name[name]
            if not hp.in_range(value):
                template = self.messages.list_out_of_range if isinstance(hp, CommaList) else self.messages.out_of_range
                raise UserError(template.format(name=name, value=value, range=hp.range))
        for name in self._dependency_order(parsed):
            hp = self.by_name[name]
            if hp.check is None:
                continue
            try:
                hp.check(parsed[name], {dep: parsed[dep] for dep in hp.depends_on if dep in parsed})
            except UserError:
                raise
            except Exception as error:
                raise AlgorithmError(f"Hyperparameter {name}: unexpected failure when validating {parsed[name]}",
                                     caused_by=error) from error
        return parsed

    def _dependency_order(self, names: Iterable[str]) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for dep in self.by_name[name].depends_on:
                if dep in self.by_name and dep in present:
                    visit(dep)
            order.append(name)

        ordered = list(names)
        present = set(ordered)
        for name in ordered:
            visit(name)
        return order

    def describe(self) -> list[dict[str, Any]]:
        """The schema as CreateAlgorithm's ``SupportedHyperParameters`` (for docs and the console)."""
        kinds = {Integer: "Integer", Continuous: "Continuous", Categorical: "Categorical"}
        result = []
        for hp in self.parameters:
            entry: dict[str, Any] = {"Name": hp.name, "Type": kinds.get(type(hp), "FreeText"),
                                     "IsTunable": hp.tunable, "IsRequired": hp.required}
            if hp.default is not None:
                entry["DefaultValue"] = str(hp.default)
            result.append(entry)
        return result
