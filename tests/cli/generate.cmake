# generate and the other tools that read network files (included from CMakeLists.txt).
# generate turns the newest snapshot of the smoke run into a grid.
add_test(NAME cpu.generate_from_snapshot
         COMMAND sh -c "f=$(ls -t ${CMAKE_BINARY_DIR}/test_runs/*/network-snapshot-*.bin | head -n 1) && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-3 --grid 2x2 --trunc 0.7 --outdir ${CMAKE_BINARY_DIR}/test_gen && \
test -s ${CMAKE_BINARY_DIR}/test_gen/grid.png")
set_tests_properties(cpu.generate_from_snapshot PROPERTIES LABELS cpu FIXTURES_REQUIRED trained_snapshot)
