# `cpack -G DEB` in the build directory makes a Debian package of Berth.
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "berth")
set(CPACK_PACKAGE_VENDOR "Berth developers")
set(CPACK_PACKAGE_CONTACT "Berth developers <berth@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Kubernetes CRI container daemon")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "runc | crun, iptables, iproute2")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "containernetworking-plugins")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${CMAKE_CURRENT_LIST_DIR}/debian/conffiles;${CMAKE_CURRENT_LIST_DIR}/debian/postinst")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# /etc/crictl.yaml is the postinst's to create, never the package's file
# (contrib/CMakeLists.txt).
set(CPACK_CUSTOM_INSTALL_VARIABLES "BERTH_PACKAGING=TRUE")
include(CPack)
