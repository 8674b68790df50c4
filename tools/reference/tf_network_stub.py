"""The official TensorFlow networks' class as the fixture scripts pickle it,
without TensorFlow: a module named like the official one (PGGAN's tfutil,
NVlabs/stylegan's dnnlib.tflib.network) holding a Network class whose
instances pickle as <module>.Network with a given state, as the official
Network's __getstate__ writes it. Standard library only."""
import contextlib
import sys
import types


def network_module(name):
    """A module `name` with such a Network class (Network(state))."""
    mod = types.ModuleType(name)

    class Network:
        def __init__(self, state):
            self._state = state

        def __getstate__(self):
            return self._state

    Network.__module__, Network.__qualname__ = name, "Network"
    mod.Network = Network
    return mod


@contextlib.contextmanager
def installed(name):
    """network_module(name) in sys.modules while pickling (pickle looks the
    class up by its module's name; a dotted name's parents as empty modules
    where absent), each name as before afterwards. Yields the module."""
    parts = name.split(".")
    names = [".".join(parts[:i + 1]) for i in range(len(parts))]
    saved = {k: sys.modules.get(k) for k in names}
    mod = network_module(name)
    for k in names[:-1]:
        sys.modules[k] = sys.modules.get(k) or types.ModuleType(k)
    sys.modules[name] = mod
    try:
        yield mod
    finally:
        for k, v in saved.items():
            if v is None:
                del sys.modules[k]
            else:
                sys.modules[k] = v
