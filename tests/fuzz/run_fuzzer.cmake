# Runs one fuzzer for a bounded time; fails when it finds anything.
#   cmake -DFUZZER=... -DSEEDS=<repo corpus dir> -DWORK=<scratch dir> -DMAX_LEN=n -DSECONDS=n -P run_fuzzer.cmake
foreach(v FUZZER SEEDS WORK MAX_LEN SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${v}= is missing")
  endif()
endforeach()
if(NOT EXISTS ${FUZZER})
  message(FATAL_ERROR "fuzzer ${FUZZER} is not built (cmake --build build)")
endif()

# The scratch corpus: where the fuzzer writes what it finds. The repo's seeds
# are only read (libFuzzer writes new inputs into the first directory only).
set(corpus ${WORK}/corpus)
file(MAKE_DIRECTORY ${corpus})
# Findings of an earlier run are not this run's.
file(GLOB old ${WORK}/crash-* ${WORK}/leak-* ${WORK}/timeout-* ${WORK}/oom-*)
if(old)
  file(MAKE_DIRECTORY ${WORK}/old)
  foreach(f ${old})
    get_filename_component(n ${f} NAME)
    file(RENAME ${f} ${WORK}/old/${n})
  endforeach()
endif()

set(ENV{ASAN_OPTIONS} "abort_on_error=0:detect_leaks=1:$ENV{ASAN_OPTIONS}")
set(ENV{UBSAN_OPTIONS} "halt_on_error=1:print_stacktrace=1:$ENV{UBSAN_OPTIONS}")
execute_process(
  COMMAND ${FUZZER}
          -max_total_time=${SECONDS} -timeout=5 -rss_limit_mb=1024 -max_len=${MAX_LEN}
          -error_exitcode=77 -timeout_exitcode=78 -print_final_stats=1
          -artifact_prefix=${WORK}/
          ${corpus} ${SEEDS}
  RESULT_VARIABLE rc)

file(GLOB found ${WORK}/crash-* ${WORK}/leak-* ${WORK}/timeout-* ${WORK}/oom-*)
if(NOT rc STREQUAL "0" OR found)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); the input is kept: ${found}\n"
                      "Reproduce: ${FUZZER} <file>; see tests/fuzz/README.md.")
endif()
