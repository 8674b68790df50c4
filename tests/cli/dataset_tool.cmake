# dataset_tool (included from CMakeLists.txt; helpers in helpers.cmake).
# Sources written by tools/reference/dataset_tool_reference.py --make-sources (NumPy,
# Pillow and py-lmdb: skipped without them): colour images of odd, non-square
# sizes with labels, grey ones, a mixed-size folder, an MNIST-style IDX pair,
# a CIFAR-10-style tarball and an LSUN-style lmdb.
if(NOT GF_CUDA_EMU)  # test_dataset_tool.cpp has no [cuda] case: the emulated build compiles it not
  add_dependencies(gf_tests dataset_tool)
endif()
set(_dt ${CMAKE_BINARY_DIR}/test_dataset_tool)
set(_dt_ref "'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/reference/dataset_tool_reference.py")
set(_dt_bin $<TARGET_FILE:dataset_tool>)
# Its own subfolder alone is made afresh: the tests that need no sources write
# beside it in ${_dt} and may run meanwhile (a FRESH ${_dt} removed their files).
gf_cli_test(dataset_tool_sources FRESH ${_dt}/src FIXTURES_SETUP dataset_tool_sources
            COMMAND sh -c "'${GF_PYTHON3}' -c 'import PIL, numpy, lmdb' 2>/dev/null || exit 77 && \
${_dt_ref} --make-sources ${_dt}/src")
set_tests_properties(cpu.dataset_tool_sources PROPERTIES SKIP_RETURN_CODE 77)

# Against the official semantics (tools/reference/dataset_tool_reference.py): every
# PNG's pixels and dataset.json's bytes, per transform and filter.
# dataset_tool_official(name source-subfolder flags...)
function(dataset_tool_official name src)
  string(REPLACE ";" " " flags "${ARGN}")
  gf_cli_test(dataset_tool_official_${name} FIXTURES_REQUIRED dataset_tool_sources
              EXPECT "^dataset_tool_reference: [0-9]+ images, pixels and dataset.json equal$"
              COMMAND sh -c "rm -rf ${_dt}/${name} && ${_dt_bin} --source ${_dt}/src/${src} --dest ${_dt}/${name} ${flags} && \
${_dt_ref} --source ${_dt}/src/${src} --ours ${_dt}/${name} ${flags}")
endfunction()
dataset_tool_official(scale colour --width 32 --height 32)
dataset_tool_official(crop colour --transform center-crop --width 32 --height 32)
dataset_tool_official(crop_box colour --transform center-crop --width 16 --height 16 --resize-filter box)
dataset_tool_official(wide colour --transform center-crop-wide --width 32 --height 24)
dataset_tool_official(wide_box colour --transform center-crop-wide --width 32 --height 16 --resize-filter box)
dataset_tool_official(max_images colour --transform center-crop --width 16 --height 16 --max-images 2)
dataset_tool_official(grey_crop grey --transform center-crop --width 16 --height 16)
dataset_tool_official(grey_scale grey --width 16 --height 16 --resize-filter box)
# 1-bit PNGs: scaled NEAREST, as PIL resizes mode '1' (they were filtered);
# cropped (grey kept grey, where the official fails) they take the filter.
dataset_tool_official(bilevel_scale bilevel --width 16 --height 16)
dataset_tool_official(bilevel_crop bilevel --transform center-crop --width 16 --height 16)
dataset_tool_official(mnist mnist/train-images-idx3-ubyte.gz --max-images 5)
# CIFAR-10's tarball: batches pickled as Python 2 (the real file), Python 3's
# protocol 2 and protocol 5, read by data/archives/pickle_reader.h.
dataset_tool_official(cifar10 cifar/cifar-10-python.tar.gz)
dataset_tool_official(cifar10_max_images cifar/cifar-10-python.tar.gz --max-images 4 --width 16 --height 16)
# Bytes after the gzip stream (a server's error page appended to a download):
# Python's tarfile reads nothing past the archive's end block, and neither
# does dataset_tool (it refused the file: "no gzip member").
gf_cli_test(dataset_tool_official_cifar10_appended FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^dataset_tool_reference: [0-9]+ images, pixels and dataset.json equal$"
            COMMAND sh -c "d=${_dt}/cifar_appended && rm -rf $d && mkdir -p $d/src && \
{ cat ${_dt}/src/cifar/cifar-10-python.tar.gz && printf '<html>404 Not Found</html>'; } > $d/src/cifar-10-python.tar.gz && \
${_dt_bin} --source $d/src/cifar-10-python.tar.gz --dest $d/out && ${_dt_ref} --source $d/src/cifar-10-python.tar.gz --ours $d/out")
# LSUN's lmdb: key order, grey and RGBA records in colour, a record that is
# no image passed over without an index. --max-images 3 ends on that record,
# so the official takes the next one too: 3 images.
dataset_tool_official(lsun_crop lsun_lmdb --transform center-crop --width 16 --height 16)
dataset_tool_official(lsun_max_images lsun_lmdb --max-images 3 --width 16 --height 16)
gf_cli_test(dataset_tool_lsun_passes_over FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^dataset_tool: passed over .*/lsun_lmdb record 2 \\(key 'c-text'\\): not an image"
                   "^dataset_tool: 4 images of 32x32 RGB, no labels; 1 record passed over \\(not images\\)$"
            COMMAND sh -c "rm -rf ${_dt}/lsun_zip && ${_dt_bin} --source ${_dt}/src/lsun_lmdb/ --dest ${_dt}/lsun_zip/lsun.zip --width 32 --height 32")
gf_expect_error(dataset_tool_cifar10_bad_label "^dataset_tool: error: .*/cifar-10-python.tar.gz cifar-10-batches-py/data_batch_3: a label of 10, outside CIFAR-10's classes 0-9$"
                dataset_tool_sources ${_dt_bin} --source ${_dt}/src/cifar_bad_label/cifar-10-python.tar.gz --dest ${_dt}/never)
gf_expect_error(dataset_tool_lmdb_transparent "^dataset_tool: error: .*/transparent_lmdb record 4 \\(key 'e-rgba'\\): has transparent pixels"
                dataset_tool_sources  # its stdout says the passed-over record first
                sh -c "exec ${_dt_bin} --source ${_dt}/src/transparent_lmdb --dest ${_dt}/never --width 16 --height 16 > /dev/null")

# center-crop-wide 32x24 skips d.png (20 wide) and e.PNG (crop 21 high): the
# names keep the source index, as the official loop counts every image. The
# --dest folder exists and is empty (given as "skips/"): the dataset takes its place.
gf_cli_test(dataset_tool_skips_keep_index FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^dataset_tool: 3 images of 32x32 RGB, labelled; 2 skipped by center-crop-wide$"
            COMMAND sh -c "d=${_dt}/skips && rm -rf $d && mkdir -p $d && \
${_dt_bin} --source ${_dt}/src/colour --dest $d/ --transform center-crop-wide --width 32 --height 24 && \
test -z \"$(ls -d ${_dt}/skips.*tmp 2>/dev/null)\" && test \"$(cd $d && find . -type f | LC_ALL=C sort | paste -sd ' ' -)\" = \
'./00000/img00000000.png ./00000/img00000003.png ./00000/img00000004.png ./dataset.json'")

# An existing empty --dest folder is filled in place, keeping its inode and
# permissions (a mount point, a link to a folder and "." failed after the
# whole conversion before: the dataset was renamed over the folder); the
# hidden staging folder is gone. A --dest that is a link to nothing is
# refused before any work.
gf_cli_test(dataset_tool_fills_existing_folder FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^kept 2775 linked dot$"
            COMMAND sh -c "d=${_dt}/fill && rm -rf $d && mkdir -p $d/kept $d/real $d/dot && chmod 2775 $d/kept && \
i=$(stat -c %i $d/kept) && ln -s real $d/link && \
${_dt_bin} --source ${_dt}/src/colour --dest $d/kept --transform center-crop --width 16 --height 16 >/dev/null && \
test $(stat -c %i $d/kept) = $i && test -f $d/kept/dataset.json && test -z \"$(ls -A $d/kept | grep tmp)\" && \
${_dt_bin} --source ${_dt}/src/colour --dest $d/link --transform center-crop --width 16 --height 16 >/dev/null && \
test -L $d/link && test -f $d/real/dataset.json && \
(cd $d/dot && ${_dt_bin} --source ${_dt}/src/colour --dest . --transform center-crop --width 16 --height 16 >/dev/null) && \
test -f $d/dot/dataset.json && echo kept $(stat -c %a $d/kept) linked dot")
gf_expect_error(dataset_tool_dest_dangling_link "^dataset_tool: error: --dest .*/dangling: a link to nothing \\(nowhere\\)$"
                dataset_tool_sources
                sh -c "rm -f ${_dt}/dangling && ln -s nowhere ${_dt}/dangling && exec ${_dt_bin} --source ${_dt}/src/colour --dest ${_dt}/dangling")

# A .zip holds the same files, byte for byte, as the folder output; the MNIST
# zip is read back by the reference too.
gf_cli_test(dataset_tool_zip_equals_folder FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^same 6 files$" "^dataset_tool_reference: 5 images, pixels and dataset.json equal$"
            COMMAND sh -c "d=${_dt}/zip && rm -rf $d && \
${_dt_bin} --source ${_dt}/src/colour --dest $d/folder --transform center-crop --width 16 --height 16 && \
${_dt_bin} --source ${_dt}/src/colour --dest $d/sub/data.zip --transform center-crop --width 16 --height 16 && \
'${GF_PYTHON3}' -c \"import os, sys, zipfile
z = zipfile.ZipFile('$d/sub/data.zip')
assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
names = sorted(z.namelist())
files = sorted(os.path.relpath(os.path.join(r, f), '$d/folder') for r, _, fs in os.walk('$d/folder') for f in fs)
assert names == files, (names, files)
assert all(z.read(n) == open(os.path.join('$d/folder', n), 'rb').read() for n in names)
print('same', len(names), 'files')\" && \
${_dt_bin} --source ${_dt}/src/mnist/train-images-idx3-ubyte.gz --dest $d/mnist.zip --max-images 5 && \
${_dt_ref} --source ${_dt}/src/mnist/train-images-idx3-ubyte.gz --ours $d/mnist.zip --max-images 5 && \
test -z \"$(ls -a $d/sub | grep tmp)\"")

# .gz files as Python's gzip reads them: MNIST's images in two gzip members
# (`cat a.gz b.gz`, as pigz -i or a split download joined) with zero padding
# after, as the official (it was refused: the first member's size was the
# file's); bytes after the last member that are no member, and bytes between
# a member's data and its trailer, are refused (they were ignored).
gf_cli_test(dataset_tool_gzip_members FIXTURES_REQUIRED dataset_tool_sources EXPECT "^members read, damage refused$"
            COMMAND sh -c "d=${_dt}_gzip && rm -rf $d && mkdir -p $d/two $d/tail $d/inner && m=${_dt}/src/mnist && \
gzip -dc $m/train-images-idx3-ubyte.gz > $d/raw && head -c 1000 $d/raw | gzip -n > $d/two/train-images-idx3-ubyte.gz && \
tail -c +1001 $d/raw | gzip -n >> $d/two/train-images-idx3-ubyte.gz && head -c 64 /dev/zero >> $d/two/train-images-idx3-ubyte.gz && \
for x in two tail inner; do cp $m/train-labels-idx1-ubyte.gz $d/$x/; done && \
${_dt_bin} --source $d/two/train-images-idx3-ubyte.gz --dest $d/two.zip --max-images 5 > /dev/null && \
${_dt_ref} --source $m/train-images-idx3-ubyte.gz --ours $d/two.zip --max-images 5 > /dev/null && \
{ cat $m/train-images-idx3-ubyte.gz; printf 'junk'; } > $d/tail/train-images-idx3-ubyte.gz && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: .*/tail/train-images-idx3-ubyte.gz: 4 bytes after its gzip data at byte [0-9]+ are no gzip member \\(corrupt or appended data\\)$' \
${_dt_bin} --source $d/tail/train-images-idx3-ubyte.gz --dest $d/tail.zip && \
'${GF_PYTHON3}' -c \"
b = open('$m/train-images-idx3-ubyte.gz', 'rb').read()
open('$d/inner/train-images-idx3-ubyte.gz', 'wb').write(b[:-8] + b'xy' + b[-8:])\" && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: .*/inner/train-images-idx3-ubyte.gz: CRC mismatch \\(corrupt file\\)$' \
${_dt_bin} --source $d/inner/train-images-idx3-ubyte.gz --dest $d/inner.zip && \
test ! -e $d/tail.zip && test ! -e $d/inner.zip && echo members read, damage refused")

# Alpha, as the trainer's decoding (data/images/image_io.h): opaque everywhere is
# dropped (the pixels are the RGB ones), a transparent pixel is refused.
gf_cli_test(dataset_tool_alpha FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^dataset_tool: 1 image of 32x32 RGB, no labels$" "^alpha dropped$"
            COMMAND sh -c "d=${_dt}/alpha && rm -rf $d && ${_dt_bin} --source ${_dt}/src/opaque --dest $d && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I
a = np.array(I.open('${_dt}/src/opaque/a.png'))
b = np.array(I.open('$d/00000/img00000000.png'))
assert b.shape == (32, 32, 3) and np.array_equal(a[..., :3], b)
print('alpha dropped')\" && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: .*/transparent/a.png: has transparent pixels' \
${_dt_bin} --source ${_dt}/src/transparent --dest $d.zip && test ! -e $d.zip")

# Bad input: one line each, and no dataset (nor a temporary) left behind.
gf_expect_error(dataset_tool_missing_source "^dataset_tool: error: --source .*/nowhere: no such file or folder$" ""
                ${_dt_bin} --source ${_dt}/nowhere --dest ${_dt}/never)
# A cut MNIST .gz (the trial's head -c 100000): its last 8 bytes are deflate
# data, read as the trailer's size; it said "compressed data over 2 GiB is not
# supported". Both files beside each other, as MNIST's are; IDX headers
# counting 2^20 images and labels, so that the cut comes before the size.
gf_expect_error(dataset_tool_truncated_gz "^dataset_tool: error: .*/cut/train-images-idx3-ubyte.gz: truncated gzip file: its data ends inside member 1 \\(a cut download or copy\\?\\)$" ""
                sh -c "d=${_dt}_gz && rm -rf $d && mkdir -p $d/cut && \
{ printf '\\0\\0\\10\\3\\0\\20\\0\\0\\0\\0\\0\\34\\0\\0\\0\\34' && seq 1 200000; } | gzip -n -c > $d/full.gz && \
head -c 30000 $d/full.gz > $d/cut/train-images-idx3-ubyte.gz && \
{ printf '\\0\\0\\10\\1\\0\\20\\0\\0' && head -c 1048576 /dev/zero; } | gzip -n -c > $d/cut/train-labels-idx1-ubyte.gz && \
exec ${_dt_bin} --source $d/cut/train-images-idx3-ubyte.gz --dest $d/mn.zip")
gf_expect_error(dataset_tool_dest_not_empty "^dataset_tool: error: --dest folder .*/src must be empty$" dataset_tool_sources
                ${_dt_bin} --source ${_dt}/src/mnist/train-images-idx3-ubyte.gz --dest ${_dt}/src)
gf_expect_error(dataset_tool_not_square "^dataset_tool: error: images must be square after scale and crop, got 40x30 \\(from g1.png\\): " dataset_tool_sources
                ${_dt_bin} --source ${_dt}/src/grey --dest ${_dt}/never)
gf_expect_error(dataset_tool_not_power_of_two "^dataset_tool: error: image width/height after scale and crop must be a power of two, got 24 " dataset_tool_sources
                ${_dt_bin} --source ${_dt}/src/colour --dest ${_dt}/never --transform center-crop --width 24 --height 24)
gf_expect_error(dataset_tool_unknown_transform "^dataset_tool: error: --transform must be center-crop or center-crop-wide, got 'crop'$" ""
                ${_dt_bin} --source ${_dt}/src/colour --dest ${_dt}/never --transform crop --width 32 --height 32)
gf_expect_error(dataset_tool_crop_needs_size "^dataset_tool: error: --transform center-crop needs --width and --height$" ""
                ${_dt_bin} --source ${_dt}/src/colour --dest ${_dt}/never --transform center-crop)
# --dest made/../keep is the empty keep there: filled in place (its inode and
# mode kept, as for any existing --dest folder), not replaced by a rename.
gf_cli_test(dataset_tool_dest_through_new_folder FIXTURES_REQUIRED dataset_tool_sources EXPECT "^same folder$"
            COMMAND sh -c "d=${_dt}/through && rm -rf $d && mkdir -p $d/keep && chmod 700 $d/keep && \
i=$(stat -c %i $d/keep) && ${_dt_bin} --source ${_dt}/src/mnist/train-images-idx3-ubyte.gz --max-images 5 \
--dest $d/made/../keep > /dev/null && test ! -e $d/made && test -s $d/keep/dataset.json && \
test $(stat -c %i.%a $d/keep) = $i.700 && echo same folder")
# Refused half way: nothing left, neither the output nor the folders made for it (a new dest's parents).
gf_cli_test(dataset_tool_mixed_sizes FIXTURES_REQUIRED dataset_tool_sources
            COMMAND sh -c "rm -rf ${_dt}/mixed_out ${_dt}/mixed_new && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: image 00000/img00000001.png \\(from b.png\\) is 16x16 RGB, but 00000/img00000000.png \\(from a.png\\) is 32x32 RGB: all images must be alike after scale and crop; give --width and --height to scale them alike$' \
${_dt_bin} --source ${_dt}/src/mixed --dest ${_dt}/mixed_out && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: image 00000/img00000001.png' \
${_dt_bin} --source ${_dt}/src/mixed --dest ${_dt}/mixed_out.zip && \
test ! -e ${_dt}/mixed_out && test ! -e ${_dt}/mixed_out.zip && test -z \"$(ls -d ${_dt}/mixed_out*tmp 2>/dev/null)\" && \
for dest in ${_dt}/mixed_new/a/ds ${_dt}/mixed_new/b/ds.zip; do \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: image 00000/img00000001.png' ${_dt_bin} --source ${_dt}/src/mixed --dest $dest \
|| exit 1; done && test ! -e ${_dt}/mixed_new")
# Grey and colour images mixed are refused, as the official tool does; the
# line names the way out, which is true: train_stylegan --data takes the mix
# of one size (here scaled by PIL first).
gf_cli_test(dataset_tool_mixed_grey_colour FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^Dataset .*/grey_colour: 1 of 2 images are grey in a colour dataset: replicated to RGB" "^Done: "
            COMMAND sh -c "s=${_dt}/grey_colour && rm -rf $s ${_dt}/grey_colour_out* && mkdir -p $s && \
cp ${_dt}/src/grey/g1.png $s/a.png && cp ${_dt}/src/colour/x.png $s/b.png && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: image 00000/img00000001.png \\(from b.png\\) is 32x32 RGB, but 00000/img00000000.png \\(from a.png\\) is 32x32 grey: all images must be alike after scale and crop; the trainers. --data takes grey and colour images mixed \\(grey replicated to RGB\\) when all are one size$' \
${_dt_bin} --source $s --dest ${_dt}/grey_colour_out --width 32 --height 32 && test ! -e ${_dt}/grey_colour_out && \
for f in a b; do '${GF_PYTHON3}' -c \"import PIL.Image as I; I.open('$s/$f.png').resize((32, 32)).save('$s/$f.png')\"; done && \
$<TARGET_FILE:train_stylegan> --data $s --cfg tiny --kimg 0 --outdir ${_dt}/grey_colour_runs")

# A link back up the tree (a loop) is not followed, and said, not passed over in silence.
gf_cli_test(dataset_tool_link_loop FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^dataset_tool: passed over 1 entry of --source:$" "^  .*/loop_src/sub/up: a link to .*loop_src, inside or above the dataset folder: not followed$"
                   "^dataset_tool: 1 image of 32x32 RGB, no labels$"
            COMMAND sh -c "s=${_dt}/loop_src && rm -rf $s ${_dt}/loop_out && mkdir -p $s/sub && \
cp ${_dt}/src/mixed/a.png $s/ && ln -s .. $s/sub/up && exec ${_dt_bin} --source $s --dest ${_dt}/loop_out")

# An "_lmdb" folder without a database, an empty CIFAR-10 tarball: one line each, nothing written.
gf_cli_test(dataset_tool_lmdb_cifar_empty
            COMMAND sh -c "d=${_dt}_empty && rm -rf $d && mkdir -p $d/cat_lmdb && touch $d/cifar-10-python.tar.gz && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: .*/cat_lmdb: not an LMDB folder \\(data.mdb\\): No such file or directory$' \
${_dt_bin} --source $d/cat_lmdb --dest $d/out && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: .*/cifar-10-python.tar.gz: not a gzip file$' \
${_dt_bin} --source $d/cifar-10-python.tar.gz --dest $d/out && test ! -e $d/out")

# macOS metadata beside the images (__MACOSX/._a.png, ._b.png: AppleDouble
# bytes under an image's extension) is passed over, counted: the dataset is
# the one of the folder without it.
gf_cli_test(dataset_tool_apple_double FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^dataset_tool: passed over 2 macOS metadata files" "^dataset_tool_reference: [0-9]+ images, pixels and dataset.json equal$"
            COMMAND sh -c "s=${_dt}/apple_src && rm -rf $s ${_dt}/apple && cp -r ${_dt}/src/colour $s && mkdir -p $s/__MACOSX && \
printf '\\000\\005\\026\\007 AppleDouble' > $s/__MACOSX/._a.png && printf '\\000\\005\\026\\007 AppleDouble' > $s/._b.png && \
${_dt_bin} --source $s --dest ${_dt}/apple --width 32 --height 32 && \
${_dt_ref} --source ${_dt}/src/colour --ours ${_dt}/apple --width 32 --height 32")

# Images by PIL's extensions, as dataset_tool.py's is_image_ext: a BMP named
# .dib is converted (it was dropped, shifting every later name), a backup
# a.png~ is not (it was read by content).
gf_cli_test(dataset_tool_pil_extensions FRESH ${_dt}/pil_ext EXPECT "^dataset_tool: 2 images of 8x8 RGB"
            COMMAND sh -c "'${GF_PYTHON3}' -c 'import PIL, numpy' 2>/dev/null || exit 77; d=${_dt}/pil_ext && mkdir -p $d/src && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I; im = I.fromarray(np.full((8, 8, 3), 40, np.uint8)); \
im.save('$d/src/a.png'); im.save('$d/src/b.dib', format='BMP'); im.save('$d/src/c.png~', format='PNG')\" && \
${_dt_bin} --source $d/src --dest $d/out.zip")
set_tests_properties(cpu.dataset_tool_pil_extensions PROPERTIES SKIP_RETURN_CODE 77)
# A dataset.json with NaN (Python's json writes it; JSON has none): the
# parser's words and where, not "not a dataset.json".
gf_expect_error(dataset_tool_labels_nan "^dataset_tool: error: .*/dataset.json: not JSON: NaN at line 1, column 23 " ""
                sh -c "d=${_dt}/nan && rm -rf $d && mkdir -p $d && \
{ printf 'P5 8 8 255\\n' && head -c 64 /dev/zero; } > $d/0.pgm && \
printf '{\"labels\": [[\"0.pgm\", NaN]]}' > $d/dataset.json && exec ${_dt_bin} --source $d --dest ${_dt}/nan.zip")
# WebP (lossy, lossless, opaque alpha, animated, EXIF-oriented) through
# libwebp: the pixels Pillow gives the official tools.
gf_test(cpu.dataset_tool_webp_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/webp_like_pil.py ${_dt_bin} ${_dt}/webp)
set_tests_properties(cpu.dataset_tool_webp_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "WebP files read as Pillow reads them" SKIP_RETURN_CODE 77)
# GIF (stb_image, its first frame composed as Pillow composes it: a frame
# inside a larger screen or past a smaller one, the background index not 0).
gf_test(cpu.dataset_tool_gif_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/gif_like_pil.py ${_dt_bin} ${_dt}/gif)
set_tests_properties(cpu.dataset_tool_gif_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "GIF files read as Pillow reads them" SKIP_RETURN_CODE 77)
# JPEG through libjpeg-turbo with Pillow's settings: the same bytes as Pillow.
gf_test(cpu.dataset_tool_jpeg_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/jpeg_like_pil.py ${_dt_bin} ${_dt}/jpeg)
set_tests_properties(cpu.dataset_tool_jpeg_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "JPEG files read as Pillow reads them" SKIP_RETURN_CODE 77)
# PNG through libpng: every colour type and bit depth, plain and interlaced,
# every filter: Pillow's bytes (16-bit grey rounded, where Pillow keeps I;16).
gf_test(cpu.dataset_tool_png_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/png_like_pil.py ${_dt_bin} ${_dt}/png)
set_tests_properties(cpu.dataset_tool_png_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "PNG files of [0-9]+ kinds read as Pillow reads them" SKIP_RETURN_CODE 77)
# PCX (Pillow's modes 1, L, P and RGB, 2 and 4-plane palettes, its stride
# rules and slips) against Pillow; what Pillow refuses, refused.
gf_test(cpu.dataset_tool_pcx_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/pcx_like_pil.py ${_dt_bin} ${_dt}/pcx)
set_tests_properties(cpu.dataset_tool_pcx_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "PCX files of [0-9]+ kinds read as Pillow reads them" SKIP_RETURN_CODE 77)
# BMP, TGA, PNG, GIF and PNM corner cases (palettes shorter than their
# indices, grey palettes, BMP 16- and 32-bit layouts, TGA mirroring and
# colour maps, PNM rounding): Pillow's pixels and grey or RGB.
gf_test(cpu.dataset_tool_formats_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/formats_like_pil.py ${_dt_bin} ${_dt}/formats)
set_tests_properties(cpu.dataset_tool_formats_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "image files of [0-9]+ groups read as Pillow reads them" SKIP_RETURN_CODE 77)
# PSDs in grey, bitmap, indexed, CMYK, multichannel and duotone mode (stb
# reads RGB alone): Pillow's pixels; what Pillow refuses, and Lab, refused.
gf_test(cpu.dataset_tool_psd_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/psd_like_pil.py ${_dt_bin} ${_dt}/psd)
set_tests_properties(cpu.dataset_tool_psd_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "PSD files of [0-9]+ groups read as Pillow reads them" SKIP_RETURN_CODE 77)
# TIFF (libtiff): compressions, alpha, palette, pages, the Orientation tag,
# A damaged data.mdb: liblmdb trusts its pages, and a page header that is no
# leaf's (its assertion: SIGABRT), a node reaching past the map (SIGBUS) or a
# page size of 0 in the meta page (SIGFPE) killed the program, leaving the
# zip's temporary. Its reader is a child process now: one line each, what
# died and after how many records; nothing written. A node whose data size
# reads 4 GiB had the whole claim allocated (and zeroed): refused by size.
gf_cli_test(dataset_tool_lmdb_damaged FIXTURES_REQUIRED dataset_tool_sources EXPECT "^refused 4$"
            COMMAND sh -c "d=${_dt}_lmdb_damaged && rm -rf $d && mkdir -p $d/out && '${GF_PYTHON3}' -c \"
import os, struct
src = open('${_dt}/src/lsun_lmdb/data.mdb', 'rb').read()
first_node = 2 * 4096 + struct.unpack_from('<H', src, 2 * 4096 + 16)[0]  # page 2, a leaf: its first node's offset
for name, edits in (('leaf', ((3 * 4096 + 8, (1 << 63).to_bytes(8, 'little')),)),
                    ('node', ((2 * 4096 + 19, bytes((0xff, 0x0f, 0))),)),
                    ('psize', ((34, bytes((6,))), (41, bytes((0,))))),
                    ('size', ((first_node, bytes((0xff,)) * 4),))):
    b = bytearray(src)
    for at, new in edits: b[at:at + len(new)] = new
    os.makedirs('$d/' + name); open('$d/' + name + '/data.mdb', 'wb').write(b)\" && n=0 && \
for c in 'leaf SIGABRT: mdb.c:[0-9]+: Assertion .IS_LEAF' 'node SIGBUS, a read past its pages' 'psize SIGFPE, a page size of 0'; do \
  sh ${GF_CLI_DIR}/expect_error.sh \"^dataset_tool: error: .*/\${c%% *}: data.mdb is damaged: liblmdb died reading it \\(\${c#* }.*\\) after [0-9]+ records?$\" \
    sh -c \"exec ${_dt_bin} --source $d/\${c%% *} --dest $d/out/o.zip --width 16 --height 16 > /dev/null\" && \
  test -z \"$(ls $d/out)\" && n=$((n + 1)) || exit 1; done && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: .*/size: data.mdb is damaged: a record claims 4294967295 bytes, more than the file.s [0-9]+$' \
  ${_dt_bin} --source $d/size --dest $d/out/o.zip --width 16 --height 16 && test -z \"$(ls $d/out)\" && echo refused $((n + 1))")

# An image named with a newline, the first without a label: the warning
# that names it is one line (it was two), the name escaped as in errors.
gf_cli_test(dataset_tool_warning_one_line FIXTURES_REQUIRED dataset_tool_sources EXPECT "^one line$"
            COMMAND sh -c "d=${_dt}_warning && rm -rf $d && mkdir -p $d && '${GF_PYTHON3}' -c \"
import io, json, zipfile, numpy as np, PIL.Image as I
b = io.BytesIO(); I.fromarray(np.zeros((8, 8, 3), np.uint8)).save(b, format='PNG')
with zipfile.ZipFile('$d/src.zip', 'w') as z:
    z.writestr('a.png', b.getvalue()); z.writestr('b\\nx.png', b.getvalue())
    z.writestr('dataset.json', json.dumps({'labels': [['a.png', 0]]}))\" && \
err=$(${_dt_bin} --source $d/src.zip --dest $d/out.zip 2>&1 >/dev/null) && printf '%s\\n' \"$err\" && \
test $(printf '%s\\n' \"$err\" | wc -l) = 1 && printf '%s\\n' \"$err\" | grep -q '(the first: b.nx.png)' && echo one line")

# A 1-bit PNG in an lmdb: the official decodes records with cv2 (8-bit
# colour), so it is scaled with the filter, not NEAREST as from a folder.
gf_cli_test(dataset_tool_lmdb_bilevel_filtered FIXTURES_REQUIRED dataset_tool_sources
            EXPECT "^dataset_tool_reference: 1 images, pixels and dataset.json equal$"
            COMMAND sh -c "d=${_dt}_lmdb_bilevel && rm -rf $d && mkdir -p $d && '${GF_PYTHON3}' -c \"
import io, lmdb, numpy as np, PIL.Image as I
b = io.BytesIO(); I.fromarray(np.random.default_rng(5).integers(0, 2, (37, 53)).astype(bool)).save(b, format='PNG')
with lmdb.open('$d/bilevel_lmdb', map_size=1 << 22).begin(write=True) as txn: txn.put(b'a', b.getvalue())\" && \
${_dt_bin} --source $d/bilevel_lmdb --dest $d/out.zip --width 16 --height 16 > /dev/null && \
${_dt_ref} --source $d/bilevel_lmdb --ours $d/out.zip --width 16 --height 16")

# 1-, 8- and 16-bit grey, against Pillow's pixels.
# JPEG 2000 (OpenJPEG, as Pillow): .jp2 and .j2k, colour and grey, 16 bits, tiles.
gf_test(cpu.dataset_tool_jpeg2000_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/jpeg2000_like_pil.py ${_dt_bin} ${_dt}/jpeg2000)
set_tests_properties(cpu.dataset_tool_jpeg2000_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "JPEG 2000 files read as Pillow reads them" SKIP_RETURN_CODE 77)
gf_test(cpu.dataset_tool_tiff_like_pil COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/tiff_like_pil.py ${_dt_bin} ${_dt}/tiff)
set_tests_properties(cpu.dataset_tool_tiff_like_pil PROPERTIES PASS_REGULAR_EXPRESSION "TIFF files read as Pillow reads them" SKIP_RETURN_CODE 77)
# An lmdb cut short (its pages past the end were a SIGBUS, leaving the zip's
# temporary), and one with a record of a format PIL reads and ganforge does
# not (it was passed over, shifting every later name): one line each, nothing left.
gf_cli_test(dataset_tool_lmdb_cut_or_foreign FIXTURES_REQUIRED dataset_tool_sources EXPECT "^refused$"
            COMMAND sh -c "d=${_dt}_lmdb_bad && rm -rf $d && mkdir -p $d/cut_lmdb && \
head -c 12288 ${_dt}/src/lsun_lmdb/data.mdb > $d/cut_lmdb/data.mdb && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: .*/cut_lmdb: data.mdb is cut short \\(12288 bytes, its pages need [0-9]+\\): a truncated download or copy\\?$' \
${_dt_bin} --source $d/cut_lmdb --dest $d/out.zip && test \"$(ls $d)\" = cut_lmdb && \
'${GF_PYTHON3}' -c \"import io, lmdb, numpy as np, PIL.Image as I
env = lmdb.open('$d/ico_lmdb', map_size=1 << 22)
with env.begin(write=True) as txn:
    for k, fmt in ((b'a', 'PNG'), (b'b', 'ICO'), (b'c', 'PNG')):
        b = io.BytesIO(); I.fromarray(np.full((8, 8, 3), 9, np.uint8)).save(b, format=fmt); txn.put(k, b.getvalue())\" && \
sh ${GF_CLI_DIR}/expect_error.sh '^dataset_tool: error: .*/ico_lmdb record 1 \\(key .b.\\): an ICO image, which the official tool reads \\(PIL\\) and ganforge cannot: ' \
${_dt_bin} --source $d/ico_lmdb --dest $d/out.zip && test \"$(LC_ALL=C ls $d | paste -sd ' ' -)\" = 'cut_lmdb ico_lmdb' && echo refused")
# Which files are images, as the official tool picks them (is_image_ext of
# the whole path, os.path.isfile): ".png" and "..png" are images (the
# trainers' splitext rule left them out, shifting every later image's name),
# a file "png" is none; a dangling link and a FIFO under an image's name are
# passed over (they stopped the run); a '\' in a name is '/' for its label;
# a .ico past --max-images is never opened (it stopped the run). Against
# the reference; then a zip, whose entry "png" IS an image officially
# (is_image_ext of the bare name): the order .png, a.png, png, sub/.png, z.png.
gf_test(cpu.dataset_tool_official_names
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import PIL, numpy, lmdb' 2>/dev/null || exit 77; d=${_dt}/names && rm -rf $d && \
mkdir -p $d/src $d/ico && '${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I, json, zipfile, io; d = '$d'; \
png = lambda v: I.fromarray(np.full((8, 8, 3), v, np.uint8)); \
names = {'a.png': 10, '.png': 20, '..png': 30, 'z.png': 40, 'png': 50, 'a\\\\\\\\b.png': 60}; \
[png(v).save(d + '/src/' + n, format='PNG') for n, v in names.items()]; \
json.dump({'labels': [[n.replace(chr(92), '/'), v] for n, v in names.items()]}, open(d + '/src/dataset.json', 'w')); \
[png(v).save(d + '/ico/' + n) for n, v in (('a.png', 1), ('b.png', 2))]; png(3).save(d + '/ico/z.ico'); \
z = zipfile.ZipFile(d + '/odd.zip', 'w'); \
[z.writestr(n, (lambda b: (png(v).save(b, format='PNG'), b.getvalue())[1])(io.BytesIO())) \
 for n, v in (('a.png', 10), ('png', 20), ('.png', 30), ('sub/.png', 40), ('z.png', 50), ('sub/png', 60))]; z.close()\" && \
ln -s /nonexistent/x.png $d/src/b.png && mkfifo $d/src/c.png && \
${_dt_bin} --source $d/src --dest $d/out > $d/log && ${_dt_ref} --source $d/src --ours $d/out && \
grep -q 'src/b.png: a link to nothing' $d/log && \
${_dt_bin} --source $d/ico --dest $d/ico_out --max-images 2 > /dev/null && ${_dt_ref} --source $d/ico --ours $d/ico_out --max-images 2 && \
${_dt_bin} --source $d/odd.zip --dest $d/odd_out > /dev/null && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I; \
got = [int(np.asarray(I.open('$d/odd_out/00000/img%08d.png' % i))[0, 0, 0]) for i in range(5)]; \
assert got == [30, 10, 20, 40, 50], got; print('zip names as the official')\"")
set_tests_properties(cpu.dataset_tool_official_names PROPERTIES SKIP_RETURN_CODE 77
                     PASS_REGULAR_EXPRESSION "5 images, pixels and dataset.json equal\n.*2 images, pixels and dataset.json equal\n.*zip names as the official")
# File names that are no valid UTF-8 (a Latin-1 name) sort as Python sorts
# them (surrogateescape: 0xF5 is U+DCF5, after U+00E9 and before U+E000 and
# U+1F600), against the reference, which sorts os.walk's str names.
gf_test(cpu.dataset_tool_undecodable_names_order
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import PIL, numpy, lmdb' 2>/dev/null || exit 77; d=${_dt}/undecodable && rm -rf $d && mkdir -p $d/src && \
'${GF_PYTHON3}' -c \"import os, numpy as np, PIL.Image as I; d = b'$d/src/'; \
[I.fromarray(np.full((8, 8, 3), v, np.uint8)).save(open(d + n, 'wb'), format='PNG') \
 for n, v in ((b'\\\\xf5.png', 10), ('\\\\U0001f600.png'.encode(), 20), (b'\\\\xc3.png', 30), ('\\\\xe9.png'.encode(), 40), ('\\\\ue000.png'.encode(), 50), (b'a.png', 60))]\" && \
${_dt_bin} --source $d/src --dest $d/out > /dev/null && ${_dt_ref} --source $d/src --ours $d/out")
set_tests_properties(cpu.dataset_tool_undecodable_names_order PROPERTIES SKIP_RETURN_CODE 77
                     PASS_REGULAR_EXPRESSION "dataset_tool_reference: 6 images, pixels and dataset.json equal")
# A --dest holding another dataset_tool's staging folder: one whose process
# still runs is at work there (the advice to remove it broke that run), one
# whose process is gone was left by an interrupted run.
gf_test(cpu.dataset_tool_dest_staging_folder
        COMMAND sh -c "d=${_dt}/staging && rm -rf $d && mkdir -p $d/live/.dataset_tool.$$.tmp && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 0 --outdir $d/src > /dev/null && \
p=$(sh -c 'echo $$') && mkdir -p $d/gone/.dataset_tool.$p.tmp && \
sh ${GF_CLI_DIR}/expect_error.sh \"^dataset_tool: error: --dest folder .*live must be empty. it holds .dataset_tool.$$.tmp, the folder of a dataset_tool at work there \\\\(process $$. \" \
  ${_dt_bin} --source $d/src --dest $d/live && \
sh ${GF_CLI_DIR}/expect_error.sh \"^dataset_tool: error: --dest folder .*gone must be empty. it holds .dataset_tool.$p.tmp, left by an interrupted dataset_tool: remove it$\" \
  ${_dt_bin} --source $d/src --dest $d/gone && echo staging named")
set_tests_properties(cpu.dataset_tool_dest_staging_folder PROPERTIES PASS_REGULAR_EXPRESSION "staging named")
# A new --dest is built in <dest>.<pid>.tmp; one of that name already there
# (a dataset_tool of another PID namespace with this process id, on a shared
# volume) was removed first, under the other's feet: now this run builds in
# a folder of its own and leaves that one whole. (exec keeps the shell's pid.)
gf_test(cpu.dataset_tool_staging_of_another_namespace
        COMMAND sh -c "d=${_dt}/namespace && rm -rf $d && mkdir -p $d && $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 0 --outdir $d/src > /dev/null && sh -c 'mkdir $0/out.$$.tmp && echo theirs > $0/out.$$.tmp/keep && exec $1 --source $0/src --dest $0/out > /dev/null' $d ${_dt_bin} && test -s $d/out/dataset.json && test $(ls $d | wc -l) = 3 && grep -q theirs $d/out.*.tmp/keep && echo left whole")
set_tests_properties(cpu.dataset_tool_staging_of_another_namespace PROPERTIES PASS_REGULAR_EXPRESSION "left whole")
