# train_pggan, and generate/discriminate/convert_weights on PGGAN networks
# (included from CMakeLists.txt). Each run goes to its own folder, wiped
# first, so its run folder's name is known: tests that read another run's
# files name them directly.
set(_pg ${CMAKE_BINARY_DIR}/test_pggan)
set(_pg_run ${_pg}/runs/00000-fashion-mnist-pggan-tiny)
set(_pg_one_thread ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1)

# A tiny network grows on Fashion-MNIST (32x32 from 4x4; 32 images per
# resolution, then 64 of fade; 16 images a round, one tick each) to 80
# images: halfway through the 8x8 fade.
gf_cli_test(train_pggan_smoke FRESH ${_pg}/runs
            EXPECT "^tick 1 +kimg 0.0 +lod 3.00 " " lod 2.75 " " lod 2.50 " "Done: .*/runs/00000-fashion-mnist-pggan-tiny$"
            REJECT ${GF_NONFINITE} FIXTURES_SETUP pggan_run
            COMMAND ${_pg_one_thread} $<TARGET_FILE:train_pggan> --cfg tiny --lod-transition-kimg 0.064
                    --kimg 0.080 --snap 2 --max-images 96 --outdir ${_pg}/runs)
# --resume continues the fade from the checkpoint (written at the end; the
# first run's own flags may be given again); the
# straight run of the same length ends with the same checkpoint, byte for byte.
gf_cli_test(train_pggan_resume FRESH ${_pg}/resumed
            EXPECT "resumed from .*at kimg 0.08" " lod 2.25 " " lod 2.00 " "Done: .*/resumed/00000-fashion-mnist-pggan-tiny$"
            REJECT ${GF_NONFINITE} FIXTURES_REQUIRED pggan_run FIXTURES_SETUP pggan_resumed
            COMMAND ${_pg_one_thread} $<TARGET_FILE:train_pggan> --resume ${_pg_run}/checkpoint.bin
                    --cfg tiny --lod-transition-kimg 0.064 --kimg 0.144 --snap 2 --max-images 96 --outdir ${_pg}/resumed)
gf_cli_test(train_pggan_straight FRESH ${_pg}/straight EXPECT "Done: .*/straight/00000-fashion-mnist-pggan-tiny$"
            FIXTURES_SETUP pggan_straight
            COMMAND ${_pg_one_thread} $<TARGET_FILE:train_pggan> --cfg tiny --lod-transition-kimg 0.064
                    --kimg 0.144 --snap 2 --max-images 96 --outdir ${_pg}/straight)
# The official status line's columns ('tick %-5d kimg %-8.1f lod %-5.2f
# minibatch %-4d', train.py; the tick was one narrower) and train.py's
# _training-done.txt in the finished run's folder.
gf_test(cpu.train_pggan_official_line_and_done_marker FIXTURES_REQUIRED pggan_run
        COMMAND sh -c "grep -q '^tick 1     kimg 0.0      lod 3.00  minibatch ' ${_pg_run}/log.txt && \
test -f ${_pg_run}/_training-done.txt && test ! -s ${_pg_run}/_training-done.txt && echo as train.py")
set_tests_properties(cpu.train_pggan_official_line_and_done_marker PROPERTIES PASS_REGULAR_EXPRESSION "^as train.py")
# checkpoint-tick.json holds the checkpoint's tick's stats.jsonl line (for a resume after a kill before the line).
gf_test(cpu.train_pggan_checkpoint_tick_line FIXTURES_REQUIRED pggan_run
        COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/checkpoint_tick_line.py ${_pg_run})
gf_test(cpu.train_pggan_resume_is_exact FIXTURES_REQUIRED "pggan_resumed;pggan_straight"
        COMMAND cmp ${_pg}/straight/00000-fashion-mnist-pggan-tiny/checkpoint.bin
                ${_pg}/resumed/00000-fashion-mnist-pggan-tiny/checkpoint.bin)
gf_expect_error(train_pggan_resume_conflicting_flag
                "^train_pggan: error: --cfg cpu differs from the run resumed from .*checkpoint.bin, which has tiny: " pggan_run
                $<TARGET_FILE:train_pggan> --resume ${_pg_run}/checkpoint.bin --cfg cpu --max-images 96 --outdir ${_pg}/bad)
# No time per resolution: the official schedule never grows (phase_dur 0),
# which the run log now says beside its lod 3.00 ticks.
gf_cli_test(train_pggan_no_growth_warned FRESH ${_pg}/no_growth
            EXPECT "^warning: --lod-training-kimg and --lod-transition-kimg are both 0: as the official schedule, the run never grows and trains at 4x4 only; give either a value above 0 to grow to 32x32$"
                   " lod 3.00 " "Done: "
            COMMAND ${_pg_one_thread} $<TARGET_FILE:train_pggan> --cfg tiny --lod-training-kimg 0 --lod-transition-kimg 0
                    --kimg 0.016 --max-images 32 --outdir ${_pg}/no_growth)
gf_expect_error(train_pggan_bad_cfg "^train_pggan: error: unknown --cfg 'nope'" ""
                $<TARGET_FILE:train_pggan> --cfg nope --max-images 16 --outdir ${_pg}/bad)

# Draw logs: a recorded run writes one file per round (named by its first
# image), and replaying them runs the same rounds (the same losses) without a
# draw left over.
gf_cli_test(train_pggan_record_draws FRESH ${_pg}/draws EXPECT "Done: " FIXTURES_SETUP pggan_recorded_draws
            COMMAND sh -c "OMP_NUM_THREADS=1 $<TARGET_FILE:train_pggan> --cfg tiny --mirror --kimg 0.032 --tick 0.016 \
--max-images 32 --record-draws ${_pg}/draws/log --outdir ${_pg}/draws/recorded && \
test -s ${_pg}/draws/log/draws-mb000000.bin && test -s ${_pg}/draws/log/draws-mb000016.bin")
gf_cli_test(train_pggan_replay_draws FRESH ${_pg}/draws/replayed FIXTURES_REQUIRED pggan_recorded_draws EXPECT "Done: "
            COMMAND sh -c "OMP_NUM_THREADS=1 $<TARGET_FILE:train_pggan> --cfg tiny --mirror --kimg 0.032 --tick 0.016 \
--max-images 32 --replay-draws ${_pg}/draws/log --outdir ${_pg}/draws/replayed && d=${_pg}/draws && \
grep -o 'G [-0-9.]* D [-0-9.]* scores real [-0-9.]* fake [-0-9.]* gp [-0-9.e+]*' $d/recorded/00000-fashion-mnist-pggan-tiny-mirror/log.txt > $d/a && \
grep -o 'G [-0-9.]* D [-0-9.]* scores real [-0-9.]* fake [-0-9.]* gp [-0-9.e+]*' $d/replayed/00000-fashion-mnist-pggan-tiny-mirror/log.txt > $d/b && \
test -s $d/a && cmp $d/a $d/b")
gf_expect_error(train_pggan_record_and_replay "^train_pggan: error: --record-draws and --replay-draws exclude each other" ""
                $<TARGET_FILE:train_pggan> --cfg tiny --max-images 16 --record-draws ${_pg}/bad/d --replay-draws ${_pg}/bad/d
                --outdir ${_pg}/bad)

# generate and discriminate read the run's snapshot (every snapshot of a run
# under 1 kimg is network-snapshot-000000.bin, the last one written wins): Gs
# at an earlier level, then D on those images.
gf_cli_test(generate_pggan_snapshot FRESH ${_pg}/gen EXPECT "wrote logits \\[4, 1\\]"
            FIXTURES_REQUIRED pggan_run
            COMMAND sh -c "f=${_pg_run}/network-snapshot-000000.bin && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-3 --grid 2x2 --lod 1.5 --raw ${_pg}/gen/raw.npy --outdir ${_pg}/gen && \
test -s ${_pg}/gen/grid.png && \
$<TARGET_FILE:discriminate> --network \"$f\" --images ${_pg}/gen/raw.npy --lod 1.5 --out ${_pg}/gen/scores.npy")
gf_expect_error(generate_pggan_rejects_stylegan2_flags "^generate: error: --trunc applies to StyleGAN2 and StyleGAN \\(v1\\) networks. .* holds a PGGAN generator$" pggan_run
                $<TARGET_FILE:generate> --network ${_pg_run}/network-snapshot-000000.bin --seeds 0 --trunc 0.7
                --outdir ${_pg}/bad)

# --lod past the network's levels (a 32x32 network: 0 to 3) is refused
# naming its range; the networks took it as the nearest level (--lod 25 gave
# the --lod 3 images). The same for discriminate, and for StyleGAN (v1).
set(_lod_net ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin)
gf_expect_error(generate_pggan_lod_past_levels "^generate: error: --lod 25 is outside \\[0, 3\\], the levels of .*pggan_32x1.bin \\(0: 32x32, 3: 4x4\\)$" ""
                $<TARGET_FILE:generate> --network ${_lod_net} --seeds 0 --lod 25 --outdir ${_pg}/bad_lod)
gf_expect_error(discriminate_pggan_lod_past_levels "^discriminate: error: --lod 7 is outside \\[0, 3\\], the levels of .*pggan_32x1.bin" ""
                $<TARGET_FILE:discriminate> --network ${_lod_net} --images ${_pg}/none.npy --lod 7 --out ${_pg}/bad_lod/l.npy)
gf_expect_error(generate_stylegan_lod_past_levels "^generate: error: --lod 2.5 is outside \\[0, 2\\], the levels of .*stylegan_16x3.bin \\(0: 16x16, 2: 4x4\\)$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/stylegan_16x3.bin --seeds 0 --lod 2.5
                --outdir ${_pg}/bad_lod)
gf_cli_test(generate_pggan_lod_last_level FRESH ${_pg}/lod3 EXPECT "^generate: wrote 1 image to "
            COMMAND $<TARGET_FILE:generate> --network ${_lod_net} --seeds 0 --lod 3 --outdir ${_pg}/lod3)
# A minibatch-stddev group of 4: 6 images are refused, and the line says
# that up to 4 (3 work) pass too.
gf_expect_error(discriminate_pggan_group "^discriminate: error: --images .*six.npy: a batch of 6 images, but the minibatch-stddev layer needs a multiple of 4 or at most 4 images$" ""
                sh -c "mkdir -p ${_pg}/group && $<TARGET_FILE:generate> --network ${_lod_net} --seeds 0-5 --raw ${_pg}/group/six.npy \
--outdir ${_pg}/group >/dev/null && exec $<TARGET_FILE:discriminate> --network ${_lod_net} --images ${_pg}/group/six.npy --out ${_pg}/group/l.npy")

# The converter on synthetic official pickles (needs a Python with PyTorch; skipped without).
add_test(NAME cpu.convert_pggan
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_pggan.py")
set_tests_properties(cpu.convert_pggan PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
# A converted official-layout pickle (labelled) generates through generate.
add_test(NAME cpu.generate_from_pggan_pickle
         COMMAND sh -c "d=${_pg}/pickle && rm -rf $d && mkdir -p $d && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/fixtures/make_pggan_pickle.py $d/net.pkl --resolution 16 --num-channels 3 --label-size 3 && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/net.pkl $d/net.bin && \
$<TARGET_FILE:generate> --network $d/net.bin --seeds 0-1 --class 2 --outdir $d/out && test -s $d/out/seed0001.png")
set_tests_properties(cpu.generate_from_pggan_pickle PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
# Nothing to train: as the official loop, no round runs, and the run still
# ends with a network (its final snapshot).
add_test(NAME cpu.train_pggan_kimg0
         COMMAND sh -c "rm -rf ${_pg}/kimg0 && $<TARGET_FILE:train_pggan> --cfg tiny --kimg 0 --max-images 16 \
--outdir ${_pg}/kimg0 && test -s ${_pg}/kimg0/00000-fashion-mnist-pggan-tiny/network-snapshot-000000.bin && echo snapshot written")
set_tests_properties(cpu.train_pggan_kimg0 PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "Nothing left to train: kimg 0.000 of 0.000 is reached. writing a snapshot without training.*snapshot written")
# --resume-kimg (the official train.py's resume_kimg): a snapshot continues
# the schedule from there (64 images: halfway through the 8x8 fade) instead
# of growing again from 4x4; a checkpoint, which has its own count, and no
# --resume are refused.
gf_cli_test(train_pggan_resume_kimg FRESH ${_pg}/resume_kimg
            EXPECT "resumed from .*network-snapshot-000000.bin at kimg 0.064" "^tick 1 +kimg 0.1 +lod 2.50 " "Done: "
            REJECT ${GF_NONFINITE} " lod 3.00 " FIXTURES_REQUIRED pggan_run
            COMMAND ${_pg_one_thread} $<TARGET_FILE:train_pggan> --resume ${_pg_run}/network-snapshot-000000.bin --resume-kimg 0.064
                    --cfg tiny --lod-transition-kimg 0.064 --kimg 0.080 --max-images 96 --outdir ${_pg}/resume_kimg)
gf_expect_error(train_pggan_resume_kimg_checkpoint "^train_pggan: error: --resume-kimg applies to --resume of networks; .*checkpoint.bin is a checkpoint, which resumes at its own kimg$"
                pggan_run $<TARGET_FILE:train_pggan> --resume ${_pg_run}/checkpoint.bin --resume-kimg 1 --outdir ${_pg}/bad)
gf_expect_error(train_pggan_resume_kimg_alone "^train_pggan: error: --resume-kimg needs --resume \\(the networks whose training it continues\\)$" ""
                $<TARGET_FILE:train_pggan> --resume-kimg 1 --outdir ${_pg}/bad)
# --resume-time (the official resume_time): the time column and total_sec
# start from it (train.py: train_start_time = tick_start_time - resume_time).
gf_cli_test(train_pggan_resume_time FRESH ${_pg}/resume_time
            EXPECT "^tick 1 +kimg [0-9.]+ +lod [0-9.]+ +minibatch [0-9]+ +time 3600[0-9] " "total_sec 3600[0-9]" "Done: "
            REJECT ${GF_NONFINITE} FIXTURES_REQUIRED pggan_run
            COMMAND sh -c "OMP_NUM_THREADS=1 $<TARGET_FILE:train_pggan> --resume ${_pg_run}/network-snapshot-000000.bin \
--resume-time 36000 --cfg tiny --kimg 0.016 --max-images 16 --outdir ${_pg}/resume_time && \
/usr/bin/python3 -c \"import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; print('total_sec', int(d[0]['total_sec']))\" \
${_pg}/resume_time/00000-fashion-mnist-pggan-tiny/stats.jsonl")
gf_expect_error(train_pggan_resume_time_checkpoint "^train_pggan: error: --resume-time applies to --resume of networks; .*checkpoint.bin is a checkpoint, which resumes at its own time \\(its earlier ticks, carried into report.html\\)$"
                pggan_run $<TARGET_FILE:train_pggan> --resume ${_pg_run}/checkpoint.bin --resume-time 1 --outdir ${_pg}/bad)
gf_expect_error(train_pggan_resume_time_alone "^train_pggan: error: --resume-time needs --resume \\(the networks whose training it continues\\)$" ""
                $<TARGET_FILE:train_pggan> --resume-time 1 --outdir ${_pg}/bad)
# A pSp network given to --resume is named as one (it read as "stylegan2
# networks": pSp files carry no family tag).
gf_expect_error(train_pggan_resume_psp_named "^train_pggan: error: .*network-snapshot-000003.bin: holds a pSp network \\(an encoder with its StyleGAN2 decoder\\), not PGGAN ones$"
                psp_trained $<TARGET_FILE:train_pggan> --cfg tiny --resume ${CMAKE_BINARY_DIR}/test_train_psp/00000-fashion-mnist-psp-cpu/network-snapshot-000003.bin
                --outdir ${CMAKE_BINARY_DIR}/test_pggan_resume_psp)
# Counts in messages agree with their nouns: "its 1 image", not "its 1 images".
gf_test(cpu.max_images_message_counts
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import PIL, numpy' 2>/dev/null || exit 77; d=${CMAKE_BINARY_DIR}/test_pggan_one_image && rm -rf $d && mkdir -p $d/data && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I; I.fromarray(np.zeros((8, 8), np.uint8)).save('$d/data/a.png')\" && \
sh ${GF_CLI_DIR}/expect_error.sh '^train_pggan: error: .*/data: --max-images 2 is more than its 1 image$' \
  $<TARGET_FILE:train_pggan> --cfg tiny --data $d/data --max-images 2 --outdir $d/runs && echo counted")
set_tests_properties(cpu.max_images_message_counts PROPERTIES PASS_REGULAR_EXPRESSION "counted" SKIP_RETURN_CODE 77)
