#!/bin/bash
# server.t's story for the server-ci variant (cloud-init installed; /boot,
# and / in an extended partition, as the Debian installer lays them out), as
# a test of its own so that prove -j migrates it beside server.t's variant.
SERVER_T_VARIANTS=server-ci exec "$(dirname "$0")/server.t"
