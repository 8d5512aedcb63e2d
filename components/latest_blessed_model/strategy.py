"""The Evaluator's baseline on the local runner: the latest blessed model that is not the model
being evaluated.

TFX's ``LatestBlessedModelStrategy`` hands a re-run the model it is about to evaluate: the
Trainer's output comes from the cache, run 1 blessed it, so run 2 evaluates the model against
itself, a changed input that runs the Evaluator, pushes the same model again and writes a new
export and report. Leaving the candidate out gives a re-run exactly run 1's inputs, so it is
cached throughout; a different model is compared with the last blessed one as before. The
Resolver takes the candidate as a third input (``candidate``) for this.
"""
from __future__ import annotations

from tfx import types
from tfx.dsl.input_resolution.strategies import latest_blessed_model_strategy as tfx_strategy

CANDIDATE = "candidate"


class LatestOtherBlessedModelStrategy(tfx_strategy.LatestBlessedModelStrategy):
    """TFX's strategy over the models other than the ``candidate`` input's."""

    def resolve_artifacts(self, store, input_dict: dict[str, list[types.Artifact]]):
        candidates = {a.id for a in input_dict.get(CANDIDATE, [])}
        others = {k: list(v) for k, v in input_dict.items() if k != CANDIDATE}
        models = next((k for k, v in others.items()
                       if v and isinstance(v[0], types.standard_artifacts.Model)), None)
        if models is not None:
            others[models] = [a for a in others[models] if a.id not in candidates]
        result = super().resolve_artifacts(store, others)
        if result is not None:
            result[CANDIDATE] = input_dict.get(CANDIDATE, [])
        return result
