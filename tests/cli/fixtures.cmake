# The golden-data and fixture scripts of tools/fixtures/ run again give what
# tests/data holds (tests/cli/regenerated_same.py): a script that stopped
# running or drifted from the data fails here (make_stylegan_fixtures.py had
# silently stopped running until a session needed it). One entry per
# script, into its own folder; the scripts' pickles and .pt stand-ins are
# the conversion tests' (tests/test_convert_*.py).
set(_rg ${CMAKE_BINARY_DIR}/test_regenerated)
# What the scripts import (pydeps.require's); torchvision only for the two
# that check the perceptual networks' names against it.
set(_rg_need "'${GF_PYTHON3}' -c 'import torch, scipy, PIL' 2>/dev/null || exit 77")
set(_rg_vision "'${GF_PYTHON3}' -c 'import torchvision' 2>/dev/null || exit 77")
# scikit-learn (python3-sklearn) for the Linear Separability fixtures' LinearSVC.
set(_rg_sklearn "'${GF_PYTHON3}' -c 'import sklearn' 2>/dev/null || exit 77")
# [out] scripts: the file their --help names; --outdir ones: the files each must write.
set(_rg_files_make_augment_fixtures augment_pipe.bin)
set(_rg_files_make_parity_fixtures parity_256x3.bin,parity_256x3_io.bin,parity_32x1.bin,parity_32x1_io.bin,parity_32x3_c4.bin,parity_32x3_c4_io.bin,parity_32x3_orig.bin,parity_32x3_orig_io.bin)
set(_rg_files_make_ls_fixtures ls_classifiers.bin,ls_golden.bin)
set(_rg_files_make_pggan_fixtures pggan_16x3_c3.bin,pggan_16x3_c3_io.bin,pggan_32x1.bin,pggan_32x1_io.bin,pggan_8x3_ablations.bin,pggan_8x3_ablations_io.bin)
set(_rg_files_make_psp_fixtures psp_gradual.bin,psp_gradual_io.bin,psp_irse50_names.json,psp_w.bin,psp_w_io.bin,psp_wplus.bin,psp_wplus_io.bin)
set(_rg_files_make_psp_train_fixtures psp_arcface.bin,psp_lpips.bin,psp_losses_io.bin,psp_moco.bin,psp_optim_io.bin,resnet50_names.json)
set(_rg_files_make_step_fixtures step_ada.bin,step_cond_replicas.bin,step_pggan_fade.bin,step_pggan_stable_cond.bin,step_stylegan_fade.bin,step_stylegan_stable_cond.bin,step_uncond_mirror.bin)
set(_rg_files_make_stylegan_fixtures stylegan_128x1_c2.bin,stylegan_128x1_c2_io.bin,stylegan_16x3.bin,stylegan_16x3_io.bin,stylegan_8x3_ablations.bin,stylegan_8x3_ablations_io.bin)
foreach(_s make_conv_golden make_gan_golden_a make_gan_golden_b make_grid_sample_golden make_inception_fixtures
           make_latent_walk_golden make_metrics_golden make_modconv_golden make_pggan_metrics_golden
           make_pil_resize_golden make_ppl_fixtures make_psp_ops_golden make_resize_nearest_golden
           make_resize_tf1_golden make_vgg16_fixtures make_zip_methods_fixture
           make_augment_fixtures make_parity_fixtures make_pggan_fixtures make_psp_fixtures make_psp_train_fixtures
           make_step_fixtures make_stylegan_fixtures make_ls_fixtures)
  set(_mode "")
  if(DEFINED _rg_files_${_s})
    set(_mode "--outdir ${_rg_files_${_s}}")
  endif()
  set(_need "${_rg_need}")
  if(_s STREQUAL "make_psp_train_fixtures" OR _s STREQUAL "make_vgg16_fixtures")
    set(_need "${_rg_need}; ${_rg_vision}")
  elseif(_s STREQUAL "make_ls_fixtures")
    set(_need "${_rg_need}; ${_rg_sklearn}")
  endif()
  gf_test(cpu.regenerated_${_s}
          COMMAND sh -c "${_need}; OMP_NUM_THREADS=1 '${GF_PYTHON3}' ${GF_CLI_DIR}/regenerated_same.py ${_s}.py \
${_rg}/${_s} ${_mode}")
  set_tests_properties(cpu.regenerated_${_s} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
                       PASS_REGULAR_EXPRESSION "regenerated same: [0-9]+ files")
endforeach()
