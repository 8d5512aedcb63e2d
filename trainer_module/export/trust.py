"""A model is a program: the ops a user-supplied model or graph may run before the project runs it.

TensorFlow's security guide: running an untrusted model is running untrusted code (its graph
can read and write files, list folders, start Python functions). Every model or graph the project
loads from a user path (``--inception_weights``, ``--audio_model``, an ``--input_model_tgz`` or
a ``--train_dir`` export) is checked here first: its graph and every function of its library may
only hold ops from ``ALLOWED``, which is what the project's own exports (every registry model,
float32 and float16, CLI and pipeline with its Transform graph) and the dataset's published
networks (the Inception frozen graph, a VGGish-style audio model) use. The checkpoint ops a
SavedModel needs to save and restore its variables (``SAVER_OPS``) are allowed only in the
functions its ``saver_def`` calls, never where the model's own functions reach them. Anything
else is refused before the model runs, naming the file and the op; ``trust_model`` (the CLI's
``--trust_model``) skips the check for a model the user trusts. ``tests/trainer_module/export/
test_trust.py`` checks that every project export passes and that file, process and Python ops
are refused.
"""
from __future__ import annotations

import os

# What the project's exports and the dataset's networks use (collected from them; see the test).
ALLOWED = frozenset("""
Abs Add AddN AddV2 All Any ArgMax ArgMin AssignSubVariableOp AssignVariableOp AvgPool
BatchMatMulV2 BatchNormWithGlobalNormalization BiasAdd BiasAddGrad Bitcast BroadcastGradientArgs
BroadcastTo Cast Ceil ClipByValue ComplexAbs Concat ConcatOffset ConcatV2 Const Conv2D Cos
CudnnRNN CudnnRNNBackprop CudnnRNNBackpropV3 CudnnRNNV3 DecodeJpeg DecodePaddedRaw Dequantize
DisableCopyOnRead Einsum Elu EmptyTensorList EnsureShape Enter Equal Erf Exit Exp ExpandDims Fill
Floor FloorDiv FloorMod FusedBatchNormV3 GatherNd GatherV2 Greater GreaterEqual Identity IdentityN
If InvertPermutation IsFinite L2Loss LeakyRelu Less LessEqual Log Log1p LogicalAnd LogicalNot
LogicalOr LoopCond MatMul Max MaxPool Maximum Mean Merge Min Minimum Mul Neg NextIteration NoOp
NotEqual OneHot OptionalFromValue OptionalGetValue OptionalNone Pack Pad PadV2 ParseExampleV2
ParseSequenceExampleV2 PartitionedCall Placeholder PlaceholderWithDefault Pow Prod RFFT
RaggedRange RaggedTensorToTensor RandomUniform Range ReadVariableOp RealDiv Reciprocal Relu Relu6
Reshape ResizeBilinear Round Rsqrt Select SelectV2 Selu Shape Sigmoid SigmoidGrad Sign Sin Size
Slice Softmax Softplus SparseToDense Split SplitV Sqrt Square SquaredDifference Squeeze
StatefulPartitionedCall StatelessIf StatelessWhile StaticRegexFullMatch StopGradient StridedSlice
StridedSliceGrad StringJoin StringLength StringToNumber Sub Sum Switch Tanh TanhGrad
TensorListElementShape TensorListFromTensor TensorListGetItem TensorListLength TensorListPopBack
TensorListPushBack TensorListReserve TensorListSetItem TensorListStack Tile TopKV2 Transpose
Unpack UnsortedSegmentMax ScatterNd VarHandleOp VarIsInitializedOp VariableV2 Assign IsVariableInitialized Where
ZerosLike
""".split())
# Read and write checkpoint files: only where the SavedModel's saver calls them.
SAVER_OPS = frozenset({"SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename"})


class UntrustedModel(ValueError):
    """A model holds an op outside the allowlist (names the file, the op and the flag)."""


def _called(node) -> set[str]:
    """Names of the library functions a node calls (its op, or function-valued attributes)."""
    out = {node.op}
    for value in node.attr.values():
        if value.HasField("func"):
            out.add(value.func.name)
        out |= {f.name for f in value.list.func}
    return out


def _closure(start, neighbours) -> set[str]:
    """Every name reachable from ``start`` through ``neighbours(name)``."""
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(neighbours(name))
    return seen


def _reachable(start: set[str], library: dict) -> set[str]:
    """The library functions reachable from the function names in ``start``."""
    return _closure((n for n in start if n in library), lambda name: [
        n for node in library[name].node_def for n in _called(node) if n in library])


def _inputs_closure(graph_def, names: frozenset) -> set[str]:
    """``names`` and every graph node they read from, transitively (TF1 savers are graph
    nodes: ``save/restore_all`` reads ``save/RestoreV2``)."""
    by_name = {n.name: n for n in graph_def.node}
    return _closure((n for n in names if n in by_name), lambda name: [
        i for i in (x.lstrip("^").split(":")[0] for x in by_name[name].input) if i in by_name])


def graph_ops(graph_def, saver_nodes: frozenset = frozenset()) -> tuple[set[str], set[str]]:
    """(ops the model's own nodes and functions reach, ops only its saver reaches)."""
    library = {f.signature.name: f for f in graph_def.library.function}
    saver_nodes = frozenset(_inputs_closure(graph_def, saver_nodes))
    own_nodes = [n for n in graph_def.node if n.name not in saver_nodes]
    saver_start = set().union(*(_called(n) for n in graph_def.node if n.name in saver_nodes))
    own = _reachable(set().union(*(_called(n) for n in own_nodes)), library)
    saver_only = _reachable(saver_start, library) - own
    ops = lambda functions, nodes: ({n.op for n in nodes} | {  # noqa: E731
        n.op for f in functions for n in library[f].node_def}) - set(library)
    return ops(own, own_nodes), ops(saver_only, [n for n in graph_def.node if n.name in saver_nodes])


def _refuse(bad: set[str], path: str, flag: str) -> None:
    if bad:
        first = sorted(bad)[0]
        raise UntrustedModel(
            f"`{flag}`: {path} holds the op {first}" + (f" (and {len(bad) - 1} more outside the "
                                                        "allowlist)" if len(bad) > 1 else "")
            + "; a model is a program and this one can reach what the project's models never "
            "do (files, processes, Python): refused. If you trust it, set `trust_model`")


def check_graph_def(graph_def, path: str, flag: str) -> None:
    """Raises UntrustedModel when a frozen GraphDef holds an op outside ALLOWED."""
    own, _ = graph_ops(graph_def)
    _refuse(own - ALLOWED, path, flag)


def check_saved_model(saved_model_dir: str, flag: str) -> None:
    """Raises UntrustedModel when a SavedModel's own graph or functions hold an op outside
    ALLOWED, or its saver's functions one outside ALLOWED and SAVER_OPS; a missing or unreadable
    ``saved_model.pb`` is left to the loader's own error."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(saved_model_dir, "saved_model.pb")
    saved = saved_model_pb2.SavedModel()
    try:
        with open(path, "rb") as f:
            saved.ParseFromString(f.read())
    except (OSError, ValueError):
        return
    except Exception:  # noqa: BLE001 (protobuf's DecodeError): the loader says what is wrong
        return
    for meta in saved.meta_graphs:
        saver = meta.saver_def
        nodes = frozenset(n.split(":")[0] for n in (saver.save_tensor_name,
                                                     saver.restore_op_name) if n)
        own, saver_only = graph_ops(meta.graph_def, nodes)
        _refuse((own - ALLOWED) | (saver_only - ALLOWED - SAVER_OPS), saved_model_dir, flag)
