# tests/test_bad_input.cpp runs the programs (and the Python tools) from
# gf_tests with bad and unusual input: it needs them built and where they are.
# Not in the emulated CUDA build, which compiles no test_bad_input.cpp (only
# the files with [cuda] cases): its programs would cost that build a minute.
if(NOT GF_CUDA_EMU)
  add_dependencies(gf_tests train_stylegan train_pggan train_psp generate discriminate export_weights inspect_weights projector)
endif()
target_compile_definitions(gf_tests PRIVATE GF_BIN_DIR="$<TARGET_FILE_DIR:train_stylegan>"
                           GF_SOURCE_DIR="${CMAKE_SOURCE_DIR}" GF_PYTHON3="${GF_PYTHON3}")
