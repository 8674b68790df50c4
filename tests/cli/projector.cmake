# projector and generate --projected-w (included from CMakeLists.txt; helpers in helpers.cmake).
# A trained Fashion-MNIST generator (32x32, grey, w_dim 64, num_ws 8) projects
# one of its own images for a few steps with a thin VGG16; a stand-in ffmpeg
# (tests/cli/fake_ffmpeg.sh) on PATH records what the video writer sends it.
set(_pj ${CMAKE_BINARY_DIR}/test_projector)
set(_pj_G ${CMAKE_SOURCE_DIR}/tests/data/fashion_mnist_small_G.bin)
set(_pj_vgg ${_pj}/vgg16_thin.bin)
set(_pj_run $<TARGET_FILE:projector> --network ${_pj_G} --vgg16 ${_pj_vgg})  # a list, for direct calls
set(_pj_sh "$<TARGET_FILE:projector> --network ${_pj_G} --vgg16 ${_pj_vgg}")  # the same inside sh -c
set(_pj_fake "mkdir -p ${_pj}/fakebin && cp ${GF_CLI_DIR}/fake_ffmpeg.sh ${_pj}/fakebin/ffmpeg")

# The thin VGG16 (every width / 16, random weights) that the other tests
# load, and a random RGB generator of 512x512 (a few channels a layer),
# written by tools/reference/projector_reference.py (PyTorch: skipped without it).
set(_pj_G512 ${_pj}/G_512x3.bin)
gf_cli_test(projector_thin_vgg16 FRESH ${_pj} FIXTURES_SETUP projector_vgg16
            COMMAND sh -c "'${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77 && mkdir -p ${_pj} && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/reference/projector_reference.py --write-thin-vgg16 ${_pj_vgg} \
--write-test-generator ${_pj_G512}")
set_tests_properties(cpu.projector_thin_vgg16 PROPERTIES SKIP_RETURN_CODE 77)

# Five steps: the three files and the video, whose frames (target | image,
# RGB, 64x32) reach ffmpeg with the official writer's flags; target.png is
# the target itself (a square grey image of G's size goes through unchanged);
# generate --projected-w renders proj.png again, byte for byte, and warns that
# --seeds is ignored. The official script's two lines before the steps.
gf_cli_test(projector_run FIXTURES_REQUIRED projector_vgg16 FIXTURES_SETUP projected
            EXPECT "^Loading networks from \".*[.]bin\"[.][.][.]$" "^Computing W midpoint and stddev using 10000 samples[.][.][.]$"
                   "^step    5/5: dist [0-9.]+ loss [0-9.]+$" "^Elapsed: " "^warn: --seeds is ignored when using --projected-w$"
            REJECT ${GF_NONFINITE}
            COMMAND sh -c "d=${_pj}/run && rm -rf $d && mkdir -p $d && ${_pj_fake} && \
$<TARGET_FILE:generate> --network ${_pj_G} --seeds 7 --outdir $d/target && \
FAKE_FFMPEG_LOG=$d/ffmpeg.log PATH=${_pj}/fakebin:$PATH ${_pj_sh} --target $d/target/seed0007.png --num-steps 5 --outdir $d/out && \
test \"$(cat $d/ffmpeg.log.bytes)\" = 30720 && \
paste -sd ' ' $d/ffmpeg.log | grep -q -- '-f rawvideo -vcodec rawvideo -s 64x32 -pix_fmt rgb24 -r 10.00 -i - -an -vcodec libx264 -pix_fmt yuv420p -b:v 16M -f mp4 file:/' && \
test \"$(cat $d/out/proj.mp4)\" = 'fake mp4' && test \"$(ls $d/out | LC_ALL=C sort | paste -sd ' ' -)\" = 'proj.mp4 proj.png projected_w.npz target.png' && \
cmp $d/target/seed0007.png $d/out/target.png && \
$<TARGET_FILE:generate> --network ${_pj_G} --projected-w $d/out/projected_w.npz --seeds 1-3 --outdir $d/again && \
cmp $d/out/proj.png $d/again/proj00.png")

# The thread count changes no bit: the run above (all cores) again at 1 and
# at 3 threads gives the same w and image.
gf_cli_test(projector_threads FIXTURES_REQUIRED "projector_vgg16;projected" EXPECT "^same bits at 1 and 3 threads$"
            COMMAND sh -c "d=${_pj}/threads && rm -rf $d && for t in 1 3; do \
OMP_NUM_THREADS=$t ${_pj_sh} --target ${_pj}/run/target/seed0007.png --num-steps 5 --save-video false --outdir $d/t$t \
> /dev/null || exit 1; cmp ${_pj}/run/out/projected_w.npz $d/t$t/projected_w.npz && cmp ${_pj}/run/out/proj.png $d/t$t/proj.png \
|| exit 1; done && echo 'same bits at 1 and 3 threads'")

# The official loop in PyTorch (tools/reference/projector_reference.py) replays the
# run's draws: every step's w, dist and loss and the final noise buffers agree
# to 1e-4 of each tensor's largest value.
gf_cli_test(projector_parity FIXTURES_REQUIRED "projector_vgg16;projected"
            EXPECT "^projector_reference: 5 steps, 10 of 10 tensors within 0.0001 or 10x float32.s own distance up to 0.001$"
            COMMAND sh -c "d=${_pj}/parity && rm -rf $d && \
${_pj_sh} --target ${_pj}/run/out/target.png --num-steps 5 --save-video false --record-draws $d/draws --outdir $d/out && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/reference/projector_reference.py --network ${_pj_G} --vgg16 ${_pj_vgg} \
--draws $d/draws --target $d/out/target.png")

# The official target: a colour photo that is not square, centre-cropped,
# resized with PIL's Lanczos and, for this grey network, converted as PIL's
# convert('L'): target.png holds exactly PIL's pixels.
gf_cli_test(projector_target_as_pil FIXTURES_REQUIRED projector_vgg16 FIXTURES_SETUP pil_photo
            COMMAND sh -c "'${GF_PYTHON3}' -c 'import PIL, numpy' 2>/dev/null || exit 77 && d=${_pj}/pil && \
rm -rf $d && mkdir -p $d && '${GF_PYTHON3}' -c \"import numpy as np
from PIL import Image
Image.fromarray(np.random.RandomState(1).randint(0, 256, (45, 71, 3)).astype(np.uint8)).save('$d/photo.png')\" && \
${_pj_sh} --target $d/photo.png --num-steps 1 --save-video false --outdir $d/out && \
'${GF_PYTHON3}' -c \"import numpy as np
from PIL import Image
im = Image.open('$d/photo.png').convert('RGB')
w, h = im.size
s = min(w, h)
im = im.crop(((w - s) // 2, (h - s) // 2, (w + s) // 2, (h + s) // 2)).resize((32, 32), Image.LANCZOS).convert('L')
got = Image.open('$d/out/target.png')
assert got.mode == 'L', got.mode
assert (np.asarray(got) == np.asarray(im)).all(), np.abs(np.asarray(got).astype(int) - np.asarray(im)).max()
print('target.png: PIL pixels')\"")
set_tests_properties(cpu.projector_target_as_pil PROPERTIES SKIP_RETURN_CODE 77)

# The same for an RGB generator of 512x512, whose images (and target) are
# area-downsampled to 256 before the VGG; two steps (the first has learning
# rate 0), a non-square colour target.
gf_cli_test(projector_parity_512_rgb FIXTURES_REQUIRED "projector_vgg16;pil_photo"
            EXPECT "^projector_reference: 2 steps, 18 of 18 tensors within 0.0001 or 10x float32.s own distance up to 0.001$"
            COMMAND sh -c "d=${_pj}/parity512 && rm -rf $d && \
$<TARGET_FILE:projector> --network ${_pj_G512} --vgg16 ${_pj_vgg} --target ${_pj}/pil/photo.png --num-steps 2 \
--save-video false --record-draws $d/draws --outdir $d/out && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/reference/projector_reference.py --network ${_pj_G512} --vgg16 ${_pj_vgg} \
--draws $d/draws --target $d/out/target.png")

# numpy reads projected_w.npz ('w', float32 [1, 8, 64], nothing else), and
# generate reads numpy's own np.savez: two ws, the projected one first; the
# same w saved in Fortran order, and big-endian, renders the same image (it
# was refused).
gf_cli_test(projector_npz_numpy FIXTURES_REQUIRED projected
            COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77 && d=${_pj}/run && rm -rf $d/numpy && mkdir -p $d/numpy && \
'${GF_PYTHON3}' -c \"import numpy as np
a = np.load('$d/out/projected_w.npz')
assert list(a.keys()) == ['w'], a.keys()
w = a['w']
assert w.dtype == np.float32 and w.shape == (1, 8, 64), (w.dtype, w.shape)
np.savez('$d/numpy/two.npz', w=np.concatenate([w, w[:, ::-1]]))
np.savez('$d/numpy/fortran.npz', w=np.asfortranarray(w).astype('>f4'))\" && \
$<TARGET_FILE:generate> --network ${_pj_G} --projected-w $d/numpy/two.npz --outdir $d/numpy/out && \
cmp $d/out/proj.png $d/numpy/out/proj00.png && test -s $d/numpy/out/proj01.png && \
$<TARGET_FILE:generate> --network ${_pj_G} --projected-w $d/numpy/fortran.npz --outdir $d/numpy/fortran && \
cmp $d/out/proj.png $d/numpy/fortran/proj00.png")
set_tests_properties(cpu.projector_npz_numpy PROPERTIES SKIP_RETURN_CODE 77)

# --save-video false needs no ffmpeg; with it (the default) and no ffmpeg on
# PATH the run stops before any work, in one line, and makes no --outdir.
gf_cli_test(projector_no_video FIXTURES_REQUIRED "projector_vgg16;projected"
            COMMAND sh -c "d=${_pj}/novideo && rm -rf $d && mkdir -p $d/empty && \
PATH=$d/empty ${_pj_sh} --target ${_pj}/run/out/target.png --num-steps 1 --save-video false --outdir $d/out && \
test \"$(ls $d/out | LC_ALL=C sort | paste -sd ' ' -)\" = 'proj.png projected_w.npz target.png'")
# A relative --outdir beginning with '-' and one with a colon: ffmpeg gets
# the video as a file: URL, so it takes neither for an option or a protocol.
gf_test(cpu.projector_video_path_not_an_option FIXTURES_REQUIRED projector_vgg16 projected
        COMMAND sh -c "d=${_pj}/dash_out && rm -rf $d && mkdir -p $d && ${_pj_fake} && cd $d && \
for o in -out a:b; do FAKE_FFMPEG_LOG=$d/ffmpeg.log PATH=${_pj}/fakebin:$PATH ${_pj_sh} --target ${_pj}/run/out/target.png \
  --num-steps 1 --outdir $o > /dev/null && tail -n 1 $d/ffmpeg.log | grep -q \"^file:$o/proj.mp4[.].*[.]tmp$\" && \
  grep -qx 'fake mp4' $d/$o/proj.mp4 || exit 1; done && echo both videos written")
set_tests_properties(cpu.projector_video_path_not_an_option PROPERTIES PASS_REGULAR_EXPRESSION "both videos written")

# An output that is a folder (projected_w.npz here; proj.mp4 failed with
# std::filesystem's text after the whole projection) is refused before any
# work, leaving the earlier proj.png and no target.png. (The three results
# are replaced together, io::AtomicFileSet: test_atomic_file.)
gf_cli_test(projector_results_together FIXTURES_REQUIRED "projector_vgg16;projected"
            COMMAND sh -c "d=${_pj}/together && rm -rf $d && mkdir -p $d/out/projected_w.npz && echo old > $d/out/proj.png && \
! ${_pj_sh} --target ${_pj}/run/out/target.png --num-steps 1 --save-video false --outdir $d/out 2>$d/err >/dev/null && \
grep -qx 'projector: error: cannot write .*/projected_w.npz: a folder, not a file' $d/err && \
test \"$(cat $d/out/proj.png)\" = old && test \"$(ls -A $d/out | LC_ALL=C sort | paste -sd ' ' -)\" = 'proj.png projected_w.npz'")
gf_expect_error(projector_missing_ffmpeg "^projector: error: --save-video needs the ffmpeg program, which is not on PATH: install ffmpeg \\(e.g. apt-get install ffmpeg\\) or pass --save-video false$"
                "projector_vgg16;projected" ${CMAKE_COMMAND} -E env PATH=${_pj}/no-such-bin
                ${_pj_run} --target ${_pj}/run/out/target.png --outdir ${_pj}/missing_ffmpeg)
# ffmpeg failing: one line, no proj.mp4 or temporary left, and the three
# results, written before the video, kept.
gf_cli_test(projector_ffmpeg_fails FIXTURES_REQUIRED "projector_vgg16;projected"
            COMMAND sh -c "d=${_pj}/ffmpeg_fails && rm -rf $d && mkdir -p $d && \
FAKE_FFMPEG_LOG=$d/ffmpeg.log FAKE_FFMPEG_EXIT=3 PATH=${_pj}/fakebin:$PATH ${_pj_sh} \
--target ${_pj}/run/out/target.png --num-steps 1 --outdir $d/out 2>$d/err >/dev/null \
|| test $? = 1 && cat $d/err && grep -qx 'projector: error: ffmpeg failed writing .*/proj.mp4 (exit status 3)' $d/err && \
test -f $d/out/target.png && test -f $d/out/proj.png && test -f $d/out/projected_w.npz && test $(ls -A $d/out | wc -l) = 3")
# proj.mp4.<pid>.tmp already there (a projector of another PID namespace with
# this process id, on a shared volume): ffmpeg's -y wrote over it. The video
# now goes through a temporary of this process's own, and the other's is
# left whole. (exec keeps the shell's pid.)
gf_cli_test(projector_video_temporary_of_another FIXTURES_REQUIRED "projector_vgg16;projected"
            COMMAND sh -c "d=${_pj}/other_tmp && rm -rf $d && mkdir -p $d/out && FAKE_FFMPEG_LOG=$d/ffmpeg.log PATH=${_pj}/fakebin:$PATH sh -c 'echo theirs > $0/out/proj.mp4.$$.tmp && exec \"$@\"' $d ${_pj_sh} --target ${_pj}/run/out/target.png --num-steps 1 --outdir $d/out > /dev/null && tail -n 1 $d/ffmpeg.log | grep -q '/proj.mp4.[0-9]*-[0-9a-f]*.tmp$' && grep -qx 'fake mp4' $d/out/proj.mp4 && grep -qx theirs $d/out/proj.mp4.*.tmp && test $(ls -A $d/out | wc -l) = 5 && echo left whole")
set_tests_properties(cpu.projector_video_temporary_of_another PROPERTIES PASS_REGULAR_EXPRESSION "left whole")

# Ctrl-C (SIGINT), and SIGTERM, while ffmpeg writes the video (the stand-in
# writes its output at once, then hangs without reading, so the projector is
# still sending frames): the projector dies of the signal, ffmpeg with it,
# and neither proj.mp4 nor its temporary is left; the three results written
# before the video stay. env --default-signal: a background job of sh starts
# with SIGINT ignored, a projector run from a terminal with the default.
gf_cli_test(projector_interrupted_video FIXTURES_REQUIRED "projector_vgg16;projected"
            EXPECT "^SIGINT: exit status 130, no temporary$" "^SIGTERM: exit status 143, no temporary$"
            COMMAND sh -c "d=${_pj}/interrupted && rm -rf $d && mkdir -p $d && for sig in INT TERM; do \
rm -rf $d/out $d/ffmpeg.log.pid; \
FAKE_FFMPEG_LOG=$d/ffmpeg.log FAKE_FFMPEG_HANG=1 PATH=${_pj}/fakebin:$PATH env --default-signal=INT ${_pj_sh} \
--target ${_pj}/run/out/target.png --num-steps 12 --outdir $d/out > $d/log 2>&1 & p=$!; \
i=0; while [ ! -e $d/ffmpeg.log.pid ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; \
test -e $d/out/proj.mp4.$p.tmp || { cat $d/log; echo no temporary mid-video; kill $p; exit 1; }; \
kill -$sig $p; wait $p; rc=$?; f=$(cat $d/ffmpeg.log.pid); \
if kill -0 $f 2>/dev/null; then echo ffmpeg $f outlived the projector; kill $f; exit 1; fi; \
left=$(ls -A $d/out | LC_ALL=C sort | paste -sd ' ' -); \
test \"$left\" = 'proj.png projected_w.npz target.png' || { echo left: $left; exit 1; }; \
echo SIG$sig: exit status $rc, no temporary; done")

# Bad input: exit status 1 and one line naming the problem.
set(_pj_t ${_pj}/run/out/target.png)
set(_pj_bad ${CMAKE_BINARY_DIR}/test_projector_bad)  # outside ${_pj}, which the first test wipes
gf_expect_error(projector_missing_target "^projector: error: .*no-such.png: cannot open: No such file or directory$"
                projector_vgg16 ${_pj_run} --target ${_pj}/no-such.png --save-video false --outdir ${_pj_bad})
gf_expect_error(projector_corrupt_target "^projector: error: .*projector.cmake: " projector_vgg16
                ${_pj_run} --target ${CMAKE_CURRENT_LIST_FILE} --save-video false --outdir ${_pj_bad})
gf_expect_error(projector_wrong_family "^projector: error: .*pggan_32x1.bin holds a pggan network. the projector takes StyleGAN2 generators$"
                "projector_vgg16;projected" $<TARGET_FILE:projector> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin
                --vgg16 ${_pj_vgg} --target ${_pj_t} --save-video false --outdir ${_pj_bad})
# A network whose weights overflow (mapping weights of 1e30: NaN images): an
# all-NaN projected_w.npz and a black proj.png were written with exit 0.
# Refused before the output folder is made.
gf_expect_error(projector_nonfinite_network "^projector: error: --network .*overflow.bin: the projection is not finite \\(NaN or inf in w or in its image\\): the network's images overflow; nothing written$"
                "projector_vgg16;projected"
                sh -c "rm -rf ${_pj_bad}/nan && mkdir -p ${_pj_bad} && '${GF_PYTHON3}' ${GF_CLI_DIR}/edit_tensor.py ${_pj_G} ${_pj_bad}/overflow.bin mapping.fc0.weight=1e30 mapping.fc1.weight=1e30 && \
$<TARGET_FILE:projector> --network ${_pj_bad}/overflow.bin --vgg16 ${_pj_vgg} --target ${_pj_t} --num-steps 2 --save-video false --outdir ${_pj_bad}/nan >/dev/null; s=$?; test ! -e ${_pj_bad}/nan && exit $s")
gf_expect_error(projector_bad_save_video "^projector: error: --save-video expects true or false, got 'maybe'$" ""
                $<TARGET_FILE:projector> --network ${_pj_G} --vgg16 x --target x --save-video maybe --outdir ${_pj_bad})
gf_expect_error(projector_needs_vgg16 "^projector: error: --vgg16 is required \\(see --help\\)$" ""
                $<TARGET_FILE:projector> --network ${_pj_G} --target x --outdir ${_pj_bad})
gf_expect_error(projector_zero_steps "^projector: error: --num-steps" ""
                $<TARGET_FILE:projector> --network ${_pj_G} --vgg16 x --target x --num-steps 0 --outdir ${_pj_bad})
gf_expect_error(projector_bad_vgg16 "^projector: error: .*fashion_mnist_small_G.bin" "projected"
                ${_pj_run} --target ${_pj_t} --save-video false --outdir ${_pj_bad}
                --vgg16 ${_pj_G})
gf_expect_error(generate_projected_w_shape "^generate: error: --projected-w .*npz_numpy_w.npz: 'w' has shape \\[2, 3, 4\\], expected \\[N, 8, 64\\]" ""
                $<TARGET_FILE:generate> --network ${_pj_G} --projected-w ${CMAKE_SOURCE_DIR}/tests/data/npz_numpy_w.npz
                --outdir ${_pj_bad})
gf_expect_error(generate_projected_w_not_npz "^generate: error: --projected-w .*dataset_fixture.zip: holds no array 'w' \\(as projector writes it\\)$" ""
                $<TARGET_FILE:generate> --network ${_pj_G} --projected-w ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip
                --outdir ${_pj_bad})
gf_expect_error(generate_projected_w_pggan "^generate: error: --projected-w applies to StyleGAN2 networks. .*pggan_32x1.bin holds a PGGAN generator$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin
                --projected-w ${CMAKE_SOURCE_DIR}/tests/data/npz_numpy_w.npz --outdir ${_pj_bad})
gf_expect_error(generate_projected_w_and_w "^generate: error: --seeds, --z, --w, --projected-w, .* give one$" ""
                $<TARGET_FILE:generate> --network ${_pj_G} --projected-w x.npz --w x.npy --outdir ${_pj_bad})
# An --outdir that cannot be made is refused before any work.
gf_expect_error(projector_outdir_not_makeable "^projector: error: --outdir .*/CMakeLists.txt/out/target.png: cannot make its folder .*: Not a directory$" ""
                ${_pj_run} --target ${CMAKE_CURRENT_LIST_FILE} --save-video false --outdir ${CMAKE_SOURCE_DIR}/CMakeLists.txt/out)
# A generator of 4 (or 2) channels: its target was read as RGB and copied as
# 4 channels a pixel (a heap overrun: "double free or corruption"). Refused
# before the VGG16 loads, naming img_channels.
gf_expect_error(projector_four_channel_generator "^projector: error: .*/g4.bin: the generator makes images of 4 channels \\(img_channels\\); the projector matches grey \\(1\\) or RGB \\(3\\) targets$"
                "projector_vgg16;projected"
                sh -c "d=${_pj_bad}/four && rm -rf $d && mkdir -p $d && \
'${GF_PYTHON3}' -c \"import sys, torch; sys.path.insert(0, '${CMAKE_SOURCE_DIR}/tools/reference'); import stylegan2_reference as ref; \
G = ref.Generator(z_dim=8, w_dim=8, img_resolution=16, img_channels=4, mapping_layers=1, channel_base=64, channel_max=8); \
torch.save({'G_ema': G.state_dict()}, '$d/g4.pt')\" && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/g4.pt $d/g4.bin > /dev/null && \
exec $<TARGET_FILE:projector> --network $d/g4.bin --vgg16 ${_pj_vgg} --target ${_pj_t} --num-steps 2 --save-video false --outdir $d/out")
