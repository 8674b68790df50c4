# NVIDIA's Python wheels (nvidia-cudnn-cu13, nvidia-nccl-cu13, ...) install
# headers and libraries under site-packages/nvidia/<name>/{include,lib}; a
# machine whose only cuDNN or NCCL came with PyTorch has them nowhere else.
# gf_nvidia_wheel_dirs(<include_var> <lib_var>) sets the two lists for the
# python3 on PATH (empty when it has no 'nvidia' package). The python3 run
# happens once per build folder.
function(gf_nvidia_wheel_dirs include_var lib_var)
  if(NOT DEFINED GF_NVIDIA_WHEEL_ROOTS)
    set(_roots "")
    # Its own cache name: GF_PYTHON3 is the tests' /usr/bin/python3 (with
    # PyTorch), which the first python3 on PATH often is not.
    find_program(GF_WHEEL_PYTHON3 NAMES python3)
    if(GF_WHEEL_PYTHON3)
      # 'nvidia' is a namespace package: every folder of it, one per line.
      execute_process(COMMAND ${GF_WHEEL_PYTHON3} -c "import nvidia, os; print('\\n'.join(os.path.abspath(p) for p in nvidia.__path__))"
                      OUTPUT_VARIABLE _out ERROR_QUIET RESULT_VARIABLE _rc OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(_rc EQUAL 0 AND _out)
        string(REPLACE "\n" ";" _roots "${_out}")
      endif()
    endif()
    set(GF_NVIDIA_WHEEL_ROOTS "${_roots}" CACHE INTERNAL "site-packages/nvidia folders of the python3 on PATH")
  endif()
  set(_inc "")
  set(_lib "")
  foreach(_r IN LISTS GF_NVIDIA_WHEEL_ROOTS)
    # nvidia/cudnn/include, and the CUDA 13 wheels' nvidia/cu13/include.
    file(GLOB _i LIST_DIRECTORIES true "${_r}/*/include")
    file(GLOB _l LIST_DIRECTORIES true "${_r}/*/lib")
    list(APPEND _inc ${_i})
    list(APPEND _lib ${_l})
  endforeach()
  set(${include_var} "${_inc}" PARENT_SCOPE)
  set(${lib_var} "${_lib}" PARENT_SCOPE)
endfunction()
