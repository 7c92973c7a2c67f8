# packaging/install.cmake - install rules for everything but the binary (the
# example configuration, the systemd units, the man pages, the Debian copyright
# and changelog) and the CPack
# settings of the Debian package.  Included at the end of CMakeLists.txt.
#
#   cmake --install build --prefix /usr          # DESTDIR=... works too
#   cd build && cpack -G DEB                      # the package always uses /usr
#
# Where things go is decided when installing, not when configuring, so that
# "cmake --install --prefix P" puts every file where prefix P wants it:
#   configuration  /etc/renewald/renewald.conf for prefix / or /usr, under
#                  /etc/opt/X for /opt/X (as GNUInstallDirs does), else
#                  P/etc/renewald/renewald.conf; an existing file is never
#                  overwritten
#   unit           systemd.pc's systemdsystemunitdir (/lib/systemd/system on
#                  Debian 12) for prefix / or /usr, else P/lib/systemd/system;
#                  RENEWALD_SYSTEMD_UNITDIR overrides
#   man pages      P/share/man/man8/renewald.8.gz, man5/renewald.conf.5.gz
#   docs           P/share/doc/renewald/copyright, changelog.Debian.gz
# The installed unit's ExecStart= and config paths are rewritten to match.

set(RENEWALD_SYSTEMD_UNITDIR "" CACHE STRING
    "systemd system unit directory (empty: systemd.pc's for prefix /usr, else PREFIX/lib/systemd/system)")

set(_rw_pc_unitdir "")
pkg_get_variable(_rw_pc_unitdir systemd systemdsystemunitdir)
if(NOT _rw_pc_unitdir)
  set(_rw_pc_unitdir "/lib/systemd/system")
endif()

# ---- man pages: gzip -9n (reproducible, as Debian policy wants) when gzip exists

find_program(RENEWALD_GZIP gzip)
set(_rw_man_src ${PROJECT_SOURCE_DIR}/man/renewald.8 ${PROJECT_SOURCE_DIR}/man/renewald.conf.5)
set(_rw_man_out "")
foreach(page IN LISTS _rw_man_src)
  get_filename_component(name ${page} NAME)
  if(RENEWALD_GZIP)
    add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/man/${name}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/man
      COMMAND ${RENEWALD_GZIP} -9nc ${page} > ${CMAKE_CURRENT_BINARY_DIR}/man/${name}.gz
      DEPENDS ${page}
      COMMENT "Compressing man page ${name}"
      VERBATIM)
    list(APPEND _rw_man_out ${CMAKE_CURRENT_BINARY_DIR}/man/${name}.gz)
  else()
    list(APPEND _rw_man_out ${page})
  endif()
endforeach()
add_custom_target(renewald_man ALL DEPENDS ${_rw_man_out})

foreach(page IN LISTS _rw_man_out)
  string(REGEX MATCH "\\.([0-9])(\\.gz)?$" _ ${page})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${CMAKE_MATCH_1})
endforeach()

# ---- documentation: the Debian copyright file and changelog (policy 12.5, 12.7)

set(_rw_deb_src ${PROJECT_SOURCE_DIR}/packaging/debian)
install(FILES ${_rw_deb_src}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
if(RENEWALD_GZIP)
  add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.Debian.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/doc
    COMMAND ${RENEWALD_GZIP} -9nc ${_rw_deb_src}/changelog > ${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.Debian.gz
    DEPENDS ${_rw_deb_src}/changelog
    COMMENT "Compressing changelog.Debian"
    VERBATIM)
  add_custom_target(renewald_changelog ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.Debian.gz)
  add_dependencies(renewald_man renewald_changelog)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.Debian.gz DESTINATION ${CMAKE_INSTALL_DOCDIR}
          PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()

# Lintian's overrides of this package, each with its reason.
install(FILES ${_rw_deb_src}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME renewald PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# ---- configuration and unit: paths resolved at install time

install(CODE "
set(_rw_src \"${PROJECT_SOURCE_DIR}\")
set(_rw_bin \"${CMAKE_CURRENT_BINARY_DIR}\")
set(_rw_bindir \"${CMAKE_INSTALL_BINDIR}\")
set(_rw_sysconfdir \"${CMAKE_INSTALL_SYSCONFDIR}\")
set(_rw_unitdir \"${RENEWALD_SYSTEMD_UNITDIR}\")
set(_rw_pc_unitdir \"${_rw_pc_unitdir}\")
")
install(CODE [[
string(REGEX REPLACE "(.)/+$" "\\1" _rw_prefix "${CMAKE_INSTALL_PREFIX}")
if(_rw_prefix STREQUAL "/usr" OR _rw_prefix STREQUAL "/")
  set(_rw_system TRUE)
else()
  set(_rw_system FALSE)
endif()

# The rules of GNUInstallDirs for CMAKE_INSTALL_FULL_SYSCONFDIR.
if(IS_ABSOLUTE "${_rw_sysconfdir}")
  set(_rw_etc "${_rw_sysconfdir}")
elseif(_rw_system)
  set(_rw_etc "/${_rw_sysconfdir}")
elseif(_rw_prefix MATCHES "^/opt/(.*)")
  set(_rw_etc "/${_rw_sysconfdir}/opt/${CMAKE_MATCH_1}")
else()
  set(_rw_etc "${_rw_prefix}/${_rw_sysconfdir}")
endif()

if(IS_ABSOLUTE "${_rw_bindir}")
  set(_rw_exe "${_rw_bindir}/renewald")
else()
  set(_rw_exe "${_rw_prefix}/${_rw_bindir}/renewald")
endif()

if(_rw_unitdir)
  if(NOT IS_ABSOLUTE "${_rw_unitdir}")
    set(_rw_unitdir "${_rw_prefix}/${_rw_unitdir}")
  endif()
elseif(_rw_system)
  set(_rw_unitdir "${_rw_pc_unitdir}")
else()
  set(_rw_unitdir "${_rw_prefix}/lib/systemd/system")
endif()

# The units name /usr/bin/renewald and /etc/renewald/: renewald.service, and
# the template renewald@.service (one instance per partition, /etc/renewald/%i.conf).
foreach(_rw_name renewald.service renewald@.service)
  file(READ "${_rw_src}/systemd/${_rw_name}" _rw_unit)
  string(REPLACE "/usr/bin/renewald" "${_rw_exe}" _rw_unit "${_rw_unit}")
  string(REPLACE "/etc/renewald/" "${_rw_etc}/renewald/" _rw_unit "${_rw_unit}")
  file(WRITE "${_rw_bin}/renewald.service.install/${_rw_name}" "${_rw_unit}")
  file(INSTALL "${_rw_bin}/renewald.service.install/${_rw_name}"
       DESTINATION "${_rw_unitdir}"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()

# An operator's configuration is never overwritten by a re-install.
if(EXISTS "$ENV{DESTDIR}${_rw_etc}/renewald/renewald.conf")
  message(STATUS "Keeping existing: $ENV{DESTDIR}${_rw_etc}/renewald/renewald.conf")
else()
  file(INSTALL "${_rw_src}/conf/renewald.conf"
       DESTINATION "${_rw_etc}/renewald"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
]])

# ---- the Debian package (Debian 12): cpack -G DEB

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "renewald")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "renewald")
set(CPACK_PACKAGE_CONTACT "renewald maintainers <renewald@example.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "account health scores and renewal alerts from Redis Streams")
# The Debian description: the summary is its first line, this the rest.
set(CPACK_PACKAGE_DESCRIPTION
    "renewald reads product-usage and support events from Redis Streams, keeps a
rolling health score for every customer account, and sends alerts to Slack,
e-mail and webhooks when an account's health gets worse or its contract
enters a renewal window.  It runs under systemd (Type=notify, sandboxed,
DynamicUser) and keeps all of its state in Redis.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.com/renewald")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-server")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
# Install with DESTDIR=staging and CMAKE_INSTALL_PREFIX=/usr, so that the
# install-time rules above see the package's real prefix.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)

# Dependencies: from the binary's ELF NEEDED entries when dpkg-shlibdeps
# (dpkg-dev) and file, which CPack needs for it, are there; otherwise the
# Debian 12 names of the libraries it links.
find_program(RENEWALD_DPKG_SHLIBDEPS dpkg-shlibdeps)
find_program(RENEWALD_FILE file)
if(RENEWALD_DPKG_SHLIBDEPS AND RENEWALD_FILE)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libc6 (>= 2.36), libevent-2.1-7 (>= 2.1.12), libhiredis0.14 (>= 0.14.1), libcurl4 (>= 7.88), libjansson4 (>= 2.14), libinih1 (>= 55), libssl3 (>= 3.0), libsystemd0")
endif()

# conffiles: dpkg keeps an operator's edits to the configuration on upgrade.
# Maintainer scripts (packaging/debian): deb-systemd-helper and
# deb-systemd-invoke as Debian's own packages use them.  The service is not
# enabled or started on install: the example configuration needs the
# operator's Redis and sinks first.  No system user is created: the units run
# with DynamicUser=yes.
set(_rw_ctl ${CMAKE_CURRENT_BINARY_DIR}/debian-control)
file(WRITE ${_rw_ctl}/conffiles "/etc/renewald/renewald.conf\n")
foreach(_rw_script postinst prerm postrm)
  file(COPY ${_rw_deb_src}/${_rw_script} DESTINATION ${_rw_ctl}
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                        WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_rw_ctl}/conffiles;${_rw_ctl}/postinst;${_rw_ctl}/prerm;${_rw_ctl}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
