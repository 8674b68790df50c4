# train_stylegan end to end (included from CMakeLists.txt).
# End to end: a tiny network trains on Fashion-MNIST for a few steps and
# writes its run folder; a missing dataset ends with an error, not a crash.
add_test(NAME cpu.train_stylegan_smoke
         COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --cfg tiny --kimg 0.032
                 --tick 0.016 --snap 1 --max-images 128 --outdir ${CMAKE_BINARY_DIR}/test_runs)
set_tests_properties(cpu.train_stylegan_smoke PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "Done: .*fashion-mnist-tiny"
                     FAIL_REGULAR_EXPRESSION "[ -](nan|inf)( |\n|$)")
set_tests_properties(cpu.train_stylegan_smoke PROPERTIES FIXTURES_SETUP trained_snapshot)
add_test(NAME cpu.train_stylegan_bad_data
         COMMAND train_stylegan --data ${CMAKE_BINARY_DIR}/no-such-dataset --outdir ${CMAKE_BINARY_DIR}/test_runs)
set_tests_properties(cpu.train_stylegan_bad_data PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: .*no-such-dataset")
# --resume: the smoke run's checkpoint continues in a new run folder, from its kimg.
add_test(NAME cpu.train_stylegan_resume
         COMMAND sh -c "f=$(ls -t ${CMAKE_BINARY_DIR}/test_runs/*-fashion-mnist-tiny/checkpoint.bin | head -n 1) && \
OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --resume \"$f\" --kimg 0.048 --tick 0.016 --snap 1 --max-images 128 \
--outdir ${CMAKE_BINARY_DIR}/test_runs_resumed")
set_tests_properties(cpu.train_stylegan_resume PROPERTIES LABELS cpu FIXTURES_REQUIRED trained_snapshot
                     FIXTURES_SETUP resumed_run
                     PASS_REGULAR_EXPRESSION "resumed from .*at kimg 0.032.*tick 0    kimg 0.0.*Done: "
                     FAIL_REGULAR_EXPRESSION "[ -](nan|inf)( |\n|$)")
add_test(NAME cpu.train_stylegan_resume_conflicting_flag
         COMMAND sh -c "f=$(ls -t ${CMAKE_BINARY_DIR}/test_runs/*-fashion-mnist-tiny/checkpoint.bin | head -n 1) && \
$<TARGET_FILE:train_stylegan> --resume \"$f\" --batch 8 --max-images 128 --outdir ${CMAKE_BINARY_DIR}/test_runs_resumed")
set_tests_properties(cpu.train_stylegan_resume_conflicting_flag PROPERTIES LABELS cpu FIXTURES_REQUIRED trained_snapshot
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: --batch cannot change a run resumed from a checkpoint")
add_test(NAME cpu.train_stylegan_resume_missing_file
         COMMAND train_stylegan --resume ${CMAKE_BINARY_DIR}/no-such-checkpoint.bin --max-images 16
                 --outdir ${CMAKE_BINARY_DIR}/test_runs_resumed)
set_tests_properties(cpu.train_stylegan_resume_missing_file PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: .*no-such-checkpoint.bin")
# The resumed run ends where an uninterrupted run of the same length ends:
# its checkpoint (every weight, Adam moment, counter and the sampler) is the
# same file, byte for byte.
add_test(NAME cpu.train_stylegan_straight
         COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --cfg tiny --kimg 0.048
                 --tick 0.016 --snap 1 --max-images 128 --outdir ${CMAKE_BINARY_DIR}/test_runs_straight)
set_tests_properties(cpu.train_stylegan_straight PROPERTIES LABELS cpu FIXTURES_SETUP straight_run
                     PASS_REGULAR_EXPRESSION "Done: ")
add_test(NAME cpu.train_stylegan_resume_is_exact
         COMMAND sh -c "cmp $(ls -td ${CMAKE_BINARY_DIR}/test_runs_straight/*/ | head -n 1)checkpoint.bin $(ls -td ${CMAKE_BINARY_DIR}/test_runs_resumed/*/ | head -n 1)checkpoint.bin")
set_tests_properties(cpu.train_stylegan_resume_is_exact PROPERTIES LABELS cpu
                     FIXTURES_REQUIRED "resumed_run;straight_run")
# Data parallel: two CPU replicas (the arithmetic --gpus 2 runs on two GPUs),
# two passes of two images each; a batch the replicas do not divide is refused.
add_test(NAME cpu.train_stylegan_data_parallel
         COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --cfg tiny --gpus 2 --batch 8
                 --batch-gpu 2 --kimg 0.016 --tick 0.008 --snap 1 --max-images 64 --outdir ${CMAKE_BINARY_DIR}/test_runs_parallel)
set_tests_properties(cpu.train_stylegan_data_parallel PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "batch 8 \\(2 replicas x 2 passes of 2\\).*tick 1 .*Done: "
                     FAIL_REGULAR_EXPRESSION "[ -](nan|inf)( |\n|$)")
add_test(NAME cpu.train_stylegan_data_parallel_bad_batch
         COMMAND train_stylegan --cfg tiny --gpus 3 --max-images 16 --outdir ${CMAKE_BINARY_DIR}/test_runs_parallel)
set_tests_properties(cpu.train_stylegan_data_parallel_bad_batch PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "train_stylegan: error: .*batch 4 must be divisible by the GPU count 3")
