#!/usr/bin/env bash
# Installs the release tools internal/testing/releasetest drives, when
# missing or of another version, with the go tool, and prints the
# directory they are in (for PATH):
#
#   PATH="$(bash scripts/release-tools.sh):$PATH"
#
# goreleaser builds the release archives (v2.18 and later need a newer Go
# than go.mod's); act runs action.yml. The pins are also in
# releasetest.GoreleaserVersion and acttest.Version (a test holds them
# equal).
set -euo pipefail

gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"

need() { # NAME MODULE VERSION
	local have=""
	if [ -x "$gobin/$1" ]; then
		have="$("$gobin/$1" --version 2>&1 || true)"
	fi
	case "$have" in
	*"${3#v}"*) ;;
	*)
		echo "installing $2@$3" >&2
		go install "$2@$3" >&2
		;;
	esac
}

need goreleaser github.com/goreleaser/goreleaser/v2 v2.13.3
need act github.com/nektos/act v0.2.89
echo "$gobin"
