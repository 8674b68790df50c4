# train_psp end to end (included from CMakeLists.txt): the cpu config trains
# an encoder for the small 32 px generator fixture on a few Fashion-MNIST
# images and writes its run folder (options, log, stats, report, grids, pSp
# snapshot, checkpoint); psp encode reads the snapshot; the checkpoint
# resumes from its step. tests/test_psp_train.cpp checks learning and the
# exact resume in-process; tests/test_training_edge_cases.cpp the refusals.
set(_tp ${CMAKE_BINARY_DIR}/test_train_psp)
set(_tp_g ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin)
add_test(NAME cpu.train_psp_smoke
         COMMAND sh -c "rm -rf ${_tp} && OMP_NUM_THREADS=1 $<TARGET_FILE:train_psp> --generator ${_tp_g} --cfg cpu \
--start-from-latent-avg --max-images 24 --val-images 8 --max-steps 3 --tick 2 --snap 1 --outdir ${_tp} && \
d=$(ls -d ${_tp}/00000-fashion-mnist-psp-cpu) && \
for f in training_options.json log.txt stats.jsonl report.html reals.png fakes000001.png fakes000003.png best_model.bin \
network-snapshot-000001.bin network-snapshot-000003.bin checkpoint.bin; do test -s \"$d/$f\" || { echo \"missing $f\"; exit 1; }; done && \
grep -q '\"val_loss_l2\"' \"$d/stats.jsonl\" && mkdir -p ${_tp}/imgs && cp \"$d/reals.png\" ${_tp}/imgs && \
OMP_NUM_THREADS=1 $<TARGET_FILE:psp> encode --network \"$d/network-snapshot-000003.bin\" --images ${_tp}/imgs \
--outdir ${_tp}/enc")
set_tests_properties(cpu.train_psp_smoke PROPERTIES LABELS cpu FIXTURES_SETUP psp_trained
                     PASS_REGULAR_EXPRESSION "tick 1 +kimg 0\\.0 +step 3 .*Done: .*psp encode: 1 image -> .*latents.npy \\[1, 8, 16\\]"
                     FAIL_REGULAR_EXPRESSION "[ -](nan|inf)( |\n|$)")
# psp reads the network of a checkpoint.bin, as generate reads a
# train_stylegan checkpoint's (it was refused on its first optimizer tensor):
# the latents equal those of the snapshot written at the same step.
add_test(NAME cpu.psp_encode_from_checkpoint
         COMMAND sh -c "d=${_tp}/00000-fashion-mnist-psp-cpu && rm -rf ${_tp}/enc_ckpt && \
OMP_NUM_THREADS=1 $<TARGET_FILE:psp> encode --network $d/checkpoint.bin --images ${_tp}/imgs --outdir ${_tp}/enc_ckpt > /dev/null && \
cmp ${_tp}/enc_ckpt/latents.npy ${_tp}/enc/latents.npy && echo same latents")
set_tests_properties(cpu.psp_encode_from_checkpoint PROPERTIES LABELS cpu FIXTURES_REQUIRED psp_trained
                     PASS_REGULAR_EXPRESSION "same latents")
# checkpoint-tick.json holds the checkpoint's tick's stats.jsonl line (for a resume after a kill before the line).
add_test(NAME cpu.train_psp_checkpoint_tick_line
         COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/checkpoint_tick_line.py ${_tp}/00000-fashion-mnist-psp-cpu)
set_tests_properties(cpu.train_psp_checkpoint_tick_line PROPERTIES LABELS cpu FIXTURES_REQUIRED psp_trained
                     PASS_REGULAR_EXPRESSION "checkpoint tick line: as expected")
add_test(NAME cpu.train_psp_resume
         COMMAND sh -c "OMP_NUM_THREADS=1 $<TARGET_FILE:train_psp> \
--resume ${_tp}/00000-fashion-mnist-psp-cpu/checkpoint.bin --cfg cpu --start-from-latent-avg --val-images 8 \
--max-steps 4 --max-images 24 --outdir ${_tp}/resumed")
set_tests_properties(cpu.train_psp_resume PROPERTIES LABELS cpu FIXTURES_REQUIRED psp_trained
                     PASS_REGULAR_EXPRESSION "resumed from .* at step 3.*tick 0 +kimg 0\\.0 +step 4 .*Done: "
                     FAIL_REGULAR_EXPRESSION "[ -](nan|inf)( |\n|$)")
# Fine-tuning a pSp network file: its encoder flags pass again with the
# file's own values, as pSp's fine-tuning commands repeat them (they were
# refused whenever given); another value is refused naming the file.
add_test(NAME cpu.train_psp_resume_network_same_flags
         COMMAND sh -c "d=${_tp}/00000-fashion-mnist-psp-cpu && rm -rf ${_tp}/finetune && OMP_NUM_THREADS=1 $<TARGET_FILE:train_psp> --resume $d/network-snapshot-000003.bin --cfg cpu --start-from-latent-avg --encoder-type GradualStyleEncoder --max-images 24 --val-images 8 --max-steps 1 --outdir ${_tp}/finetune > /dev/null && echo same flags taken && OMP_NUM_THREADS=1 $<TARGET_FILE:train_psp> --resume $d/network-snapshot-000003.bin --cfg cpu --start-from-latent-avg=false --max-images 24 --val-images 8 --max-steps 1 --outdir ${_tp}/finetune")
set_tests_properties(cpu.train_psp_resume_network_same_flags PROPERTIES LABELS cpu FIXTURES_REQUIRED psp_trained
                     PASS_REGULAR_EXPRESSION "same flags taken
train_psp: error: --start-from-latent-avg differs from the run resumed from .*network-snapshot-000003.bin, which trained with it")
# --start-from-latent-avg is off unless given, as pSp's train.py (it was
# always on, its "=false" ignored), and recorded as run.
add_test(NAME cpu.train_psp_latent_avg_flag
         COMMAND sh -c "d=${_tp}/latent_avg && rm -rf $d && for v in '' '--start-from-latent-avg=false' '--start-from-latent-avg'; do \
OMP_NUM_THREADS=1 $<TARGET_FILE:train_psp> --generator ${_tp_g} --cfg cpu $v --max-images 16 --val-images 8 --max-steps 0 \
--outdir $d > /dev/null || exit 1; done && \
grep -ho '\"start_from_latent_avg\": *[a-z]*' $d/0000*/training_options.json | tr -d ' ' | paste -sd ' ' -")
set_tests_properties(cpu.train_psp_latent_avg_flag PROPERTIES LABELS cpu
                     PASS_REGULAR_EXPRESSION "^\"start_from_latent_avg\":false \"start_from_latent_avg\":false \"start_from_latent_avg\":true\n$")
# A resumed run reads the loss networks its run read, compared by content as
# --generator: a copy is taken; another LPIPS file (given, or the recorded
# one changed since) is refused, as is --arcface on a run that used none with
# --id-lambda 0 (it was read and ignored).
add_test(NAME cpu.train_psp_resume_loss_files
         COMMAND sh -c "d=${_tp}/loss_files && rm -rf $d && mkdir -p $d && cp ${CMAKE_SOURCE_DIR}/tests/data/psp_lpips.bin $d/lpips.bin && \
run='$<TARGET_FILE:train_psp> --cfg cpu --lpips-lambda 0.5 --max-images 16 --val-images 8 --outdir '$d/runs && \
OMP_NUM_THREADS=1 $run --generator ${_tp_g} --lpips $d/lpips.bin --max-steps 1 > /dev/null && \
c=$d/runs/00000-fashion-mnist-psp-cpu/checkpoint.bin && cp $d/lpips.bin $d/copy.bin && \
OMP_NUM_THREADS=1 $run --resume $c --lpips $d/copy.bin --max-steps 2 > /dev/null && \
printf 'x' | dd of=$d/lpips.bin bs=1 seek=40000 conv=notrunc 2> /dev/null && \
! $run --resume $c --lpips $d/lpips.bin --max-steps 2 2> $d/given.err && \
grep -qx 'train_psp: error: --lpips .*/lpips.bin is not the file the run resumed from .*checkpoint.bin used (other content): leave --lpips out, or give that file' $d/given.err && \
! $run --resume $c --max-steps 2 2> $d/recorded.err && \
grep -qx 'train_psp: error: --lpips .*/lpips.bin, which the run resumed from .*checkpoint.bin used, has other content now: give the run.s file with --lpips' $d/recorded.err && \
! $run --resume $c --lpips $d/copy.bin --arcface ${CMAKE_SOURCE_DIR}/tests/data/psp_arcface.bin --max-steps 2 2> $d/arcface.err && \
grep -qx 'train_psp: error: --arcface is read by the id loss and to start a new encoder; --id-lambda is 0 and --resume .*checkpoint.bin brings its encoder (its run used no ArcFace file): leave --arcface out' $d/arcface.err && \
echo loss files checked")
set_tests_properties(cpu.train_psp_resume_loss_files PROPERTIES LABELS cpu PASS_REGULAR_EXPRESSION "loss files checked")
# pSp's MoCo loss (--moco-lambda, pSp's --moco_lambda here, --moco): logged as loss_moco and val_loss_moco,
# with its similarity gain as id_improve and val_id_improve (coach.calc_loss);
# a resume reads the recorded file, refuses it changed, and keeps the lambda.
add_test(NAME cpu.train_psp_moco
         COMMAND sh -c "d=${_tp}/moco && rm -rf $d && mkdir -p $d && cp ${CMAKE_SOURCE_DIR}/tests/data/psp_moco.bin $d/moco.bin && \
run='$<TARGET_FILE:train_psp> --cfg cpu --max-images 16 --val-images 8 --outdir '$d/runs && \
OMP_NUM_THREADS=1 $run --generator ${_tp_g} --moco_lambda 0.5 --moco $d/moco.bin --max-steps 1 > /dev/null && \
r=$d/runs/00000-fashion-mnist-psp-cpu && grep -q '\"loss_moco\": *[0-9]' $r/stats.jsonl && \
grep -q '\"val_loss_moco\": *[0-9]' $r/stats.jsonl && grep -q '\"moco\": *0.5' $r/training_options.json && \
grep -q '\"id_improve\": *-*[0-9]' $r/stats.jsonl && grep -q '\"val_id_improve\": *-*[0-9]' $r/stats.jsonl && \
OMP_NUM_THREADS=1 $run --resume $r/checkpoint.bin --max-steps 2 > $d/resumed.out && grep -q 'loss_moco' $d/resumed.out && \
! $run --resume $r/checkpoint.bin --moco-lambda 0.2 --max-steps 3 2> $d/lambda.err && \
grep -q -- '--moco-lambda 0.2 differs from the run resumed from' $d/lambda.err && \
printf 'x' | dd of=$d/moco.bin bs=1 seek=40000 conv=notrunc 2> /dev/null && \
! $run --resume $r/checkpoint.bin --max-steps 3 2> $d/changed.err && \
grep -qx 'train_psp: error: --moco .*/moco.bin, which the run resumed from .*checkpoint.bin used, has other content now: give the run.s file with --moco' $d/changed.err && \
echo moco checked")
set_tests_properties(cpu.train_psp_moco PROPERTIES LABELS cpu PASS_REGULAR_EXPRESSION "moco checked")
add_test(NAME cpu.train_psp_resume_conflicting_flag
         COMMAND $<TARGET_FILE:train_psp> --resume ${_tp}/00000-fashion-mnist-psp-cpu/checkpoint.bin --lr 0.1
                 --max-images 24 --outdir ${_tp}/resumed)
set_tests_properties(cpu.train_psp_resume_conflicting_flag PROPERTIES LABELS cpu FIXTURES_REQUIRED psp_trained
                     PASS_REGULAR_EXPRESSION "train_psp: error: --lr 0.1 differs from the run resumed from .*checkpoint.bin, which has ")
# The encoder reads grey images: a corrupt colour file is skipped as any
# corrupt file (it was refused as colour before its decode), a whole colour
# image stops the encode in one line.
add_test(NAME cpu.psp_grey_encoder_colour_inputs
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_tp}/grey_inputs && rm -rf $d && mkdir -p $d/bad $d/colour && \
'${GF_PYTHON3}' -c \"from PIL import Image; Image.new('RGB', (32, 32), (200, 40, 9)).save('$d/colour/c.png')\" && \
head -c 60 $d/colour/c.png > $d/bad/cut.png && cp ${_tp}/00000-fashion-mnist-psp-cpu/reals.png $d/bad/ && \
OMP_NUM_THREADS=1 $<TARGET_FILE:psp> encode --network ${_tp}/00000-fashion-mnist-psp-cpu/network-snapshot-000003.bin \
  --images $d/bad --outdir $d/out 2>&1 && \
sh ${GF_CLI_DIR}/expect_error.sh 'colour/c.png: is in colour, but the network reads grey images' \
  $<TARGET_FILE:psp> encode --network ${_tp}/00000-fashion-mnist-psp-cpu/network-snapshot-000003.bin \
  --images $d/colour --outdir $d/out2 && echo grey inputs checked")
set_tests_properties(cpu.psp_grey_encoder_colour_inputs PROPERTIES LABELS cpu FIXTURES_REQUIRED psp_trained
                     PASS_REGULAR_EXPRESSION "psp: skipped .*cut.png: truncated PNG: the file ends before its pixels do.*psp encode: 1 image -> .*grey inputs checked")

# pSp's encoder names, as written: a lower-case one is refused naming the flag
# and the three names (it was "psp config: unknown encoder_type", naming neither).
gf_expect_error(train_psp_encoder_type_case
                "^train_psp: error: --encoder-type must be GradualStyleEncoder, BackboneEncoderUsingLastLayerIntoW or BackboneEncoderUsingLastLayerIntoWPlus \\(pSp's names, case as written\\), got 'gradualstyleencoder'$" ""
                $<TARGET_FILE:train_psp> --encoder-type gradualstyleencoder --generator ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin
                --outdir ${CMAKE_BINARY_DIR}/test_psp_train_bad)

# pSp's train_options.py names of flags named otherwise here say which to give.
gf_expect_error(train_psp_official_exp_dir "^train_psp: error: --exp_dir is pSp's; here it is --outdir DIR" ""
                $<TARGET_FILE:train_psp> --exp_dir ${CMAKE_BINARY_DIR}/test_train_psp_bad)
# pSp's train_options.py flags with no counterpart here name what to use
# instead (they were "unknown option").
gf_expect_error(train_psp_learn_in_w "^train_psp: error: --learn_in_w is pSp's; here it is --encoder-type BackboneEncoderUsingLastLayerIntoW$" ""
                $<TARGET_FILE:train_psp> --learn_in_w)
gf_expect_error(train_psp_val_interval "^train_psp: error: --val_interval is pSp's; here the held-out loss is measured every --tick STEPS$" ""
                $<TARGET_FILE:train_psp> --val_interval 1000)
# A path that is there but is no file (a device; a FIFO the same) is said as such, not as missing.
gf_expect_error(train_psp_resume_not_a_file
                "^train_psp: error: --resume /dev/null: not a regular file \\(a pipe or device\\?\\) \\(a train_psp checkpoint" ""
                $<TARGET_FILE:train_psp> --resume /dev/null --outdir ${_tp}/bad)
# pSp's first validation (coach.validate at global_step 0: step 1 here) is a
# sanity pass that returns None after its fifth held-out batch: with 5
# batches (40 held-out images at batch 8) step 1 logs no held-out loss and
# writes no best_model.bin, step 3 does; with 4 batches (32) step 1 is
# validated. A run with no validated tick (--max-steps 0) has no
# best_model.bin, and its closing line names none (it named one).
gf_test(cpu.train_psp_first_step_sanity_pass
        COMMAND sh -c "d=${_tp}/sanity && rm -rf $d && run() { OMP_NUM_THREADS=1 $<TARGET_FILE:train_psp> --generator ${_tp_g} --cfg cpu \
--max-images 64 --batch 8 --max-steps 3 --tick 2 --snap 1 \"$@\" > /dev/null; } && \
run --val-images 40 --outdir $d/five && f=$d/five/00000-fashion-mnist-psp-cpu && \
head -1 $f/stats.jsonl | grep -vq val_loss && sed -n 2p $f/stats.jsonl | grep -q '\"val_loss\"' && \
grep -q 'best_model.bin: step 3,' $f/log.txt && ! grep -q 'best_model.bin: step 1,' $f/log.txt && \
run --val-images 32 --outdir $d/four && head -1 $d/four/00000-fashion-mnist-psp-cpu/stats.jsonl | grep -q '\"val_loss\"' && \
grep -q 'best_model.bin: step 1,' $d/four/00000-fashion-mnist-psp-cpu/log.txt && \
OMP_NUM_THREADS=1 $<TARGET_FILE:train_psp> --generator ${_tp_g} --cfg cpu --max-images 24 --val-images 8 --max-steps 0 \
--outdir $d/none > $d/none.log && test ! -e $d/none/00000-fashion-mnist-psp-cpu/best_model.bin && \
grep 'Done: ' $d/none.log | grep -vq best_model && echo as pSp")
set_tests_properties(cpu.train_psp_first_step_sanity_pass PROPERTIES PASS_REGULAR_EXPRESSION "as pSp")
# A decoder whose images overflow (toRGB biases of 3e38): every held-out
# loss is NaN. pSp's coach saves best_model.pt at its first validation
# whatever the loss (best_val_loss is None) and never after (no loss is below
# NaN); ganforge wrote none. The log warns at the tick the losses turn, and
# the status line says "nan", never printf's "-nan".
gf_test(cpu.train_psp_nan_losses
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_tp}/nan && rm -rf $d && mkdir -p $d && b='' && \
for n in G G_ema; do for r in 4 8 16 32; do b=\"$b $n.synthesis.b$r.torgb.bias=3e38\"; done; done && \
'${GF_PYTHON3}' ${GF_CLI_DIR}/edit_tensor.py ${_tp_g} $d/huge.bin $b && \
OMP_NUM_THREADS=1 $<TARGET_FILE:train_psp> --generator $d/huge.bin --cfg cpu --max-images 24 --val-images 8 --max-steps 3 \
--tick 1 --snap 1 --outdir $d > $d/log && f=$d/00000-fashion-mnist-psp-cpu && test -s $f/best_model.bin && \
grep -q '^best_model.bin: step 1, held-out loss nan (the first' $d/log && test $(grep -c '^best_model.bin' $d/log) = 1 && \
grep -q '^warning: .*val_loss.* not finite at tick 0: the run may have diverged' $d/log && test $(grep -c '^warning' $d/log) = 1 && \
! grep -q -- '-nan' $d/log && grep -q 'best_model.bin, the first held-out loss, NaN' $d/log && echo kept the first")
set_tests_properties(cpu.train_psp_nan_losses PROPERTIES PASS_REGULAR_EXPRESSION "kept the first")
