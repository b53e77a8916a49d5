# `cmake --install` layout and the Debian package (CPack's DEB generator):
#   cmake --build build --target package    → build/fleetcommand_<version>_<arch>.deb
# scripts/package.sh builds it from an optimized build; docs/deploy.md.
include(GNUInstallDirs)

install(TARGETS fleetcommand RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/fleetcommand.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/fleetcommand-agent@.service
        DESTINATION /lib/systemd/system)  # Debian 12: units under /lib
# The default configuration is a conffile (deploy/debian/conffiles): dpkg keeps
# the operator's edits on upgrade.
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/fleetcommand.json DESTINATION /etc/fleetcommand)
set(FC_DOC_DIR ${CMAKE_INSTALL_DATADIR}/doc/fleetcommand)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/deploy.md
              ${PROJECT_SOURCE_DIR}/docs/configuration.md ${PROJECT_SOURCE_DIR}/docs/API.md
              ${PROJECT_SOURCE_DIR}/docs/agent.md ${PROJECT_SOURCE_DIR}/deploy/debian/copyright
        DESTINATION ${FC_DOC_DIR})
# Debian policy §12.7: the changelog, compressed (changelog.gz: a native package).
set(FC_CHANGELOG ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz)
string(TIMESTAMP FC_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/changelog.Debian
     "fleetcommand (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
     "  * Release ${PROJECT_VERSION}; see the project's git history.\n\n"
     " -- fleetcommand developers <dev@fleetcommand.org>  ${FC_CHANGELOG_DATE}\n")
add_custom_command(OUTPUT ${FC_CHANGELOG}
                   COMMAND gzip -9nf -c ${CMAKE_CURRENT_BINARY_DIR}/changelog.Debian > ${FC_CHANGELOG}
                   DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/changelog.Debian)
add_custom_target(fc_changelog ALL DEPENDS ${FC_CHANGELOG})
install(FILES ${FC_CHANGELOG} DESTINATION ${FC_DOC_DIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fleetcommand)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "fleetcommand developers <dev@fleetcommand.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "control plane for one application hosted in many regions")
# CPack's DEB generator takes the synopsis from the summary and the long
# description from this (lintian: description-synopsis-is-duplicated).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "fleetcommand places each customer's workspace into a region by capacity,\n\
serves the assignments to per-region agents, publishes DNS from an embedded\n\
authoritative server, verifies custom domains and issues their ACME\n\
certificates. One daemon, one SQLite database.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/fleetcommand/fleetcommand")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, publicsuffix")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "kubectl | kubernetes-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
