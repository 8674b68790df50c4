# The libraries scripts/build.sh and the emulated build compile as unity
# builds (GF_UNITY_LIBRARIES: 8 files a unit, as CMake groups them) must compile
# whichever files share a unit, which changes as files come and go.
set(_unity_args)
foreach(_lib ${GF_UNITY_TARGETS})
  get_target_property(_type ${_lib} TYPE)
  if(NOT _type STREQUAL "INTERFACE_LIBRARY")
    list(APPEND _unity_args --library ${_lib} "$<TARGET_PROPERTY:${_lib},SOURCES>")
  endif()
endforeach()
# No name a .cpp keeps to itself (an anonymous namespace's, a `static`, a
# const variable, a type) is defined in another .cpp of its library
# (tools/file_local_names.py): in one unit they would be a redefinition, or
# an overload set the compiler accepts.
add_test(NAME cpu.file_local_names_unique
         COMMAND ${GF_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/file_local_names.py ${_unity_args}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(cpu.file_local_names_unique PROPERTIES LABELS cpu)
# The finder itself, on two files that repeat each kind of file-local name
# (and define others that are not repeats: the same alias, another
# namespace's name, an out-of-line member, a function's own static).
gf_test(cpu.file_local_names_finds_repeats
        COMMAND sh -c "cd ${CMAKE_SOURCE_DIR} && d=tests/data/file_local_names && \
${GF_PYTHON3} tools/file_local_names.py --library fixture $d/a.cpp $d/b.cpp > ${CMAKE_BINARY_DIR}/file_local_names.out; \
rc=$?; [ $rc -eq 1 ] || { echo expected exit 1, got $rc; exit 1; }; diff $d/expected.txt ${CMAKE_BINARY_DIR}/file_local_names.out && echo repeats found")
set_tests_properties(cpu.file_local_names_finds_repeats PROPERTIES PASS_REGULAR_EXPRESSION "repeats found")
# A file built for another instruction set (`#pragma GCC target` before its
# includes) is compiled alone and holds that set's instructions: in a unity
# unit upfirdn2d_avx2.cpp's blocks had lost AVX2 (tests/cli/target_pragma_objects.py).
set(_pragma_args)
foreach(_lib ${GF_UNITY_TARGETS})
  get_target_property(_type ${_lib} TYPE)
  if(NOT _type STREQUAL "INTERFACE_LIBRARY")
    list(APPEND _pragma_args --sources "$<TARGET_PROPERTY:${_lib},SOURCES>" --objects "$<TARGET_OBJECTS:${_lib}>")
  endif()
endforeach()
if(_pragma_args)
  add_test(NAME cpu.unity_target_pragma_files_alone
           COMMAND ${GF_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/cli/target_pragma_objects.py ${_pragma_args}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(cpu.unity_target_pragma_files_alone PROPERTIES LABELS cpu)
endif()
# And the compiler's word: each library's files as one translation unit,
# syntax only, with the flags compile_commands.json gives them
# (tools/unity_one_unit.py; about 20 s). This catches what names alone do not:
# a file-local name hiding a header's (dataset.cpp's be32 hid byte_order.h's
# from the other files' anonymous namespaces), a macro leaking into the next
# file. In a build that is itself a unity build (scripts/build.sh's), the
# files take their units' flags.
add_test(NAME cpu.unity_libraries_one_unit
         COMMAND ${GF_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/unity_one_unit.py
                 --compile-commands ${CMAKE_BINARY_DIR}/compile_commands.json
                 --work ${CMAKE_BINARY_DIR}/unity_one_unit ${_unity_args}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(cpu.unity_libraries_one_unit PROPERTIES LABELS cpu)
