# cmake --install: the vmshare CLI, the guest agent and the guest image it is
# init of. (libvmshare.so, its header, vmshare.pc and the CMake package are
# installed by src/capi.)
include(GNUInstallDirs)
if(TARGET vmshare)
  install(TARGETS vmshare RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()
# The agent runs as init inside the guest, never on the host.
if(TARGET vmshare-agent)
  install(TARGETS vmshare-agent RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/vmshare COMPONENT runtime)
endif()
if(TARGET guest_image)
  install(FILES ${VMSHARE_GUEST_DIR}/vmlinuz ${VMSHARE_GUEST_DIR}/initramfs.img
          DESTINATION ${CMAKE_INSTALL_DATADIR}/vmshare/guest COMPONENT runtime)
  # The PVH kernel, when the build could extract one (it boots faster).
  install(FILES ${VMSHARE_GUEST_DIR}/vmlinux DESTINATION ${CMAKE_INSTALL_DATADIR}/vmshare/guest
          COMPONENT runtime OPTIONAL)
endif()
