"""Any traceable PyTorch model in the lab's layout, read from its `torch.fx` graph.

Conversion needs to know, for every activation, which weights feed it and whether a residual
addition comes first. `named_children()` cannot see `F.relu(x)` or `x + y` in a `forward`; the
graph that `torch.fx` records by running `forward` on a symbolic input can. `layout(model)`
reads that graph and rebuilds the same computation in the lab's layout, the one every converter
step understands:

    nn.Sequential of   Linear, Conv2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout, Identity,
                       BatchNorm (right after the Linear / Conv2d it folds into),
                       an activation module per call site (ReLU, ClippedReLU, QCFS),
                       ResidualBlock(branch, shortcut, activation)   for  h(f(x) + g(x))

What is read as what:

    F.relu, torch.relu, x.relu(), nn.ReLU(inplace=True)     → nn.ReLU() (one per call site)
    the lab's QCFS / ClippedReLU / ResidualNoise              → the module itself
    x + y, torch.add(x, y), x += y  (then an activation)      → ResidualBlock
    torch.flatten(x, 1), x.flatten(1), x.view(x.size(0), -1) → nn.Flatten()
    F.avg_pool2d, F.adaptive_avg_pool2d                       → nn.AvgPool2d, AdaptiveAvgPool2d
    F.dropout (identity at inference)                         → nothing

Everything else is refused before any work (`NotConvertible`, a TypeError), naming the node and
the way out: max pooling (the max of spikes is not the max of firing rates), an activation the
IF neuron cannot represent (gelu, tanh, ...), a tensor read straight from a parameter, a split
that is not joined by an addition, and `forward`s that fx cannot trace (data-dependent control
flow: the error names the line). The layout computes exactly what the model computes (the same
modules, the same operations), so it is also the ANN that calibration and diagnosis measure
(docs/methods.md §8; docs/own-network.md).

Example:
    >>> import torch.nn.functional as F
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1, self.fc2, self.out = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         h = F.relu(self.fc1(x))
    ...         return self.out(F.relu(h + self.fc2(h)))
    >>> lay = layout(Net())
    >>> [type(m).__name__ for m in lay.ann], lay.names
    (['Linear', 'ReLU', 'ResidualBlock', 'Linear'], ['relu', 'relu_1'])
"""

from __future__ import annotations

import copy
import operator
import traceback
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..core.resnet import ResidualBlock
from .activations import QCFS, ClippedReLU

ACTIVATIONS = (nn.ReLU, ClippedReLU, QCFS)  # ResidualNoise is a QCFS
WEIGHTS = (nn.Linear, nn.Conv2d)
LAYERS = (nn.Linear, nn.Conv2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Dropout,
          nn.Identity)
NORMS = {nn.BatchNorm1d: nn.Linear, nn.BatchNorm2d: nn.Conv2d}  # the layer each folds into
MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d,
             nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)

_RELU_FUNCTIONS = {F.relu, torch.relu, torch.relu_, F.relu_}
_ADD_FUNCTIONS = {operator.add, operator.iadd, torch.add}
_DROPOUT_FUNCTIONS = {F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                      torch.dropout}
_MAX_POOL_NAMES = {"max_pool1d", "max_pool2d", "max_pool3d", "adaptive_max_pool1d",
                   "adaptive_max_pool2d", "adaptive_max_pool3d", "_max_pool1d", "_max_pool2d",
                   "_max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
                   "fn", "max", "amax"}
_OTHER_ACTIVATIONS = {"gelu", "silu", "elu", "selu", "celu", "leaky_relu", "hardtanh", "relu6",
                      "softplus", "sigmoid", "tanh", "softmax", "log_softmax", "mish",
                      "hardswish", "hardsigmoid", "prelu", "rrelu", "logsigmoid", "softsign",
                      "tanhshrink", "glu", "threshold", "hardshrink", "softshrink", "exp"}
_SHAPE_METHODS = {"size", "dim"}
_RESHAPES = {"view", "reshape"}
_PASS_METHODS = {"contiguous", "clone"}

LAYER_HELP = ("the converter reads Linear, Conv2d, BatchNorm right after them, ReLU (module or "
              "F.relu / torch.relu), the lab's QCFS / ClippedReLU, x + y followed by an "
              "activation, flatten, average pooling and dropout")


class NotConvertible(TypeError):
    """A model the converter refuses; the message names the node and the way out."""


@dataclass
class Layout:
    """The model in the lab's layout and, per activation (one IF layer each), its name.

    `ann` computes what the model computes; `activations[i]` is the module of IF layer i in
    `ann` (in `ann.modules()` order), `names[i]` where it came from: the module's qualified
    name (`layer1.0.relu`) or the fx node of a function call (`relu_1`).
    """

    ann: nn.Sequential
    activations: list[nn.Module]
    names: list[str]


class _Tracer(fx.Tracer):
    """fx's tracer with the lab's activations as leaves (their `floor` has its own gradient)."""

    def __init__(self) -> None:
        super().__init__()
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if isinstance(m, ACTIVATIONS) or getattr(m, "is_activation", False):
            return True
        return super().is_leaf_module(m, qualname)


def trace(model: nn.Module) -> fx.GraphModule:
    """The fx graph of `model.forward`; NotConvertible naming the line fx could not trace."""
    if not isinstance(model, nn.Module):
        raise NotConvertible(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as err:  # fx raises TraceError, TypeError, ... from inside forward
        where = _user_line(err)
        raise NotConvertible(
            f"{type(model).__name__}.forward cannot be traced by torch.fx{where}: {err}. "
            "Data-dependent control flow (an if or a loop on a tensor's values) has no single "
            "graph to convert: move it out of forward, or convert the parts before and after "
            "it separately") from err
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def layout(model: nn.Module) -> Layout:
    """`model` rebuilt in the lab's layout (the module's text); NotConvertible before any work.

    BatchNorm stays (eval-mode statistics are folded by `convert`), after being checked to
    follow the layer it folds into. The layout shares the model's modules (a reused activation
    module gets a copy per further call site: each call site is its own IF layer) and starts
    in the model's train/eval mode.
    """
    gm = trace(model)
    reader = _Reader(gm)
    ann = nn.Sequential(*reader.chain(reader.input, reader.output))
    ann.training = model.training  # the container's flag only: the shared modules keep theirs
    return Layout(ann, reader.activations, reader.names)


class _Reader:
    """Walks the graph from its input to its output, building the layout's modules."""

    def __init__(self, gm: fx.GraphModule) -> None:
        self.modules = dict(gm.named_modules())
        nodes = list(gm.graph.nodes)
        self.order = {n: i for i, n in enumerate(nodes)}
        inputs = [n for n in nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise NotConvertible(f"forward must take one tensor (the image or sample batch), "
                                 f"it takes {len(inputs)}: {[n.name for n in inputs]}")
        self.input, self.output = inputs[0], nodes[-1]
        if len(self.output.args) != 1 or not isinstance(self.output.args[0], fx.Node):
            raise NotConvertible("forward must return one tensor (the logits), not "
                                 f"{type(self.output.args[0]).__name__}")
        _follow_in_place(nodes, self.modules)
        live = self._ancestors(self.output) | {self.output}  # what the output depends on
        # refuses unknown nodes, in graph order; a value nothing uses is not read at all
        self.kinds = {n: self._kind(n) if n in live else "dead" for n in nodes}
        self.activations: list[nn.Module] = []
        self.names: list[str] = []
        self._seen: set[int] = set()
        self._calls: dict[int, int] = {}

    # --- what each node is --------------------------------------------------------------

    def _kind(self, node: fx.Node) -> str:
        """'input', 'output', 'shape', 'skip', 'layer', 'norm', 'activation', 'flatten',
        'pool' or 'add'; anything else is refused by name."""
        if node.op in ("placeholder", "output"):
            return node.op
        if node.op == "get_attr":
            raise NotConvertible(f"{_where(node)} reads the tensor {node.target!r} directly in "
                                 "forward: hold weights in nn.Linear / nn.Conv2d modules, "
                                 "which the converter carries into the SNN")
        if node.op == "call_module":
            return self._module_kind(node, self.modules[node.target])
        name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
        target = node.target
        if node.op == "call_method":
            if name in _SHAPE_METHODS:
                return "shape"
            if name in ("relu", "relu_"):
                return "activation"
            if name in ("add", "add_", "__add__", "__iadd__"):
                return self._check_add(node)
            if name == "flatten" or name in _RESHAPES:
                return self._check_flatten(node)
            if name in _PASS_METHODS:
                return "skip"
        elif target is getattr:
            if node.args[1] == "shape":
                return "shape"
        elif target is operator.getitem and self._is_shape(node.args[0]):
            return "shape"
        elif target in _RELU_FUNCTIONS:
            return "activation"
        elif target in _ADD_FUNCTIONS:
            return self._check_add(node)
        elif target is torch.flatten:
            return self._check_flatten(node)
        elif target in (F.avg_pool2d, F.adaptive_avg_pool2d):
            if any(isinstance(a, fx.Node) for a in (*node.args[1:], *node.kwargs.values())):
                raise NotConvertible(f"{_where(node)} cannot be converted: its size is computed "
                                     "from the tensor in forward; give it as a number, or use "
                                     "F.adaptive_avg_pool2d(x, 1) for a global average")
            return "pool"
        elif target in _DROPOUT_FUNCTIONS:
            return "skip"
        if name in _MAX_POOL_NAMES or "max_pool" in name:
            raise NotConvertible(f"{_where(node)} cannot be converted: the max of spikes is not "
                                 "the max of firing rates; use average pooling (nn.AvgPool2d, "
                                 "F.avg_pool2d) and retrain")
        if name.rstrip("_") in _OTHER_ACTIVATIONS:
            raise NotConvertible(f"{_where(node)} is an activation the converter does not know: "
                                 "an IF neuron's rate is a clipped ReLU; train with ReLU "
                                 "(nn.ReLU, F.relu) or the lab's QCFS / ClippedReLU instead")
        raise NotConvertible(f"{_where(node)} cannot be converted: {LAYER_HELP}; write the "
                             "model with those, or convert the rest by hand")

    def _module_kind(self, node: fx.Node, module: nn.Module) -> str:
        where = f"layer {node.target} ({type(module).__name__})"
        if isinstance(module, ACTIVATIONS):
            return "activation"
        if isinstance(module, tuple(NORMS)):
            if not module.track_running_stats or module.running_var is None:
                raise NotConvertible(f"{where} cannot be folded: without running statistics its "
                                     "output depends on the batch")
            return "norm"
        if isinstance(module, LAYERS):
            return "layer"
        if isinstance(module, MAX_POOLS):
            raise NotConvertible(f"{where} cannot be converted: the max of spikes is not the max "
                                 "of firing rates; use AvgPool2d and retrain")
        if type(module).__module__.startswith("torch.nn.modules.activation"):
            raise NotConvertible(f"{where} is an activation the converter does not know: an IF "
                                 "neuron's rate is a clipped ReLU; train with nn.ReLU or the "
                                 "lab's QCFS / ClippedReLU instead")
        raise NotConvertible(f"{where} cannot be converted: {LAYER_HELP}")

    def _is_shape(self, node: object) -> bool:
        return isinstance(node, fx.Node) and (
            (node.op == "call_method" and node.target in _SHAPE_METHODS)
            or (node.op == "call_function" and node.target is getattr
                and node.args[1] == "shape"))

    def _check_add(self, node: fx.Node) -> str:
        tensors = [a for a in node.args if isinstance(a, fx.Node)]
        if len(node.args) != 2 or len(tensors) != 2 or node.kwargs:
            raise NotConvertible(f"{_where(node)} cannot be converted: only the sum of two "
                                 "tensors computed from the input (x + y, torch.add(x, y)) is a "
                                 "residual addition; a constant or a scaled addend is not")
        return "add"

    def _check_flatten(self, node: fx.Node) -> str:
        """flatten(x, 1) / x.flatten(1) / x.view(x.size(0), -1): one sample's features."""
        args = list(node.args[1:])
        if node.target in _RESHAPES:
            dims = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            batch = dims[0] if dims else None
            if (len(dims) == 2 and dims[1] == -1 and isinstance(batch, fx.Node)
                    and batch.target is operator.getitem and batch.args[1] == 0
                    or len(dims) == 2 and dims[1] == -1 and isinstance(batch, fx.Node)
                    and batch.op == "call_method" and batch.args[1:] == (0,)):
                return "flatten"
            raise NotConvertible(f"{_where(node)} cannot be converted: a reshape is read only "
                                 "as flattening each sample (x.view(x.size(0), -1)); write "
                                 "torch.flatten(x, 1)")
        start = node.kwargs.get("start_dim", args[0] if args else 0)
        end = node.kwargs.get("end_dim", args[1] if len(args) > 1 else -1)
        if start != 1 or end != -1:
            raise NotConvertible(f"{_where(node)} cannot be converted: flatten must keep the "
                                 "batch axis and flatten the rest: torch.flatten(x, 1)")
        return "flatten"

    # --- the walk -----------------------------------------------------------------------

    def users(self, node: fx.Node) -> list[fx.Node]:
        """Nodes that take `node`'s tensor (not its shape), in graph order."""
        return sorted((u for u in node.users if self.kinds[u] not in ("shape", "dead")),
                      key=self.order.get)

    def chain(self, start: fx.Node, stop: fx.Node, first: fx.Node | None = None
              ) -> list[nn.Module]:
        """Modules from `start` (exclusive) to `stop` (exclusive), through `first` if given."""
        layers: list[nn.Module] = []
        current, previous_layer = start, None
        while True:
            users = [first] if first is not None else self.users(current)
            first = None
            if users == [stop] or (stop.op == "output" and users == []):
                return layers
            if len(users) == 1:
                node = users[0]
                if self.kinds[node] == "add":
                    raise NotConvertible(f"{_where(node)} cannot be converted: its two addends "
                                         "do not come from one split of a tensor")
                if self.kinds[node] == "output" or node is stop:
                    return layers
                module = self._module(node, current, previous_layer)
                if module is not None:
                    layers.append(module)
                previous_layer = node if self.kinds[node] != "skip" else previous_layer
                current = node
                continue
            if len(users) == 2:
                block, current = self._residual(current, users)
                layers.append(block)
                previous_layer = current
                continue
            raise NotConvertible(f"{_where(current)} feeds {len(users)} paths "
                                 f"({', '.join(u.name for u in users)}): the converter reads "
                                 "one split into two paths joined by an addition (a residual "
                                 "block)")

    def _module(self, node: fx.Node, current: fx.Node, previous: fx.Node | None
                ) -> nn.Module | None:
        kind = self.kinds[node]
        if kind == "skip":
            return None
        if kind == "flatten":
            return nn.Flatten()
        if kind == "pool":
            args, kwargs = node.args[1:], dict(node.kwargs)
            if node.target is F.adaptive_avg_pool2d:
                return nn.AdaptiveAvgPool2d(*args, **kwargs)
            return nn.AvgPool2d(*args, **kwargs)
        if kind == "activation":
            return self._activation(node)
        module = self.modules[node.target]
        if kind == "norm":
            wanted = NORMS[type(module)]
            before = self.modules.get(previous.target) if previous is not None and \
                previous.op == "call_module" and previous is current else None
            if not isinstance(before, wanted):
                name = type(before).__name__ if before is not None else (
                    _label(current) if current.op != "placeholder" else "nothing")
                raise NotConvertible(f"layer {node.target} ({type(module).__name__}) cannot be "
                                     f"folded: it must directly follow a {wanted.__name__}, not "
                                     f"{name}")
        return module

    def _activation(self, node: fx.Node) -> nn.Module:
        """The module of this call site (one IF layer): the model's, a copy, or a new ReLU."""
        if node.op == "call_module":
            module = self.modules[node.target]
            calls = self._calls[id(module)] = self._calls.get(id(module), 0) + 1
            name = str(node.target) if calls == 1 else f"{node.target}#{calls}"
            if str(node.target).rsplit(".", 1)[-1].isdigit():  # a Sequential's: say what it is
                name = f"{name} ({type(module).__name__})"
            if isinstance(module, nn.ReLU) and module.inplace:
                module = nn.ReLU()  # in place would overwrite what the recording hooks keep
            elif id(module) in self._seen:
                module = nn.ReLU() if isinstance(module, nn.ReLU) else copy.deepcopy(module)
            self._seen.add(id(self.modules[node.target]))
        else:
            module, name = nn.ReLU(), node.name
        self.activations.append(module)
        self.names.append(name)
        return module

    def _residual(self, fork: fx.Node, users: list[fx.Node]) -> tuple[ResidualBlock, fx.Node]:
        """The block from `fork` (two paths, one addition, one activation) and its last node."""
        join = self._join(fork)
        if self.kinds[join] != "add":
            raise NotConvertible(f"{_where(join)} joins the two paths from {fork.name}: the "
                                 "converter reads only an addition there (a residual block)")
        left, right = join.args[0], join.args[1]
        if left is fork:
            left, right = right, left
        paths, marks = [], [len(self.activations)]
        for end in (left, right):
            if end is fork:
                paths.append(nn.Sequential())
            else:
                start = next(u for u in users if u is end or self._reaches(u, end))
                paths.append(nn.Sequential(*self.chain(fork, join, first=start)))
            marks.append(len(self.activations))
        if len(paths[1]) > len(paths[0]):  # the longer path is the branch, as He et al. draw it
            paths.reverse()
            a, m, b = marks  # the IF layers in the order of the block's modules: branch first
            for found in (self.activations, self.names):
                found[a:b] = found[m:b] + found[a:m]
        after = self.users(join)
        activation = after[0] if len(after) == 1 else None
        if activation is None or self.kinds[activation] != "activation":
            label = _label(activation) if activation is not None else "the output"
            raise NotConvertible(
                f"{label} cannot be converted: a residual block must end in an activation after "
                f"the addition {join.name} (h(f(x) + g(x)), as in He et al.'s ResNet), so that "
                "one IF neuron integrates both currents")
        return ResidualBlock(paths[0], paths[1], self._activation(activation)), activation

    def _reaches(self, a: fx.Node, b: fx.Node) -> bool:
        return a is b or any(self._reaches(u, b) for u in a.users
                             if self.order[u] <= self.order[b])

    def _join(self, fork: fx.Node) -> fx.Node:
        """The first node every path from `fork` passes through (its immediate post-dominator)."""
        after = [n for n in self.order if self.order[n] > self.order[fork]]
        below = {fork}
        for n in after:
            if any(a in below for a in n.all_input_nodes) and \
                    self.kinds[n] not in ("shape", "dead"):
                below.add(n)
        for j in after:
            if j not in below:
                continue
            ancestors = self._ancestors(j) & below
            earlier = [n for n in below if self.order[n] < self.order[j]]
            if all(n in ancestors and all(u is j or u in ancestors
                                          or self.kinds[u] in ("shape", "dead")
                                          for u in n.users) for n in earlier):
                return j
        return self.output

    def _ancestors(self, node: fx.Node) -> set[fx.Node]:
        seen, todo = set(), list(node.all_input_nodes)
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(n.all_input_nodes)
        return seen


def _in_place(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    """An operation that overwrites its first argument: `x.relu_()`, `F.relu(x, inplace=True)`,
    `nn.ReLU(inplace=True)`, `x += y`, `x.add_(y)`."""
    if node.op == "call_module":
        return bool(getattr(modules.get(node.target), "inplace", False))
    if node.op == "call_method":
        return str(node.target).endswith("_") and not str(node.target).startswith("_")
    return node.op == "call_function" and (
        node.kwargs.get("inplace") is True or node.target in (torch.relu_, F.relu_, operator.iadd))


def _follow_in_place(nodes: list[fx.Node], modules: dict[str, nn.Module]) -> None:
    """After an in-place operation on x, every later use of x reads its result: fx records
    `x.relu_()` as a node whose value the code may never use again, while the code goes on
    reading x (the same, overwritten tensor)."""
    order = {n: i for i, n in enumerate(nodes)}
    for node in nodes:
        if node.args and isinstance(node.args[0], fx.Node) and _in_place(node, modules):
            target = node.args[0]
            for user in list(target.users):
                if order[user] > order[node]:
                    user.replace_input_with(target, node)


def _label(node: fx.Node) -> str:
    if node.op == "call_module":
        module = node.graph.owning_module.get_submodule(node.target)
        return f"layer {node.target} ({type(module).__name__})"
    return _where(node)


def _where(node: fx.Node) -> str:
    """`node relu_1 (F.relu, net.py:12: x = F.relu(x))`: the node, its call and its line."""
    if node.op == "call_module":
        return _label(node)
    call = node.target if isinstance(node.target, str) else getattr(
        node.target, "__name__", str(node.target))
    if node.op == "call_method":
        call = f".{call}()"
    return f"node {node.name} ({call}{_source(node.stack_trace)})"


def _source(stack: str | None) -> str:
    """', file.py:12: code' from an fx stack trace (its first frame is the user's line)."""
    if not stack:
        return ""
    lines = stack.strip().splitlines()
    for i, line in enumerate(lines):
        line = line.strip()
        if line.startswith("File ") and "/torch/" not in line:
            parts = line.split('"')
            path, lineno = parts[1], line.split("line ")[-1].split(",")[0]
            code = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return f", {path.rsplit('/', 1)[-1]}:{lineno}: {code}"
    return ""


def _user_line(err: BaseException) -> str:
    """' at file.py:12 (code)': the last frame of the traceback outside torch."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if "/torch/" not in f.filename and not f.filename.endswith("graph.py")]
    if not frames:
        return ""
    f = frames[-1]
    return f" at {f.filename.rsplit('/', 1)[-1]}:{f.lineno} ({(f.line or '').strip()})"
