"""What the tools/convert_weights.py tests share (test_convert_weights_*.py, test_convert_checks.py, ...): small
networks, the converter run, the official pickle layout's stand-ins, storage blobs, the rosinality layout and the
tests' base case. Exits 77 when torch or NumPy is missing; puts tools/ and its reference/ and fixtures/ on sys.path."""
import collections
import contextlib
import copy
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import types
import unittest
import warnings

try:
    import numpy as np
    import torch
except ImportError:
    print("SKIP: torch or numpy is not importable")
    sys.exit(77)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
sys.path.insert(0, TOOLS)
sys.path[:0] = [os.path.join(TOOLS, "reference"), os.path.join(TOOLS, "fixtures")]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_weights as cw  # noqa: E402
import stylegan2_reference as ref  # noqa: E402

SCRIPT = os.path.join(TOOLS, "convert_weights.py")

G_CFG = dict(z_dim=8, c_dim=3, w_dim=8, img_resolution=16, img_channels=3, mapping_layers=2,
             mapping_lr_multiplier=0.01, w_avg_beta=0.995, channel_base=64, channel_max=8, conv_clamp=256.0,
             use_noise=True)
D_CFG = dict(c_dim=3, img_resolution=16, img_channels=3, architecture="resnet", channel_base=64, channel_max=8,
             conv_clamp=256.0, mbstd_group_size=2, mbstd_num_channels=1, cmap_dim=8, mapping_layers=2,
             freeze_layers=0)
# StyleGAN2-ADA's --cfg cifar discriminator: no skip layers, the convs at gain 1.
D_ORIG_CFG = dict(D_CFG, architecture="orig")


def make_nets(seed=0, g_cfg=G_CFG, d_cfg=D_CFG):
    torch.manual_seed(seed)
    nets = {"G": ref.Generator(**g_cfg), "D": ref.Discriminator(**d_cfg)}
    nets["G_ema"] = copy.deepcopy(nets["G"])
    with torch.no_grad():
        for net in nets.values():
            for name, t in net.state_dict().items():
                if not name.endswith("resample_filter"):
                    t.add_(0.2 * torch.randn(t.shape))
    return nets


def outputs(nets, seed=1):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn([4, nets["G_ema"].mapping.z_dim], generator=gen)
    c_dim = nets["G_ema"].mapping.c_dim
    c = torch.eye(c_dim)[torch.randint(c_dim, [4], generator=gen)] if c_dim else None
    with torch.no_grad():
        img = nets["G_ema"](z, c, 0.7, None, "const")
        return img, nets["D"](img, c)


def nets_from_bin(path):
    tensors, meta = cw.read_bin(path)
    nets = {}
    for key in ("G", "D", "G_ema"):
        state = {n[len(key) + 1:]: t for n, t in tensors.items() if n.startswith(key + ".")}
        if not state:
            continue
        kwargs = json.loads(meta["D_kwargs" if key == "D" else "G_kwargs"])
        net = ref.Discriminator(**kwargs) if key == "D" else ref.Generator(**kwargs)
        net.load_state_dict(state)
        nets[key] = net
    return nets, meta


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def assert_one_error_line(test, result, *needles, notes=False):
    """The converter's refusal: exit 1 and one 'convert_weights: error:' line
    holding every needle (with notes, its 'note:' lines are passed over)."""
    test.assertEqual(result.returncode, 1, result.stderr)
    lines = [l for l in result.stderr.strip().splitlines() if not (notes and l.startswith("convert_weights: note:"))]
    test.assertEqual(len(lines), 1, result.stderr)
    test.assertTrue(lines[0].startswith("convert_weights: error: "), lines[0])
    for n in needles:
        test.assertIn(n, lines[0])


class TempDirTest(unittest.TestCase):
    """A case with a temporary folder of its own (self.dir, removed after
    each test); path(name) names a file in it. The converter tests' base."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)


def run_here(*args):
    """run() in this process, without an interpreter and torch start-up per
    call: cw.main() is what the script's entry runs after parsing (it turns
    every error into the one line and exit 1), so the result is the same.
    Flag errors (SystemExit from parse_args) give their exit code, and warnings
    are shown as a fresh process shows them (an extra stderr line fails the
    one-line checks here as it would there). The refusal tests' pickles can at
    most touch the sentinel file if they ever ran, visible as in a child.
    GF_CROSSCHECK_CONVERT=1 runs the script too and asserts the same exit
    status, stderr and stdout."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.resetwarnings()  # as python3 SCRIPT: the interpreter's defaults, the converter as __main__
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="convert_weights")
        try:
            rc = cw.main(list(args))
        except SystemExit as e:
            rc = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
    here = types.SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())
    if os.environ.get("GF_CROSSCHECK_CONVERT"):  # also run the script, and expect the same (slow: the old way)
        there = run(*args)
        assert (there.returncode, there.stderr, there.stdout) == (here.returncode, here.stderr, here.stdout), \
            (args, there, here)
    return here


# ---- a stand-in for the official pickle layout: torch_utils.persistence wraps
# every network module, whose reduce calls _reconstruct_persistent_obj(meta) with
# the module source, class name and the module's __dict__ as state.

def _reconstruct_persistent_obj(meta):  # never called: the converter must use its own
    raise AssertionError("the test's persistence function ran")


class EasyDict(dict):
    pass


def _register(module, name, obj):
    package = module.split(".")[0]
    setattr(sys.modules.setdefault(package, types.ModuleType(package)), module.split(".")[1],
            sys.modules.setdefault(module, types.ModuleType(module)))
    mod = sys.modules[module]
    setattr(mod, name, obj)
    obj.__module__, obj.__qualname__ = module, name


def _register_standins():
    # Again before each pickle is written: a module of the same name may stand
    # in sys.modules by then (pickle.dump checks the name leads to the object).
    _register("torch_utils.persistence", "_reconstruct_persistent_obj", _reconstruct_persistent_obj)
    _register("dnnlib.util", "EasyDict", EasyDict)


_register_standins()

SENTINEL_SRC = "import os\nopen(os.environ.get('GF_SENTINEL', '/dev/null'), 'w').write('ran')\n"


class Persistent:
    def __init__(self, class_name, state):
        self.class_name, self.state = class_name, state

    def __reduce__(self):
        meta = dict(type="class", version=4, module_src=SENTINEL_SRC, class_name=self.class_name, state=self.state)
        return _reconstruct_persistent_obj, (meta,)


def persistent(module, mbstd=None):
    """The module tree as official pickles hold it, with the attributes the
    official classes record (numpy scalars, architecture, w_avg_beta, mbstd)."""
    state = dict(module.__dict__)
    state["_modules"] = collections.OrderedDict((n, persistent(m)) for n, m in module._modules.items())
    state["act_gain"] = np.float64(np.sqrt(2))
    state["_init_kwargs"] = EasyDict(resample_filter=[1, 3, 3, 1])
    name = type(module).__name__
    if name in ("SynthesisBlock", "DiscriminatorBlock"):
        state["architecture"] = "skip" if name == "SynthesisBlock" else module.architecture
    if name == "MappingNetwork":
        state["w_avg_beta"] = np.float64(0.995) if module.num_ws is not None else None
    if name == "Discriminator":  # recorded by its blocks and epilogue, as the official classes do
        state["_modules"]["b4"].state["architecture"] = state.pop("architecture")
    if name == "DiscriminatorEpilogue":
        state["_modules"]["mbstd"] = Persistent("MinibatchStdLayer", dict(
            _parameters=collections.OrderedDict(), _buffers=collections.OrderedDict(),
            _modules=collections.OrderedDict(), group_size=module.mbstd_group_size,
            num_channels=module.mbstd_num_channels))
    return Persistent(name, state)


def official_pickle(nets, path, edit=None):
    """nets as an official pickle at path; edit(data) may change it first."""
    _register_standins()
    data = {k: persistent(v) for k, v in nets.items()}
    data["augment_pipe"] = Persistent("AugmentPipe", dict(
        _parameters=collections.OrderedDict(), _buffers=collections.OrderedDict(p=torch.zeros([])),
        _modules=collections.OrderedDict(), xflip=np.float64(1.0)))
    data["training_set_kwargs"] = EasyDict(path="ffhq.zip", resolution=16)
    if edit:
        edit(data)
    with open(path, "wb") as f:
        pickle.dump(data, f)


# ---- storage blobs: inside an official pickle each tensor's storage is
# torch.storage._load_from_bytes(b), b a legacy torch.save stream of the storage.

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
SYS_INFO = dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4))


def legacy_blob(main_pickle, keys=(), raw=b""):
    head = b"".join(pickle.dumps(x, protocol=2) for x in (LEGACY_MAGIC, 1001, SYS_INFO))
    return head + main_pickle + pickle.dumps(list(keys), protocol=2) + raw


class ConvertWeightsCase(TempDirTest):
    """The converter tests' base: GF_SENTINEL names a file in the test's folder, which a pickle's code would
    make if it ran; and the checks the tests share."""

    def setUp(self):
        super().setUp()
        self.sentinel = self.path("sentinel")
        os.environ["GF_SENTINEL"] = self.sentinel

    def assert_same_bundle(self, a, b):
        """The two .bin files hold the same metadata and bit-identical tensors."""
        ta, ma = cw.read_bin(a)
        tb, mb = cw.read_bin(b)
        self.assertEqual(ma, mb)
        self.assertEqual(sorted(ta), sorted(tb))
        for n in ta:
            self.assertTrue(torch.equal(ta[n], tb[n]), n)

    def assert_error(self, result, *needles):
        assert_one_error_line(self, result, *needles)

    def assert_nothing_written(self, out):
        self.assertFalse(os.path.exists(out))
        folder, name = os.path.split(out)
        self.assertEqual([f for f in os.listdir(folder or ".") if f.startswith(name + ".")], [])  # no temporary left

    def safetensors_file(self, path, header, body):
        raw = header if isinstance(header, bytes) else json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(raw)) + raw + body)


def to_rosinality_g(G):
    """Official names -> rosinality's Generator layout (the converter's inverse)."""
    s = G.state_dict()
    out = {}
    for i in range(G.mapping.num_layers):
        out[f"style.{i + 1}.weight"] = s[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = s[f"mapping.fc{i}.bias"]
    out["input.input"] = s["synthesis.b4.const"][None]

    def styled(dst, src, noise_idx):
        out[f"{dst}.conv.weight"] = s[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = s[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = s[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = s[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = s[f"{src}.bias"]
        out[f"noises.noise_{noise_idx}"] = s[f"{src}.noise_const"][None, None]

    def torgb(dst, src):
        out[f"{dst}.conv.weight"] = s[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = s[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = s[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = s[f"{src}.bias"].reshape(1, -1, 1, 1)

    styled("conv1", "synthesis.b4.conv1", 0)
    torgb("to_rgb1", "synthesis.b4.torgb")
    for k, res in enumerate(G.synthesis.resolutions[1:]):
        styled(f"convs.{2 * k}", f"synthesis.b{res}.conv0", 2 * k + 1)
        out[f"convs.{2 * k}.conv.blur.kernel"] = ref.setup_filter() * 4
        styled(f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", 2 * k + 2)
        torgb(f"to_rgbs.{k}", f"synthesis.b{res}.torgb")
        out[f"to_rgbs.{k}.upsample.kernel"] = ref.setup_filter() * 4
    return out


def to_rosinality_d(D):
    s = D.state_dict()
    top = D.resolutions[0]
    out = {"convs.0.0.weight": s[f"b{top}.fromrgb.weight"], "convs.0.1.bias": s[f"b{top}.fromrgb.bias"]}
    for j, res in enumerate(D.resolutions, start=1):
        out[f"convs.{j}.conv1.0.weight"] = s[f"b{res}.conv0.weight"]
        out[f"convs.{j}.conv1.1.bias"] = s[f"b{res}.conv0.bias"]
        out[f"convs.{j}.conv2.0.kernel"] = ref.setup_filter()
        out[f"convs.{j}.conv2.1.weight"] = s[f"b{res}.conv1.weight"]
        out[f"convs.{j}.conv2.2.bias"] = s[f"b{res}.conv1.bias"]
        out[f"convs.{j}.skip.0.kernel"] = ref.setup_filter()
        out[f"convs.{j}.skip.1.weight"] = s[f"b{res}.skip.weight"]
    out["final_conv.0.weight"] = s["b4.conv.weight"]
    out["final_conv.1.bias"] = s["b4.conv.bias"]
    for src, dst in (("b4.fc", "final_linear.0"), ("b4.out", "final_linear.1")):
        out[f"{dst}.weight"] = s[f"{src}.weight"]
        out[f"{dst}.bias"] = s[f"{src}.bias"]
    return out
