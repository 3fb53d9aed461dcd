# Warnings are errors on Berth's own code only: generated protobuf/gRPC sources
# and third-party headers are compiled without them (see proto/CMakeLists.txt).
function(berth_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wformat=2 -Wimplicit-fallthrough)
endfunction()
