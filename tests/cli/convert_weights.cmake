# tools/convert_weights.py (included from CMakeLists.txt). Both tests need a
# Python with PyTorch and report themselves skipped (77) without one.

add_test(NAME cpu.convert_weights
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_weights.py")
set_tests_properties(cpu.convert_weights PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

# generate accepts what the converter writes: a bundle exported to a torch state
# dict, imported back, and turned into an image (conditional network, --class).
add_test(NAME cpu.generate_from_converted
         COMMAND sh -c "d=${CMAKE_BINARY_DIR}/test_convert && rm -rf $d && mkdir -p $d && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py export ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin \
$d/state.pt --net all && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/state.pt $d/net.bin --conv-clamp 1.5 && \
$<TARGET_FILE:generate> --network $d/net.bin --seeds 0 --class 1 --outdir $d/out && test -s $d/out/seed0000.png")
set_tests_properties(cpu.generate_from_converted PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
