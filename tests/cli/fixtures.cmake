# The golden-data and fixture scripts of tools/ run again give what
# tests/data holds (tests/cli/regenerated_same.py): a script that stopped
# running or drifted from the data fails here (make_stylegan_fixtures.py had
# silently stopped running until a session needed it). One entry per
# script, into its own folder; the scripts' pickles and .pt stand-ins are
# the conversion tests' (tests/test_convert_*.py).
set(_rg ${CMAKE_BINARY_DIR}/test_regenerated)
set(_rg_need "'${GF_PYTHON3}' -c 'import torch, torchvision, scipy, PIL' 2>/dev/null || exit 77")
foreach(_s make_conv_golden make_gan_golden_a make_gan_golden_b make_grid_sample_golden make_inception_fixtures
           make_latent_walk_golden make_metrics_golden make_modconv_golden make_pggan_metrics_golden
           make_pil_resize_golden make_ppl_fixtures make_psp_ops_golden make_resize_nearest_golden
           make_resize_tf1_golden make_vgg16_fixtures make_zip_methods_fixture
           make_augment_fixtures:--outdir make_parity_fixtures:--outdir make_pggan_fixtures:--outdir
           make_psp_fixtures:--outdir make_psp_train_fixtures:--outdir make_step_fixtures:--outdir
           make_stylegan_fixtures:--outdir)
  string(REPLACE ":" ";" _parts "${_s}")
  list(GET _parts 0 _name)
  set(_mode "")
  if(_s MATCHES ":--outdir$")
    set(_mode "--outdir")
  endif()
  gf_test(cpu.regenerated_${_name}
          COMMAND sh -c "${_rg_need}; OMP_NUM_THREADS=1 '${GF_PYTHON3}' ${GF_CLI_DIR}/regenerated_same.py ${_name}.py \
${_rg}/${_name} ${_mode}")
  set_tests_properties(cpu.regenerated_${_name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
                       PASS_REGULAR_EXPRESSION "regenerated same: [0-9]+ files")
endforeach()
