# pmtrace_bpf_object(NAME SOURCE src.bpf.c [HEADERS ...])
#
# Compiles a BPF C program with clang for the BPF target (CO-RE against the
# vmlinux.h checked in under bpf/vmlinux/<arch>/), links it with
# `bpftool gen object` and generates `<NAME>.skel.h` with `bpftool gen skeleton`.
# clang's depfile (-MD -MF) makes every included header a dependency, so an edit
# of the shared event header rebuilds the BPF object and the skeleton too.
# Creates an INTERFACE library target NAME whose include path holds the skeleton.

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(PM_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(PM_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "pmtrace: no vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}")
endif()

function(pmtrace_bpf_object NAME)
  cmake_parse_arguments(ARG "" "SOURCE;SKEL_NAME" "" ${ARGN})
  set(vmlinux_dir ${PROJECT_SOURCE_DIR}/bpf/vmlinux/${PM_BPF_ARCH})
  if(NOT EXISTS ${vmlinux_dir}/vmlinux.h)
    message(FATAL_ERROR "missing ${vmlinux_dir}/vmlinux.h: run tools/gen-vmlinux.sh")
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR})
  set(tmp_obj ${out}/${NAME}.tmp.bpf.o)
  set(obj ${out}/${NAME}.bpf.o)
  set(skel ${out}/${NAME}.skel.h)
  file(RELATIVE_PATH tmp_rel ${CMAKE_BINARY_DIR} ${tmp_obj})

  add_custom_command(
    OUTPUT ${tmp_obj}
    COMMAND ${BPF_CLANG} -g -O2 --target=bpf -D__TARGET_ARCH_${PM_BPF_ARCH}
            -I${vmlinux_dir} -I${PROJECT_SOURCE_DIR}/bpf
            -Wall -Wno-unused-function
            -MD -MF ${tmp_obj}.d -MT ${tmp_rel}
            -c ${ARG_SOURCE} -o ${tmp_obj}
    DEPENDS ${ARG_SOURCE}
    DEPFILE ${tmp_obj}.d
    COMMENT "BPF ${NAME}: clang --target=bpf"
    VERBATIM)
  add_custom_command(
    OUTPUT ${obj} ${skel}
    COMMAND ${BPFTOOL} gen object ${obj} ${tmp_obj}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${ARG_SKEL_NAME} > ${skel}
    DEPENDS ${tmp_obj}
    COMMENT "BPF ${NAME}: bpftool gen object + skeleton"
    VERBATIM)
  add_custom_target(${NAME}_skel DEPENDS ${skel})
  add_library(${NAME} INTERFACE)
  add_dependencies(${NAME} ${NAME}_skel)
  target_include_directories(${NAME} INTERFACE ${out})
endfunction()
