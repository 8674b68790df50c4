# StyleGAN (v1): the converter on synthetic official pickles (needs a Python with PyTorch; skipped without).
add_test(NAME cpu.convert_stylegan
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_stylegan.py")
set_tests_properties(cpu.convert_stylegan PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
set(_sg ${CMAKE_BINARY_DIR}/test_stylegan)
# A converted official-layout v1 pickle (labelled) generates through generate:
# seeds with truncation and a cutoff, const noise, a style-mixing grid, and
# refuses a cutoff for a StyleGAN2 network.
add_test(NAME cpu.generate_from_stylegan_pickle
         COMMAND sh -c "d=${_sg}/pickle && rm -rf $d && mkdir -p $d && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/fixtures/make_stylegan_pickle.py $d/net.pkl --resolution 16 --num-channels 3 --label-size 2 && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/net.pkl $d/net.bin && \
$<TARGET_FILE:generate> --network $d/net.bin --seeds 0-1 --class 1 --trunc 0.7 --trunc-cutoff 4 --noise-mode const --outdir $d/out && \
test -s $d/out/seed0001.png && \
$<TARGET_FILE:generate> --network $d/net.bin --class 0 --mix-rows 1,2 --mix-cols 3,4,5 --mix-styles 0-3 --outdir $d/mix --raw $d/mix.npy && \
test -s $d/mix/grid.png && test -s $d/mix.npy && \
$<TARGET_FILE:generate> --network $d/net.bin --class 0 --seeds 0 --lod 1.5 --noise-mode random --outdir $d/lod && \
test -s $d/lod/seed0000.png && echo v1 generated")
set_tests_properties(cpu.generate_from_stylegan_pickle PROPERTIES LABELS cpu SKIP_RETURN_CODE 77
                     PASS_REGULAR_EXPRESSION "v1 generated")

# train_stylegan --arch stylegan: a tiny network grows on Fashion-MNIST (from
# 4x4; 32 images per phase, 4 images a round) to 96 images, into the 16x16
# fade, in a wiped folder (so its run folder's name is known); then a
# style-mixing grid from its snapshot (kimg_tag: every snapshot of a run under
# 1 kimg is network-snapshot-000000.bin, the last one written wins).
set(_sg_run ${_sg}/runs/00000-fashion-mnist-stylegan-tiny)
gf_cli_test(train_stylegan_v1_smoke FRESH ${_sg}/runs
            EXPECT "StyleGAN \\(v1\\) cfg tiny" " lod 3\\.00 " " lod 2\\.00 .* r1 [0-9]" "Done: .*/runs/00000-fashion-mnist-stylegan-tiny$"
            REJECT ${GF_NONFINITE} FIXTURES_SETUP stylegan_v1_run
            COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny
                    --kimg 0.096 --tick 0.032 --snap 1 --max-images 64 --outdir ${_sg}/runs)
# v1's dnnlib submit leaves _finished.txt in the run folder (empty), and the
# status line's tick column is 'tick %-5d', as its training_loop.py prints it.
gf_test(cpu.train_stylegan_v1_finished_marker FIXTURES_REQUIRED stylegan_v1_run
        COMMAND sh -c "test -f ${_sg_run}/_finished.txt && test ! -s ${_sg_run}/_finished.txt && \
grep -q '^tick 1     kimg 0.0      lod ' ${_sg_run}/log.txt && echo as dnnlib")
set_tests_properties(cpu.train_stylegan_v1_finished_marker PROPERTIES PASS_REGULAR_EXPRESSION "^as dnnlib")
# Without --seed each family seeds as its official train.py: v1 numpy's 1000
# (tf_config rnd.np_random_seed), StyleGAN2-ADA 0; the checkpoints keep it.
gf_test(cpu.train_stylegan_default_seed FIXTURES_REQUIRED "stylegan_v1_run;trained_snapshot"
        COMMAND sh -c "grep -q '\"seed\": 1000,' ${_sg_run}/training_options.json && \
grep -q '\"seed\": 0,' ${GF_TEST_RUNS}/smoke/00000-fashion-mnist-subset128-tiny-kimg0.032/training_options.json && \
grep -q '\"seed\":\"1000\"' ${_sg_run}/checkpoint.bin && echo official seeds")
set_tests_properties(cpu.train_stylegan_default_seed PROPERTIES PASS_REGULAR_EXPRESSION "^official seeds")
# checkpoint-tick.json holds the checkpoint's tick's stats.jsonl line (for a resume after a kill before the line).
gf_test(cpu.train_stylegan_v1_checkpoint_tick_line FIXTURES_REQUIRED stylegan_v1_run
        COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/checkpoint_tick_line.py ${_sg_run})
# A mixing canvas past the PNG writer (1001x1001 images of 32x32) is refused before any image.
gf_expect_error(generate_stylegan_v1_mixing_too_large "^generate: error: --mix-rows/--mix-cols: a grid of 1001x1001 images of 32x32 would be a 32032x32032 PNG, over the 0.95 GB"
                stylegan_v1_run $<TARGET_FILE:generate> --network ${_sg_run}/network-snapshot-000000.bin
                --mix-rows 0-999 --mix-cols 0-999 --outdir ${_sg}/mix_too_large)
gf_cli_test(generate_stylegan_v1_mixing FRESH ${_sg}/mix ${_sg}/gen
            EXPECT "wrote grid.png" "wrote logits \\[4, 1\\]" FIXTURES_REQUIRED stylegan_v1_run
            COMMAND sh -c "f=${_sg_run}/network-snapshot-000000.bin && \
$<TARGET_FILE:generate> --network \"$f\" --mix-rows 1,2 --mix-cols 3,4 --mix-styles 0-1 --outdir ${_sg}/mix && \
test -s ${_sg}/mix/grid.png && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-3 --lod 1.5 --raw ${_sg}/gen/raw.npy --outdir ${_sg}/gen && \
$<TARGET_FILE:discriminate> --network \"$f\" --images ${_sg}/gen/raw.npy --lod 1.5 --out ${_sg}/gen/scores.npy")
# export_weights takes v1's G_ema and D out of the snapshot: generate and
# discriminate read them standalone, to the same bytes as from the bundle.
gf_cli_test(export_weights_stylegan_v1 FRESH ${_sg}/exported EXPECT "^same$" FIXTURES_REQUIRED stylegan_v1_run
            COMMAND sh -c "f=${_sg_run}/network-snapshot-000000.bin && e=${_sg}/exported && \
$<TARGET_FILE:export_weights> --in \"$f\" --net G_ema --out $e/G_ema.bin && \
$<TARGET_FILE:export_weights> --in \"$f\" --net D --out $e/D.bin && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-3 --raw $e/bundle.npy --outdir $e/bundle && \
$<TARGET_FILE:generate> --network $e/G_ema.bin --seeds 0-3 --raw $e/alone.npy --outdir $e/alone && \
$<TARGET_FILE:discriminate> --network \"$f\" --images $e/bundle.npy --out $e/bundle_logits.npy && \
$<TARGET_FILE:discriminate> --network $e/D.bin --images $e/bundle.npy --out $e/alone_logits.npy && \
cmp $e/bundle.npy $e/alone.npy && cmp $e/bundle_logits.npy $e/alone_logits.npy && echo same")
# The resumed run's folder carries the checkpoint's preset name, not --cfg's default (auto).
gf_cli_test(train_stylegan_v1_resume FRESH ${_sg}/resumed
            EXPECT "resumed from .*at kimg 0.096" "StyleGAN \\(v1\\) cfg tiny" "Done: .*/resumed/00000-fashion-mnist-stylegan-tiny$"
            REJECT ${GF_NONFINITE} FIXTURES_REQUIRED stylegan_v1_run
            COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --arch stylegan
                    --resume ${_sg_run}/checkpoint.bin --kimg 0.128 --tick 0.032 --snap 1 --max-images 64
                    --outdir ${_sg}/resumed)
# --mirror is the run's mirror_augment, kept from the checkpoint: another
# value is refused (it was ignored); training_options.json records it once.
gf_expect_error(train_stylegan_v1_resume_mirror
                "^train_stylegan: error: --mirror differs from the run resumed from .*checkpoint.bin, which trained without it: a resumed checkpoint keeps its settings \\(leave --mirror out\\)$"
                stylegan_v1_run $<TARGET_FILE:train_stylegan> --arch stylegan --resume ${_sg_run}/checkpoint.bin --mirror
                --max-images 64 --outdir ${_sg}/resumed_mirror)
# Draw logs for --arch stylegan: a recorded run writes one file per round
# (named by its first image), and replaying them runs the same rounds (the
# same losses) without a draw left over.
gf_cli_test(train_stylegan_v1_record_draws FRESH ${_sg}/draws EXPECT "Done: " FIXTURES_SETUP stylegan_v1_recorded_draws
            COMMAND sh -c "OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --mirror --kimg 0.032 \
--tick 0.016 --max-images 32 --record-draws ${_sg}/draws/log --outdir ${_sg}/draws/recorded && \
test -s ${_sg}/draws/log/draws-mb000000.bin && test -s ${_sg}/draws/log/draws-mb000016.bin")
gf_cli_test(train_stylegan_v1_replay_draws FRESH ${_sg}/draws/replayed FIXTURES_REQUIRED stylegan_v1_recorded_draws
            EXPECT "Done: "
            COMMAND sh -c "OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --mirror --kimg 0.032 \
--tick 0.016 --max-images 32 --replay-draws ${_sg}/draws/log --outdir ${_sg}/draws/replayed && d=${_sg}/draws && \
grep -o 'G [-0-9.]* D [-0-9.]* scores real [-0-9.]* fake [-0-9.]* r1 [-0-9.e+]*' $d/recorded/00000-fashion-mnist-stylegan-tiny-mirror/log.txt > $d/a && \
grep -o 'G [-0-9.]* D [-0-9.]* scores real [-0-9.]* fake [-0-9.]* r1 [-0-9.e+]*' $d/replayed/00000-fashion-mnist-stylegan-tiny-mirror/log.txt > $d/b && \
test -s $d/a && cmp $d/a $d/b")
# --resume given another family's checkpoint names the family and the way to
# continue it, instead of failing on the first config key the family lacks.
# (A "." stands for the message's ";", which CMake would take for a list separator.)
gf_expect_error(train_stylegan_resume_v1_checkpoint
                "^train_stylegan: error: .*/checkpoint.bin: holds StyleGAN \\(v1\\) networks. resume them with --arch stylegan$"
                stylegan_v1_run $<TARGET_FILE:train_stylegan> --resume ${_sg_run}/checkpoint.bin --max-images 64
                --outdir ${_sg}/bad)
gf_expect_error(train_stylegan_resume_pggan_checkpoint
                "^train_stylegan: error: .*/checkpoint.bin: holds PGGAN networks. train_pggan --resume continues them$"
                pggan_run $<TARGET_FILE:train_stylegan> --resume ${CMAKE_BINARY_DIR}/test_pggan/runs/00000-fashion-mnist-pggan-tiny/checkpoint.bin
                --max-images 64 --outdir ${_sg}/bad)
gf_expect_error(train_stylegan_v1_resume_stylegan2_checkpoint
                "^train_stylegan: error: .*/checkpoint.bin: holds StyleGAN2 networks. resume them without --arch stylegan$"
                trained_snapshot $<TARGET_FILE:train_stylegan> --arch stylegan --resume ${GF_SMOKE_RUN}/checkpoint.bin
                --max-images 64 --outdir ${_sg}/bad)
# Without --trunc, a v1 generator truncates by its recorded truncation_psi
# (0.7, the official G_style's default that Gs.run uses), as it already took
# its truncation_cutoff: the same images as --trunc 0.7, not --trunc 1's.
gf_cli_test(generate_stylegan_v1_network_psi FRESH ${_sg}/psi EXPECT "^network psi$" FIXTURES_REQUIRED stylegan_v1_run
            COMMAND sh -c "f=${_sg_run}/network-snapshot-000000.bin && d=${_sg}/psi && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-1 --raw $d/default.npy --outdir $d/a >/dev/null && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-1 --trunc 0.7 --raw $d/psi07.npy --outdir $d/b >/dev/null && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-1 --trunc 1 --raw $d/psi1.npy --outdir $d/c >/dev/null && \
cmp -s $d/default.npy $d/psi07.npy && ! cmp -s $d/default.npy $d/psi1.npy && echo 'network psi'")
# --resume-kimg for v1 (its training_loop's resume_kimg): the schedule
# continues at 96 images (lod 1.50), not from 4x4; StyleGAN2-ADA has none.
gf_cli_test(train_stylegan_v1_resume_kimg FRESH ${_sg}/resume_kimg
            EXPECT "at kimg 0.096" "^tick 1 +kimg 0.1 +lod 1.50 " "Done: "
            REJECT ${GF_NONFINITE} " lod 3.00 " FIXTURES_REQUIRED stylegan_v1_run
            COMMAND sh -c "OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --arch stylegan \
--resume ${_sg_run}/network-snapshot-000000.bin --resume-kimg 0.096 --cfg tiny --kimg 0.128 --tick 0.032 \
--max-images 64 --outdir ${_sg}/resume_kimg && test ! -e ${_sg}/resume_kimg/00000-fashion-mnist-stylegan-tiny/stats-earlier.jsonl")
# (The snapshot's folder holds ticks trained after it: none is carried into this run's report.)
gf_expect_error(train_stylegan2_resume_kimg "^train_stylegan: error: --resume-kimg is the TensorFlow trainers' " ""
                $<TARGET_FILE:train_stylegan> --resume ${_sg}/any.bin --resume-kimg 1 --outdir ${_sg}/bad)
gf_expect_error(train_stylegan2_resume_time "^train_stylegan: error: --resume-time is the TensorFlow trainers' " ""
                $<TARGET_FILE:train_stylegan> --resume ${_sg}/any.bin --resume-time 1 --outdir ${_sg}/bad)
# v1's training_loop: total_time = time since start + resume_time.
gf_cli_test(train_stylegan_v1_resume_time FRESH ${_sg}/resume_time
            EXPECT "^tick 1 +kimg [0-9.]+ +lod [0-9.]+ +minibatch [0-9]+ +time 7200[0-9] " "Done: "
            REJECT ${GF_NONFINITE} FIXTURES_REQUIRED stylegan_v1_run
            COMMAND sh -c "OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --arch stylegan \
--resume ${_sg_run}/network-snapshot-000000.bin --resume-time 72000 --cfg tiny --kimg 0.016 \
--max-images 16 --outdir ${_sg}/resume_time")
gf_expect_error(train_stylegan_v1_resume_kimg_alone "^train_stylegan: error: --resume-kimg needs --resume \\(the networks whose training it continues\\)$" ""
                $<TARGET_FILE:train_stylegan> --arch stylegan --resume-kimg 1 --outdir ${_sg}/bad)
