"""The official TensorFlow networks' class as the fixture scripts pickle it,
without TensorFlow: a module named like the official one (PGGAN's tfutil,
NVlabs/stylegan's dnnlib.tflib.network) holding a Network class whose
instances pickle as <module>.Network with a given state, as the official
Network's __getstate__ writes it. Standard library only."""
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
