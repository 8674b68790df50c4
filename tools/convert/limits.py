"""Limits the converter shares with the C++ programs, needed before NumPy and
PyTorch load (the command line's argument checks use them too)."""


# models/config_json.h kMaxNetworkSize: json_size() refuses a whole number of
# larger magnitude (and json_int one beyond int32), so the converter does too.
MAX_NETWORK_SIZE = 1 << 24
