#!/usr/bin/env bash
# `make demo`: the main job.
set -euo pipefail
exec "$(dirname "$0")/demo-share.sh" "$@"
