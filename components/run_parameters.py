"""Execution parameters added to a TFX component, so that a compiled pipeline's "create run"
form (Vertex AI and Kubeflow Pipelines) can set them.

KubeflowV2DagRunner turns a ``RuntimeParameter`` into a pipeline parameter only when it is a
whole execution property of int, float or str type (``tfx/orchestration/kubeflow/v2/
step_builder.py``: ``componentInputParameter``); a field inside a proto (TrainArgs, EvalConfig) or
inside the Trainer's custom_config cannot be one. The components that need such values get
extra execution properties of their own, and their executors fold them into the proto or
config before TFX's executor runs (components/trainer, components/fixed_batch_evaluator).

TFX's component constructors build their standard spec themselves, so ``add_parameters`` builds
the same spec again as a subclass that declares the extra properties: every standard argument
is type-checked by TFX once more, the new ones too.
"""
from __future__ import annotations

from typing import Any

from tfx.types import component_spec


def extend_spec(base: type[component_spec.ComponentSpec], name: str,
                parameters: dict[str, type]) -> type[component_spec.ComponentSpec]:
    """A ComponentSpec class: ``base`` plus optional execution parameters ``{name: type}``."""
    clash = sorted(set(parameters) & (set(base.PARAMETERS) | set(base.INPUTS) |
                                      set(base.OUTPUTS)))
    if clash:
        raise ValueError(f"{name}: parameters {clash} already name an argument of {base.__name__}")
    extra = {k: component_spec.ExecutionParameter(type=t, optional=True)
             for k, t in parameters.items()}
    return type(name, (base,), {"PARAMETERS": {**base.PARAMETERS, **extra},
                                "__doc__": f"{base.__name__} with {sorted(parameters)}."})


def add_parameters(component, spec_class: type[component_spec.ComponentSpec],
                   values: dict[str, Any]):
    """Gives ``component`` a ``spec_class`` spec with its standard arguments and ``values`` (plain
    values or RuntimeParameters); returns the component."""
    old = component.spec
    component.spec = spec_class(**old.exec_properties, **old.inputs, **old.outputs, **values)
    return component


def pop_parameters(exec_properties: dict, names) -> tuple[dict, dict]:
    """(exec_properties without ``names``, {name: value} of those that are set)."""
    rest = {k: v for k, v in exec_properties.items() if k not in names}
    given = {k: exec_properties[k] for k in names if exec_properties.get(k) is not None}
    return rest, given
