# Warnings are errors on Berth's own code only: generated protobuf/gRPC sources
# and third-party headers are compiled without them (see proto/CMakeLists.txt).
function(berth_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wformat=2 -Wimplicit-fallthrough)
  # GCC 12 at -O3 (the Release build of `make package`) reports -Wrestrict
  # on std::string concatenations inlined from libstdc++ ("accessing
  # 9223372036854775810 or more bytes"), a false positive of that compiler:
  # still shown there, but not fatal. Other builds keep their flags as they
  # were (and their ccache entries).
  target_compile_options(${target} PRIVATE
    $<$<AND:$<CONFIG:Release>,$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-error=restrict>)
endfunction()
