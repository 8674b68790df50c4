# train_pggan, and generate/discriminate/convert_weights on PGGAN networks
# (included from CMakeLists.txt). Runs go to their own folders, so the
# StyleGAN2 tests' "newest snapshot" never picks a PGGAN file.
set(_pg ${CMAKE_BINARY_DIR}/test_pggan)
set(_pg_newest "ls -td ${_pg}/runs/*-pggan-tiny/ | head -n 1")

# A tiny network grows on Fashion-MNIST (32x32 from 4x4; 32 images per
# resolution, then 64 of fade; 16 images a round, one tick each) to 80
# images: halfway through the 8x8 fade.
add_test(NAME cpu.train_pggan_smoke
         COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_pggan> --cfg tiny --lod-transition-kimg 0.064
                 --kimg 0.080 --snap 2 --max-images 96 --outdir ${_pg}/runs)
set_tests_properties(cpu.train_pggan_smoke PROPERTIES LABELS cpu FIXTURES_SETUP pggan_run
                     PASS_REGULAR_EXPRESSION "tick 1 +kimg 0.0 +lod 3.00 .*lod 2.75 .*lod 2.50 .*Done: .*fashion-mnist-pggan-tiny"
                     FAIL_REGULAR_EXPRESSION "[ -](nan|inf)( |\n|$)")
# --resume continues the fade from the checkpoint (written at the end); the
# straight run of the same length ends with the same checkpoint, byte for byte.
add_test(NAME cpu.train_pggan_resume
         COMMAND sh -c "f=$(${_pg_newest})checkpoint.bin && OMP_NUM_THREADS=1 $<TARGET_FILE:train_pggan> --resume \"$f\" \
--kimg 0.144 --snap 2 --max-images 96 --outdir ${_pg}/resumed")
set_tests_properties(cpu.train_pggan_resume PROPERTIES LABELS cpu FIXTURES_REQUIRED pggan_run FIXTURES_SETUP pggan_resumed
                     PASS_REGULAR_EXPRESSION "resumed from .*at kimg 0.08.*lod 2.25 .*lod 2.00 .*Done: "
                     FAIL_REGULAR_EXPRESSION "[ -](nan|inf)( |\n|$)")
add_test(NAME cpu.train_pggan_straight
         COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_pggan> --cfg tiny --lod-transition-kimg 0.064
                 --kimg 0.144 --snap 2 --max-images 96 --outdir ${_pg}/straight)
set_tests_properties(cpu.train_pggan_straight PROPERTIES LABELS cpu FIXTURES_SETUP pggan_straight PASS_REGULAR_EXPRESSION "Done: ")
add_test(NAME cpu.train_pggan_resume_is_exact
         COMMAND sh -c "cmp $(ls -td ${_pg}/straight/*/ | head -n 1)checkpoint.bin $(ls -td ${_pg}/resumed/*/ | head -n 1)checkpoint.bin")
set_tests_properties(cpu.train_pggan_resume_is_exact PROPERTIES LABELS cpu FIXTURES_REQUIRED "pggan_resumed;pggan_straight")
add_test(NAME cpu.train_pggan_resume_conflicting_flag
         COMMAND sh -c "f=$(${_pg_newest})checkpoint.bin && $<TARGET_FILE:train_pggan> --resume \"$f\" --cfg cpu \
--max-images 96 --outdir ${_pg}/resumed")
set_tests_properties(cpu.train_pggan_resume_conflicting_flag PROPERTIES LABELS cpu FIXTURES_REQUIRED pggan_run
                     PASS_REGULAR_EXPRESSION "train_pggan: error: --cfg cannot change a run resumed from a checkpoint")
add_test(NAME cpu.train_pggan_bad_cfg COMMAND train_pggan --cfg nope --max-images 16 --outdir ${_pg}/bad)
set_tests_properties(cpu.train_pggan_bad_cfg PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "train_pggan: error: unknown --cfg 'nope'")

# generate and discriminate read the run's snapshot: Gs at an earlier level, then D on those images.
add_test(NAME cpu.generate_pggan_snapshot
         COMMAND sh -c "f=$(ls -t ${_pg}/runs/*/network-snapshot-*.bin | head -n 1) && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-3 --grid 2x2 --lod 1.5 --raw ${_pg}/gen/raw.npy --outdir ${_pg}/gen && \
test -s ${_pg}/gen/grid.png && \
$<TARGET_FILE:discriminate> --network \"$f\" --images ${_pg}/gen/raw.npy --lod 1.5 --out ${_pg}/gen/scores.npy")
set_tests_properties(cpu.generate_pggan_snapshot PROPERTIES LABELS cpu FIXTURES_REQUIRED pggan_run
                     PASS_REGULAR_EXPRESSION "wrote logits \\[4, 1\\].*\\(4 of 4 finite\\)")
add_test(NAME cpu.generate_pggan_rejects_stylegan2_flags
         COMMAND sh -c "f=$(ls -t ${_pg}/runs/*/network-snapshot-*.bin | head -n 1) && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0 --trunc 0.7 --outdir ${_pg}/gen")
set_tests_properties(cpu.generate_pggan_rejects_stylegan2_flags PROPERTIES LABELS cpu FIXTURES_REQUIRED pggan_run
                     PASS_REGULAR_EXPRESSION "generate: error: --trunc applies to StyleGAN2 networks")

# The converter on synthetic official pickles (needs a Python with PyTorch; skipped without).
add_test(NAME cpu.convert_pggan
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_pggan.py")
set_tests_properties(cpu.convert_pggan PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
# A converted official-layout pickle (labelled) generates through generate.
add_test(NAME cpu.generate_from_pggan_pickle
         COMMAND sh -c "d=${_pg}/pickle && rm -rf $d && mkdir -p $d && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/make_pggan_pickle.py $d/net.pkl --resolution 16 --num-channels 3 --label-size 3 && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/net.pkl $d/net.bin && \
$<TARGET_FILE:generate> --network $d/net.bin --seeds 0-1 --class 2 --outdir $d/out && test -s $d/out/seed0001.png")
set_tests_properties(cpu.generate_from_pggan_pickle PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
# Nothing to train: as the official loop, no round runs, and the run still
# ends with a network (its final snapshot).
add_test(NAME cpu.train_pggan_kimg0
         COMMAND sh -c "rm -rf ${_pg}/kimg0 && $<TARGET_FILE:train_pggan> --cfg tiny --kimg 0 --max-images 16 \
--outdir ${_pg}/kimg0 && test -s $(ls -d ${_pg}/kimg0/*/)network-snapshot-000000.bin && echo snapshot written")
set_tests_properties(cpu.train_pggan_kimg0 PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "Nothing left to train: kimg 0.000 of 0.000 is reached; writing a snapshot without training.*snapshot written")
