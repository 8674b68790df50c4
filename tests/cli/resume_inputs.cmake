# --resume's inputs, for every trainer: the dataset is known by content, not
# name (a renamed copy resumes, other images of the same name and count do
# not, named as other pixels; other labels: train_stylegan.cmake); train_psp takes its first command's --generator again; a file without
# D starts D afresh, said in the log, and refuses --freezed; StyleGAN (v1)
# adopts the file's architecture over --cfg's; v1's default --snap is the
# official 10. Data: 12 Fashion-MNIST images in ds.zip, the same bytes in
# ds_copy.zip, 12 others (the test split's, under the training split's file
# names, which dataset_tool asks for) in other/ds.zip, ds16.zip at 16x16 (and
# ds256.zip at 256x256), and
# rgb.zip: 4 RGB images of 32x32 (a parity network's).
set(_ri ${GF_TEST_RUNS}/resume_inputs)
set(_fm /usr/share/datasets/fashion-mnist)
gf_test(cpu.resume_inputs_data FIXTURES_SETUP resume_inputs
        COMMAND sh -c "[ -f ${_fm}/t10k-images-idx3-ubyte.gz ] || exit 77; d=${_ri} && rm -rf $d && mkdir -p $d/other && \
export OMP_NUM_THREADS=1 && \
$<TARGET_FILE:dataset_tool> --source ${_fm}/train-images-idx3-ubyte.gz --dest $d/ds.zip --max-images 12 >/dev/null && \
cp $d/ds.zip $d/ds_copy.zip && \
mkdir $d/t10k && cp ${_fm}/t10k-images-idx3-ubyte.gz $d/t10k/train-images-idx3-ubyte.gz && \
cp ${_fm}/t10k-labels-idx1-ubyte.gz $d/t10k/train-labels-idx1-ubyte.gz && \
$<TARGET_FILE:dataset_tool> --source $d/t10k/train-images-idx3-ubyte.gz --dest $d/other/ds.zip --max-images 12 >/dev/null && \
$<TARGET_FILE:dataset_tool> --source $d/ds.zip --dest $d/ds16.zip --width 16 --height 16 >/dev/null && \
$<TARGET_FILE:dataset_tool> --source $d/ds.zip --dest $d/ds256.zip --width 256 --height 256 >/dev/null && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_orig.bin --class 1 --seeds 0-3 \
  --outdir $d/rgb_imgs >/dev/null && \
$<TARGET_FILE:dataset_tool> --source $d/rgb_imgs --dest $d/rgb.zip >/dev/null && \
$<TARGET_FILE:train_stylegan> --cfg tiny --data $d/ds.zip --kimg 0.008 --outdir $d/sg2 >/dev/null && \
$<TARGET_FILE:train_pggan> --cfg tiny --data $d/ds.zip --kimg 0.008 --outdir $d/pg >/dev/null && \
$<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --data $d/ds.zip --kimg 0.008 --outdir $d/v1 >/dev/null && \
$<TARGET_FILE:train_psp> --generator $d/sg2/00000-ds-tiny-kimg0.008/network-snapshot-000000.bin --data $d/ds.zip --cfg cpu \
  --batch 2 --val-images 2 --max-steps 2 --outdir $d/psp >/dev/null && \
$<TARGET_FILE:export_weights> --in $d/sg2/00000-ds-tiny-kimg0.008/network-snapshot-000000.bin --net G_ema --out $d/sg2_gema.bin >/dev/null && \
$<TARGET_FILE:export_weights> --in $d/pg/00000-ds-pggan-tiny/network-snapshot-000000.bin --net G_ema --out $d/pg_gema.bin >/dev/null && \
$<TARGET_FILE:export_weights> --in $d/v1/00000-ds-stylegan-tiny/network-snapshot-000000.bin --net G_ema --out $d/v1_gema.bin >/dev/null && \
echo resume inputs made")
set_tests_properties(cpu.resume_inputs_data PROPERTIES PASS_REGULAR_EXPRESSION "resume inputs made")

set(_ri_env ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1)
# 1. The dataset by content, in each trainer.
gf_cli_test(train_stylegan_resume_dataset_copy FRESH ${_ri}/sg2_copy EXPECT "resumed from" FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds_copy.zip --kimg 0.012
                    --resume ${_ri}/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin --outdir ${_ri}/sg2_copy)
gf_expect_error(train_stylegan_resume_other_dataset
                "^train_stylegan: error: .*checkpoint.bin: made on dataset 'ds' \\(12 images\\), but this run has 'ds' \\(12 images, other pixels"
                resume_inputs $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/other/ds.zip --kimg 0.012
                --resume ${_ri}/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin --outdir ${_ri}/bad)
gf_cli_test(train_pggan_resume_dataset_copy FRESH ${_ri}/pg_copy EXPECT "resumed from" FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_pggan> --cfg tiny --data ${_ri}/ds_copy.zip --kimg 0.012
                    --resume ${_ri}/pg/00000-ds-pggan-tiny/checkpoint.bin --outdir ${_ri}/pg_copy)
gf_expect_error(train_pggan_resume_other_dataset "^train_pggan: error: .*checkpoint.bin: made on dataset 'ds' .*other pixels"
                resume_inputs $<TARGET_FILE:train_pggan> --cfg tiny --data ${_ri}/other/ds.zip --kimg 0.012
                --resume ${_ri}/pg/00000-ds-pggan-tiny/checkpoint.bin --outdir ${_ri}/bad)
gf_cli_test(train_stylegan_v1_resume_dataset_copy FRESH ${_ri}/v1_copy EXPECT "resumed from" FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --data ${_ri}/ds_copy.zip --kimg 0.012
                    --resume ${_ri}/v1/00000-ds-stylegan-tiny/checkpoint.bin --outdir ${_ri}/v1_copy)
gf_expect_error(train_stylegan_v1_resume_other_dataset "^train_stylegan: error: .*checkpoint.bin: made on dataset 'ds' .*other pixels"
                resume_inputs $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --data ${_ri}/other/ds.zip --kimg 0.012
                --resume ${_ri}/v1/00000-ds-stylegan-tiny/checkpoint.bin --outdir ${_ri}/bad)
# 2. train_psp: the first command plus --resume (its --generator too, here
# through a renamed copy: by content) resumes; another generator file is refused.
gf_cli_test(train_psp_resume_same_generator FRESH ${_ri}/psp_copy EXPECT "resumed from .* at step 2" FIXTURES_REQUIRED resume_inputs
            COMMAND sh -c "cp ${_ri}/sg2/00000-ds-tiny-kimg0.008/network-snapshot-000000.bin ${_ri}/G_copy.bin && \
OMP_NUM_THREADS=1 exec $<TARGET_FILE:train_psp> --generator ${_ri}/G_copy.bin --data ${_ri}/ds_copy.zip --cfg cpu \
  --batch 2 --val-images 2 --max-steps 3 --resume ${_ri}/psp/00000-ds-psp-cpu/checkpoint.bin --outdir ${_ri}/psp_copy")
gf_expect_error(train_psp_resume_other_generator
                "^train_psp: error: --generator .*sg2_gema.bin is not the generator the run resumed from .*checkpoint.bin started from \\(.*network-snapshot-000000.bin; other content\\)"
                resume_inputs $<TARGET_FILE:train_psp> --generator ${_ri}/sg2_gema.bin --data ${_ri}/ds.zip --cfg cpu
                --batch 2 --val-images 2 --max-steps 3 --resume ${_ri}/psp/00000-ds-psp-cpu/checkpoint.bin --outdir ${_ri}/bad)
# 3. v1's default --snap is the official 10 ticks (StyleGAN2's stays 50).
gf_test(cpu.train_stylegan_default_snap FIXTURES_REQUIRED resume_inputs
        COMMAND sh -c "grep -q '\"snap\": 10' ${_ri}/v1/00000-ds-stylegan-tiny/training_options.json && \
grep -q '\"snap\": 50' ${_ri}/sg2/00000-ds-tiny-kimg0.008/training_options.json")
# 4. A generator alone: D starts afresh, said in the log; --freezed is refused.
gf_cli_test(train_stylegan_resume_generator_only FRESH ${_ri}/sg2_g EXPECT "D starts from random weights: .*sg2_gema.bin holds no discriminator"
            FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds.zip --kimg 0.004
                    --resume ${_ri}/sg2_gema.bin --outdir ${_ri}/sg2_g)
gf_expect_error(train_stylegan_resume_generator_only_freezed
                "^train_stylegan: error: --freezed 2 keeps D's layers from --resume, but .*sg2_gema.bin holds no discriminator"
                resume_inputs $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds.zip --kimg 0.004
                --resume ${_ri}/sg2_gema.bin --freezed 2 --outdir ${_ri}/bad)
# A config error of the flags is the command line's, not the resumed file's
# (it was named after the file).
gf_expect_error(train_stylegan_resume_flags_config
                "^train_stylegan: error: config: batch 4 must be divisible by the replica count 3 \\(--gpus, or the processes launched\\)$"
                resume_inputs $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds.zip --kimg 0.004
                --resume ${_ri}/sg2_gema.bin --batch 4 --gpus 3 --outdir ${_ri}/bad)
gf_cli_test(train_pggan_resume_generator_only FRESH ${_ri}/pg_g EXPECT "D starts from random weights: .*pg_gema.bin holds no discriminator"
            FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_pggan> --cfg tiny --data ${_ri}/ds.zip --kimg 0.004
                    --resume ${_ri}/pg_gema.bin --outdir ${_ri}/pg_g)
gf_cli_test(train_stylegan_v1_resume_generator_only FRESH ${_ri}/v1_g EXPECT "D starts from random weights: .*v1_gema.bin holds no discriminator"
            FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --data ${_ri}/ds.zip --kimg 0.004
                    --resume ${_ri}/v1_gema.bin --outdir ${_ri}/v1_g)
# A generator alone under another --cfg: D gets the generator's widths (as
# every official config pairs them), not --cfg's, and the options say so.
gf_test(cpu.resume_generator_only_d_widths FIXTURES_REQUIRED resume_inputs
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_ri} && s=${GF_CLI_DIR} && export OMP_NUM_THREADS=1 && \
rm -rf $d/widths && mkdir -p $d/widths && \
$<TARGET_FILE:train_stylegan> --cfg small --data $d/ds.zip --resume $d/sg2_gema.bin --dry-run > $d/widths/sg2.txt && \
'${GF_PYTHON3}' $s/same_options.py $d/widths/sg2.txt D_kwargs.channel_base=G_kwargs.channel_base \
  D_kwargs.channel_max=G_kwargs.channel_max spec.channel_base=G_kwargs.channel_base >/dev/null && \
$<TARGET_FILE:train_pggan> --cfg cpu --data $d/ds.zip --kimg 0 --resume $d/pg_gema.bin --outdir $d/widths/pg >/dev/null && \
'${GF_PYTHON3}' $s/same_options.py $d/widths/pg/00000-ds-pggan-cpu/training_options.json \
  D_kwargs.fmap_base=G_kwargs.fmap_base D_kwargs.fmap_max=G_kwargs.fmap_max spec.fmap_base=G_kwargs.fmap_base \
  spec.fmap_max=G_kwargs.fmap_max >/dev/null && \
$<TARGET_FILE:train_stylegan> --arch stylegan --cfg cpu --data $d/ds.zip --kimg 0 --resume $d/v1_gema.bin \
  --outdir $d/widths/v1 >/dev/null && \
'${GF_PYTHON3}' $s/same_options.py $d/widths/v1/00000-ds-stylegan-cpu/training_options.json \
  D_kwargs.fmap_base=G_kwargs.fmap_base D_kwargs.fmap_max=G_kwargs.fmap_max && echo D sized as G")
set_tests_properties(cpu.resume_generator_only_d_widths PROPERTIES PASS_REGULAR_EXPRESSION "D sized as G")
# 5. v1 takes the file's architecture: a tiny snapshot resumes under --cfg cpu
# (other sizes); data of another resolution is one line.
gf_cli_test(train_stylegan_v1_resume_adopts_architecture FRESH ${_ri}/v1_cpu EXPECT "resumed from .*network-snapshot-000000.bin"
            FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_stylegan> --arch stylegan --cfg cpu --data ${_ri}/ds.zip --kimg 0.004
                    --resume ${_ri}/v1/00000-ds-stylegan-tiny/network-snapshot-000000.bin --outdir ${_ri}/v1_cpu)
gf_expect_error(train_stylegan_v1_resume_other_resolution
                "^train_stylegan: error: .*network-snapshot-000000.bin: its networks make 32x32x1 images with 0 labels, but ds16 has 16x16x1 .*--resume needs data the networks fit"
                resume_inputs $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --data ${_ri}/ds16.zip --kimg 0.004
                --resume ${_ri}/v1/00000-ds-stylegan-tiny/network-snapshot-000000.bin --outdir ${_ri}/bad)
# A StyleGAN2 snapshot on data of another resolution trains, as the official
# train.py builds G and D for the data and copies in the tensors that fit by
# name (the log says which; test_training.cpp holds the weights); a
# checkpoint continues its own run and refuses, naming the way.
gf_cli_test(train_stylegan_resume_snapshot_other_resolution FRESH ${_ri}/sg2_16
            EXPECT "network-snapshot-000000.bin holds networks of 32x32x1 images with 0 labels: built for ds16's 16x16x1 images with 0 labels, they take the file's tensors that fit by name, as the official resume copies them"
                   "^G and G_ema: [0-9]+ tensors copied; 19 \\(synthesis.b32\\) of the file's unused$"
                   "^D: [0-9]+ tensors copied; 3 \\(b16.fromrgb\\) at their initialization; 12 \\(b32\\) of the file's unused$"
            FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds16.zip --kimg 0.004
                    --resume ${_ri}/sg2/00000-ds-tiny-kimg0.008/network-snapshot-000000.bin --outdir ${_ri}/sg2_16)
# Built for the data with the file's widths: a tiny file's channel_base
# gives no channels at 256 px, said with what the networks were built for.
gf_expect_error(train_stylegan_resume_widths_at_data_resolution
                "^train_stylegan: error: .*parity_32x1.bin: SynthesisNetwork: .*no channels at 256x256 \\(the networks built for ds256's 256x256x1 images with 0 labels, with the file's widths\\)$"
                resume_inputs $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds256.zip --kimg 0.004
                --resume ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --outdir ${_ri}/bad)
gf_expect_error(train_stylegan_resume_other_resolution
                "^train_stylegan: error: .*checkpoint.bin: a checkpoint continues its run on its own data \\('ds', 32x32x1 images with 0 labels\\), not on ds16's 16x16x1 images with 0 labels: resume a snapshot of the run \\(network-snapshot-\\*.bin\\) to train its networks on this data, built for it with the snapshot's tensors that fit by name, as the official resume does$"
                resume_inputs $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds16.zip --kimg 0.004
                --resume ${_ri}/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin --outdir ${_ri}/bad)
# The line says what to change: --cond, or the data the file was made on.
gf_expect_error(train_stylegan_resume_cond_added
                "^train_stylegan: error: .*sg2_gema.bin: its networks are not conditional, but ds has [0-9]+ labels: leave --cond out; the official resume fails there too \\(mapping.fc0 takes the label embedding beside z\\)$"
                resume_inputs $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds.zip --cond --kimg 0.004
                --resume ${_ri}/sg2_gema.bin --outdir ${_ri}/bad)
# A grey snapshot (or generator) on RGB data trains, as the official
# train.py's copy_ broadcasts toRGB/fromRGB to three channels (the log says
# so; test_training.cpp holds the weights); v1 and PGGAN (the TensorFlow
# code, whose networks are the pickle's) and a checkpoint refuse, and so do
# RGB networks on grey data (copy_ cannot narrow [3, C, 1, 1] to [1, C, 1, 1]).
gf_cli_test(train_stylegan_resume_grey_on_rgb FRESH ${_ri}/grey_rgb
            EXPECT "network-snapshot-000000.bin holds networks of 32x32x1 images with 0 labels: built for rgb's 32x32x3 images with 0 labels, they take"
                   "G and G_ema: [0-9]+ tensors copied, 8 \\(synthesis.b4.torgb, synthesis.b8.torgb, synthesis.b16.torgb, synthesis.b32.torgb\\) broadcast$"
                   "D: [0-9]+ tensors copied, 1 \\(b32.fromrgb\\) broadcast$"
            FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/rgb.zip --kimg 0.004
                    --resume ${_ri}/sg2/00000-ds-tiny-kimg0.008/network-snapshot-000000.bin --outdir ${_ri}/grey_rgb)
gf_cli_test(train_stylegan_resume_grey_generator_on_rgb FRESH ${_ri}/grey_g_rgb
            EXPECT "D starts from random weights: .*sg2_gema.bin holds no discriminator"
                   "sg2_gema.bin holds networks of 32x32x1 images with 0 labels: built for rgb's"
                   "G and G_ema: [0-9]+ tensors copied, 8 \\(synthesis.b4.torgb, synthesis.b8.torgb, synthesis.b16.torgb, synthesis.b32.torgb\\) broadcast$"
            FIXTURES_REQUIRED resume_inputs
            COMMAND ${_ri_env} $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/rgb.zip --kimg 0.004
                    --resume ${_ri}/sg2_gema.bin --outdir ${_ri}/grey_g_rgb)
gf_expect_error(train_stylegan_resume_rgb_on_grey
                "^train_stylegan: error: .*parity_256x3.bin: G built for ds's 32x32x1 images with 0 labels: tensor 'synthesis.b4.torgb.weight' has shape \\[3, [0-9]+, 1, 1\\], which does not broadcast to \\[1, [0-9]+, 1, 1\\]$"
                resume_inputs $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/ds.zip --kimg 0.004
                --resume ${CMAKE_SOURCE_DIR}/tests/data/parity_256x3.bin --outdir ${_ri}/bad)
gf_expect_error(train_stylegan_resume_grey_checkpoint_on_rgb
                "^train_stylegan: error: .*checkpoint.bin: a checkpoint continues its run on its own data \\('ds', 32x32x1 images with 0 labels\\), not on rgb's 32x32x3 images with 0 labels: resume a snapshot of the run \\(network-snapshot-\\*.bin\\) to train its networks on this data, built for it with the snapshot's tensors that fit by name, as the official resume does$"
                resume_inputs $<TARGET_FILE:train_stylegan> --cfg tiny --data ${_ri}/rgb.zip --kimg 0.004
                --resume ${_ri}/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin --outdir ${_ri}/bad)
gf_expect_error(train_stylegan_v1_resume_grey_on_rgb
                "^train_stylegan: error: .*network-snapshot-000000.bin: its networks make 32x32x1 images with 0 labels, but rgb has 32x32x3 with 0 labels: --resume needs data the networks fit$"
                resume_inputs $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --data ${_ri}/rgb.zip
                --kimg 0.004 --resume ${_ri}/v1/00000-ds-stylegan-tiny/network-snapshot-000000.bin --outdir ${_ri}/bad)
foreach(_from pg/00000-ds-pggan-tiny/network-snapshot-000000 pg_gema)
  get_filename_component(_name ${_from} NAME)
  gf_expect_error(train_pggan_resume_grey_on_rgb_${_name}
                  "^train_pggan: error: .*${_name}.bin: its networks make 32x32x1 images with 0 labels, but rgb has 32x32x3 with 0 labels: --resume needs data the networks fit$"
                  resume_inputs $<TARGET_FILE:train_pggan> --cfg tiny --data ${_ri}/rgb.zip --kimg 0.004
                  --resume ${_ri}/${_from}.bin --outdir ${_ri}/bad)
endforeach()
# PGGAN likewise, from a snapshot and from a checkpoint.
foreach(_from network-snapshot-000000 checkpoint)
  gf_expect_error(train_pggan_resume_other_resolution_${_from}
                  "^train_pggan: error: .*${_from}.bin: its networks make 32x32x1 images with 0 labels, but ds16 has 16x16x1 .*--resume needs data the networks fit"
                  resume_inputs $<TARGET_FILE:train_pggan> --cfg tiny --data ${_ri}/ds16.zip --kimg 0.004
                  --resume ${_ri}/pg/00000-ds-pggan-tiny/${_from}.bin --outdir ${_ri}/bad)
endforeach()
# Checkpoints written before the content keys (made here by removing them):
# the dataset is compared by name and count as then (the same data resumes, a
# renamed copy does not); train_psp's --generator is refused, naming why.
gf_test(cpu.resume_checkpoints_without_keys FIXTURES_REQUIRED resume_inputs
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_ri} && s=${GF_CLI_DIR} && export OMP_NUM_THREADS=1 && rm -rf $d/old && mkdir -p $d/old && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin $d/old/sg2.bin dataset_key && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/psp/00000-ds-psp-cpu/checkpoint.bin $d/old/psp.bin dataset_key \
  spec.generator spec.generator_key && \
$<TARGET_FILE:train_stylegan> --cfg tiny --data $d/ds.zip --kimg 0.012 --resume $d/old/sg2.bin --outdir $d/old/runs \
  | grep -q 'resumed from' && \
sh $s/expect_error.sh \"made on dataset 'ds' \\(12 images\\), but this run has 'ds_copy' \\(12 images\\): --data\" \
  $<TARGET_FILE:train_stylegan> --cfg tiny --data $d/ds_copy.zip --kimg 0.012 --resume $d/old/sg2.bin --outdir $d/bad && \
sh $s/expect_error.sh 'old/psp.bin predates recording its generator and brings its decoder; leave --generator out' \
  $<TARGET_FILE:train_psp> --generator $d/sg2/00000-ds-tiny-kimg0.008/network-snapshot-000000.bin --data $d/ds.zip --cfg cpu \
  --batch 2 --val-images 2 --max-steps 3 --resume $d/old/psp.bin --outdir $d/bad && \
$<TARGET_FILE:train_psp> --data $d/ds.zip --cfg cpu --batch 2 --val-images 2 --max-steps 3 --resume $d/old/psp.bin \
  --outdir $d/old/runs | grep -q 'resumed from .* at step 2' && echo old checkpoints resumed")
set_tests_properties(cpu.resume_checkpoints_without_keys PROPERTIES PASS_REGULAR_EXPRESSION "old checkpoints resumed")
# A diverged run's checkpoint: Adam's exp_avg_sq of an overflowing gradient
# is inf, pl_mean and w_avg NaN, as the official run holds them and trains
# on. Each was refused ("element [0] is inf"), so the run could not go on;
# now it resumes, with a warning line. Weights that are not finite are still
# refused, and a snapshot with a NaN w_avg generates at psi 1 (the official
# uses w_avg only to truncate) and is refused at psi 0.5 (NaN images).
gf_test(cpu.resume_diverged_checkpoints FIXTURES_REQUIRED resume_inputs
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_ri} && s=${GF_CLI_DIR} && export OMP_NUM_THREADS=1 && \
rm -rf $d/div && mkdir -p $d/div && sg=$d/sg2/00000-ds-tiny-kimg0.008 && \
'${GF_PYTHON3}' $s/edit_tensor.py $sg/checkpoint.bin $d/div/sg2.bin D_opt.b4.fc.bias.exp_avg_sq=inf state.pl_mean=nan \
  G.mapping.w_avg=nan G_ema.mapping.w_avg=nan && \
'${GF_PYTHON3}' $s/edit_tensor.py $sg/checkpoint.bin $d/div/weights.bin G.mapping.fc0.weight=nan && \
'${GF_PYTHON3}' $s/edit_tensor.py $d/pg/00000-ds-pggan-tiny/checkpoint.bin $d/div/pg.bin D_opt.4x4/Conv/bias.exp_avg_sq=inf && \
'${GF_PYTHON3}' $s/edit_tensor.py $sg/network-snapshot-000000.bin $d/div/snap.bin G_ema.mapping.w_avg=nan && \
$<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $d/div/sg2.bin --outdir $d/div/runs > $d/div/sg2.log && \
grep -q \"^warning: .*div/sg2.bin holds values that are not finite (first in 'D_opt.b4.fc.bias.exp_avg_sq'): the run had diverged\" $d/div/sg2.log && \
for f in $d/div/runs/*/network-snapshot-*.bin; do $<TARGET_FILE:generate> --network $f --seeds 0 --trunc 1 --outdir $d/div/after > /dev/null || exit 1; done && \
test -s $d/div/after/seed0000.png && \
$<TARGET_FILE:train_pggan> --data $d/ds.zip --kimg 0.012 --resume $d/div/pg.bin --outdir $d/div/runs | grep -q 'holds values that are not finite' && \
sh $s/expect_error.sh \"div/weights.bin: tensor 'G.mapping.fc0.weight': element \\[0, 0\\] is nan\" \
  $<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $d/div/weights.bin --outdir $d/bad && \
'${GF_PYTHON3}' $s/edit_tensor.py $sg/checkpoint.bin $d/div/m1.bin D_opt.b4.fc.bias.exp_avg=nan && \
'${GF_PYTHON3}' $s/edit_tensor.py $sg/checkpoint.bin $d/div/m2.bin D_opt.b4.fc.bias.exp_avg_sq=nan && \
sh $s/expect_error.sh \"div/m1.bin: tensor 'D_opt.b4.fc.bias.exp_avg': element \\[0\\] is nan\" \
  $<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $d/div/m1.bin --outdir $d/bad && \
sh $s/expect_error.sh \"div/m2.bin: tensor 'D_opt.b4.fc.bias.exp_avg_sq': element \\[0\\] is nan\" \
  $<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $d/div/m2.bin --outdir $d/bad && \
$<TARGET_FILE:generate> --network $d/div/snap.bin --seeds 0 --outdir $d/div/psi1 > /dev/null && test -s $d/div/psi1/seed0000.png && \
sh $s/expect_error.sh \"image 0 \\(seed0000.png\\) is not finite \\(NaN or inf\\): the network's G_ema.mapping.w_avg is not finite \\(its training diverged\\), and truncation uses it: --trunc 1 generates without it\" \
  $<TARGET_FILE:generate> --network $d/div/snap.bin --seeds 0 --trunc 0.5 --outdir $d/div/psi05 && echo diverged runs resume")
set_tests_properties(cpu.resume_diverged_checkpoints PROPERTIES PASS_REGULAR_EXPRESSION "diverged runs resume")
# A damaged spec in a checkpoint, refused naming the file: gpus 0 divided by
# zero (SIGFPE); v1's D_repeats 0 looped forever, its adam_beta2 1.5 trained NaN.
gf_test(cpu.resume_checkpoint_damaged_spec FIXTURES_REQUIRED resume_inputs
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_ri} && s=${GF_CLI_DIR} && export OMP_NUM_THREADS=1 && \
rm -rf $d/spec && mkdir -p $d/spec && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin $d/spec/gpus0.bin spec.gpus=0 && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/v1/00000-ds-stylegan-tiny/checkpoint.bin $d/spec/repeats0.bin spec.D_repeats=0 && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/v1/00000-ds-stylegan-tiny/checkpoint.bin $d/spec/beta2.bin spec.adam_beta2=1.5 && \
'${GF_PYTHON3}' $s/edit_tensor.py $d/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin $d/spec/pl.bin state.pl_mean=-5 && \
'${GF_PYTHON3}' $s/edit_tensor.py $d/pg/00000-ds-pggan-tiny/checkpoint.bin $d/spec/lod.bin state.prev_lod=99 && \
'${GF_PYTHON3}' $s/edit_tensor.py $d/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin $d/spec/nimg.bin state.cur_nimg=0 && \
sh $s/expect_error.sh \"spec/nimg.bin: 'state.cur_nimg' 0 is not 'state.batch_idx' [0-9]+ times the batch [0-9]+: the counters disagree\" \
  $<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $d/spec/nimg.bin --outdir $d/bad && \
sh $s/expect_error.sh 'spec/gpus0.bin: metadata spec: config: gpus must be at least 1, got 0' \
  $<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $d/spec/gpus0.bin --outdir $d/bad && \
sh $s/expect_error.sh 'spec/repeats0.bin: metadata spec: StyleGAN spec: D_repeats and minibatch_repeats must be at least 1' \
  timeout 60 $<TARGET_FILE:train_stylegan> --arch stylegan --data $d/ds.zip --kimg 0.012 --resume $d/spec/repeats0.bin --outdir $d/bad && \
sh $s/expect_error.sh 'spec/beta2.bin: metadata spec: StyleGAN spec: Adam betas must be in' \
  $<TARGET_FILE:train_stylegan> --arch stylegan --data $d/ds.zip --kimg 0.012 --resume $d/spec/beta2.bin --outdir $d/bad && \
sh $s/expect_error.sh \"spec/pl.bin: 'state.pl_mean' is -5.000000, but a mean of path lengths is >= 0\" \
  $<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $d/spec/pl.bin --outdir $d/bad && \
sh $s/expect_error.sh \"spec/lod.bin: 'state.prev_lod' is 99.000000, outside \\[-1, 3.000000\\] for 32x32 data\" \
  $<TARGET_FILE:train_pggan> --data $d/ds.zip --kimg 0.012 --resume $d/spec/lod.bin --outdir $d/bad && \
echo damaged specs refused")
set_tests_properties(cpu.resume_checkpoint_damaged_spec PROPERTIES PASS_REGULAR_EXPRESSION "damaged specs refused")
# A checkpoint of another format (another version's, another family's) or
# with training state but no format tag: one line, in every trainer. Such
# files were resumed as snapshots, their progress and settings dropped.
gf_test(cpu.resume_checkpoint_of_other_format FIXTURES_REQUIRED resume_inputs
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_ri} && s=${GF_CLI_DIR} && o=$d/other_format && \
export OMP_NUM_THREADS=1 && rm -rf $o && mkdir -p $o && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin $o/sg2.bin format=ganforge-stylegan2-checkpoint/2 && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/sg2/00000-ds-tiny-kimg0.008/checkpoint.bin $o/sg2_untagged.bin format && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/pg/00000-ds-pggan-tiny/checkpoint.bin $o/pg.bin format=ganforge-stylegan2-checkpoint/1 && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/v1/00000-ds-stylegan-tiny/checkpoint.bin $o/v1.bin format=ganforge-stylegan-checkpoint-v2 && \
'${GF_PYTHON3}' $s/edit_metadata.py $d/psp/00000-ds-psp-cpu/checkpoint.bin $o/psp.bin format=ganforge-psp-checkpoint/2 && \
sh $s/expect_error.sh \"^train_stylegan: error: .*/sg2.bin: its format is 'ganforge-stylegan2-checkpoint/2', but --resume here takes a checkpoint of format 'ganforge-stylegan2-checkpoint/1' \\(this build's\\) or a network file\" \
  $<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $o/sg2.bin --outdir $o/runs && \
sh $s/expect_error.sh \"^train_stylegan: error: .*/sg2_untagged.bin: holds training state \\('state\\.[a-z_]+'\\) but no format tag\" \
  $<TARGET_FILE:train_stylegan> --data $d/ds.zip --kimg 0.012 --resume $o/sg2_untagged.bin --outdir $o/runs && \
sh $s/expect_error.sh \"^train_pggan: error: .*/pg.bin: its format is 'ganforge-stylegan2-checkpoint/1', but --resume here takes a checkpoint of format 'ganforge-pggan-checkpoint/1'\" \
  $<TARGET_FILE:train_pggan> --data $d/ds.zip --kimg 0.012 --resume $o/pg.bin --outdir $o/runs && \
sh $s/expect_error.sh \"^train_stylegan: error: .*/v1.bin: its format is 'ganforge-stylegan-checkpoint-v2'\" \
  $<TARGET_FILE:train_stylegan> --arch stylegan --data $d/ds.zip --kimg 0.012 --resume $o/v1.bin --outdir $o/runs && \
sh $s/expect_error.sh \"^train_psp: error: .*/psp.bin: its format is 'ganforge-psp-checkpoint/2'\" \
  $<TARGET_FILE:train_psp> --data $d/ds.zip --cfg cpu --batch 2 --val-images 2 --max-steps 3 --resume $o/psp.bin --outdir $o/runs && \
test ! -e $o/runs && echo other formats refused")
set_tests_properties(cpu.resume_checkpoint_of_other_format PROPERTIES PASS_REGULAR_EXPRESSION "other formats refused")
