# The bad-input tests (tests/test_program_flags.cpp, test_input_contents.cpp,
# test_output_paths.cpp, test_python_tools.cpp, test_training_edge_cases.cpp,
# through tests/program_runs.h) run the programs (and the Python tools) from
# gf_tests with bad and unusual input: they need them built and where they
# are. The definitions are gf_tests's, so every test file has them.
# Not in the emulated CUDA build, which compiles none of those files (only
# the files with [cuda] cases): its programs would cost that build a minute.
if(NOT GF_CUDA_EMU)
  add_dependencies(gf_tests train_stylegan train_pggan train_psp generate discriminate export_weights inspect_weights projector)
endif()
target_compile_definitions(gf_tests PRIVATE GF_BIN_DIR="$<TARGET_FILE_DIR:train_stylegan>"
                           GF_SOURCE_DIR="${CMAKE_SOURCE_DIR}" GF_PYTHON3="${GF_PYTHON3}")
