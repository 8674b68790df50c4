# train_stylegan end to end (included from CMakeLists.txt).
# End to end: a tiny network trains on Fashion-MNIST for a few steps and
# writes its run folder; a missing dataset ends with an error, not a crash.
add_test(NAME cpu.train_stylegan_smoke
         COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --cfg tiny --kimg 0.032
                 --tick 0.016 --snap 1 --max-images 128 --outdir ${CMAKE_BINARY_DIR}/test_runs)
set_tests_properties(cpu.train_stylegan_smoke PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "Done: .*fashion-mnist-tiny"
                     FAIL_REGULAR_EXPRESSION "[ -](nan|inf) ")
set_tests_properties(cpu.train_stylegan_smoke PROPERTIES FIXTURES_SETUP trained_snapshot)
add_test(NAME cpu.train_stylegan_bad_data
         COMMAND train_stylegan --data ${CMAKE_BINARY_DIR}/no-such-dataset --outdir ${CMAKE_BINARY_DIR}/test_runs)
set_tests_properties(cpu.train_stylegan_bad_data PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: .*no-such-dataset")
