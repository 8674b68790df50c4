"""The converter behind tools/convert_weights.py (the program: its command line,
its help and main), one job a module: the restricted unpickler, torch files,
each official format's reader, config inference and checks, .bin files, import
and export. Nothing is imported here: tools/convert_weights.py checks its
command line (--help, bad values, the output's folder) with the standard-library
modules (files, limits) before NumPy and PyTorch load with the rest."""
