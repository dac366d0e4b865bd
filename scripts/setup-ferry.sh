#!/usr/bin/env bash
# The ferryhq/ferry GitHub Action's one step (action.yml): download the
# release archive for this runner, verify it against the release's
# checksums.txt (fail closed), unpack it into the tool cache and put
# ferry on PATH. One bash script for the Linux, macOS and Windows (Git
# Bash) runners.
#
# Inputs come only from the environment, never from ${{ }} text pasted
# into a script:
#   FERRY_INPUT_VERSION       inputs.version: 1.2.3, v1.2.3, latest or empty
#   FERRY_INPUT_DOWNLOAD_URL  inputs.download-url: the releases base URL
#   FERRY_ACTION_REF          github.action_ref (may be empty in composite actions)
#   GITHUB_ACTION_PATH, RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE,
#   RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT: set by the runner.
set -euo pipefail

default_base="https://github.com/ferryhq/ferry/releases/download"
latest_url="https://github.com/ferryhq/ferry/releases/latest"

fail() {
	# $1 is the problem, $2 what to do about it.
	echo "::error title=ferry setup::$1${2:+ (hint: $2)}" >&2
	exit 1
}

# Windows runners give Windows paths; Git Bash wants /c/... ones.
unix_path() {
	if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s\n' "$1"; fi
}

case "${RUNNER_OS:-}" in
Linux) os=linux ext=tar.gz exe="" ;;
macOS) os=darwin ext=tar.gz exe="" ;;
Windows) os=windows ext=zip exe=".exe" ;;
*) fail "unsupported runner OS '${RUNNER_OS:-}'" "ferry is released for Linux, macOS and Windows runners" ;;
esac
case "${RUNNER_ARCH:-}" in
X64) arch=amd64 cache_arch=x64 ;;
ARM64) arch=arm64 cache_arch=arm64 ;;
*) fail "unsupported runner architecture '${RUNNER_ARCH:-}'" "ferry is released for X64 and ARM64 runners" ;;
esac

# The mirror base URL: https anywhere, plain http only on this machine's
# loopback (a test server), since the checksums come from the same place.
base="${FERRY_INPUT_DOWNLOAD_URL:-$default_base}"
base="${base%/}"
if [[ "$base" =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~%/+-]*)?$ ]]; then
	proto="=https"
elif [[ "$base" =~ ^http://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?(/[A-Za-z0-9._~%/+-]*)?$ ]]; then
	proto="=http"
else
	fail "download-url '$base' is not an https URL" "give the base under which <base>/v<version>/<archive> and checksums.txt are served, e.g. $default_base"
fi

# The ref this action was used at: the runner checks an action out under
# .../_actions/<owner>/<repo>/<ref>, which holds even where
# github.action_ref is empty (composite actions, nested ones).
ref=""
action_path="$(unix_path "${GITHUB_ACTION_PATH:-}")"
if [[ "$action_path" =~ /_actions/[^/]+/[^/]+/([^/]+)/?$ ]]; then
	ref="${BASH_REMATCH[1]}"
fi
ref="${ref:-${FERRY_ACTION_REF:-}}"

semver='^v?([0-9]+)\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.-]+)?$'
want="${FERRY_INPUT_VERSION:-}"
prefix="" # a moving tag (@v1, @v1.2) the latest release must match
if [[ -z "$want" ]]; then
	if [[ "$ref" =~ $semver ]]; then
		want="$ref"
	else
		if [[ "$ref" =~ ^v([0-9]+)(\.[0-9]+)?$ ]]; then
			prefix="${ref#v}."
		fi
		want=latest
	fi
fi

if [[ "$want" == latest ]]; then
	if [[ "$base" != "$default_base" ]]; then
		fail "version is required with a download-url mirror: a mirror has no 'latest'" "set with: version: 1.2.3"
	fi
	if [[ -z "${FERRY_INPUT_VERSION:-}" ]]; then
		echo "ferry setup: the action's ref '${ref:-none}' is not a release tag: installing the latest release"
	fi
	# GitHub redirects .../releases/latest to .../releases/tag/<tag>.
	effective="$(curl --fail --silent --show-error --location --proto '=https' --retry 3 --connect-timeout 30 \
		--output /dev/null --write-out '%{url_effective}' "$latest_url")" ||
		fail "could not find the latest ferry release at $latest_url" "set with: version: 1.2.3"
	want="${effective##*/}"
	if [[ -n "$prefix" && "${want#v}" != "$prefix"* ]]; then
		fail "the latest ferry release is $want, which is not a ${ref} release" "set with: version: to the ${ref}.x release you want, or use the action at the newer major tag"
	fi
fi

if ! [[ "$want" =~ $semver ]]; then
	fail "version '$want' is not a release version" "use 1.2.3, v1.2.3 or latest"
fi
version="${want#v}"
archive="ferry_${version}_${os}_${arch}.${ext}"
url="$base/v$version"

tool_cache="$(unix_path "${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set: run this as a GitHub Action}")"
dest="$tool_cache/ferry/$version/$cache_arch"
marker="$dest.complete"
ferry="$dest/ferry$exe"

cache_hit=false
if [[ -f "$marker" && -x "$ferry" ]]; then
	cache_hit=true
	echo "ferry setup: ferry $version found in the tool cache ($dest)"
else
	work="$(mktemp -d "$(unix_path "${RUNNER_TEMP:-/tmp}")/ferry-setup.XXXXXX")"
	trap 'rm -rf "$work"' EXIT
	fetch() { # URL FILE
		curl --fail --silent --show-error --location --proto "$proto" --proto-redir "$proto" \
			--retry 3 --connect-timeout 30 --output "$2" "$1"
	}
	echo "ferry setup: downloading $url/$archive"
	fetch "$url/checksums.txt" "$work/checksums.txt" ||
		fail "could not download $url/checksums.txt" "check that ferry $version is released there (version and download-url inputs)"
	fetch "$url/$archive" "$work/$archive" ||
		fail "could not download $url/$archive" "check that ferry $version is released there for $os/$arch"

	# checksums.txt lines are "<sha256>  <name>"; exactly one must name
	# the archive, and it must match, or nothing is installed.
	expected="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/checksums.txt")"
	if ! [[ "$expected" =~ ^[0-9a-fA-F]{64}$ ]]; then
		fail "checksums.txt at $url names no single SHA-256 for $archive" "the release is incomplete or not ferry's: use another version or mirror"
	fi
	if command -v sha256sum >/dev/null 2>&1; then
		actual="$(sha256sum "$work/$archive" | awk '{ print $1 }')"
	elif command -v shasum >/dev/null 2>&1; then
		actual="$(shasum -a 256 "$work/$archive" | awk '{ print $1 }')"
	else
		actual="$(openssl dgst -sha256 -r "$work/$archive" | awk '{ print $1 }')"
	fi
	if [[ "$(printf '%s' "$actual" | tr 'A-F' 'a-f')" != "$(printf '%s' "$expected" | tr 'A-F' 'a-f')" ]]; then
		fail "checksum mismatch for $archive: checksums.txt says $expected, the download is $actual" "the download is corrupt or was tampered with: nothing was installed; retry, or check the mirror"
	fi
	echo "ferry setup: $archive matches checksums.txt (sha256 $actual)"

	stage="$work/unpacked"
	mkdir -p "$stage"
	if [[ "$ext" == zip ]]; then
		if command -v unzip >/dev/null 2>&1; then
			unzip -q "$work/$archive" -d "$stage"
		elif command -v 7z >/dev/null 2>&1; then
			7z x -y -bd -o"$stage" "$work/$archive" >/dev/null
		else
			# shellcheck disable=SC2016 # PowerShell expands $env:, not bash.
			FERRY_ZIP="$(cygpath -w "$work/$archive")" FERRY_STAGE="$(cygpath -w "$stage")" \
				pwsh -NoProfile -NonInteractive -Command 'Expand-Archive -LiteralPath $env:FERRY_ZIP -DestinationPath $env:FERRY_STAGE' </dev/null
		fi
	else
		tar -xzf "$work/$archive" -C "$stage"
	fi
	[[ -f "$stage/ferry$exe" ]] || fail "$archive holds no ferry$exe" "the release is not ferry's: use another version or mirror"
	chmod +x "$stage/ferry$exe" "$stage"/agents/* 2>/dev/null || true

	# Into place: an interrupted earlier attempt is replaced, and the
	# marker is written last, so a half-copied directory is never used.
	rm -rf "$dest" "$marker"
	mkdir -p "$(dirname "$dest")"
	mv "$stage" "$dest"
	touch "$marker"
	echo "ferry setup: installed ferry $version in $dest"
fi

"$ferry" --version || fail "ferry $version in $dest does not run on this $os/$arch runner" "delete $dest and retry"

path_entry="$dest"
out_path="$ferry"
if [[ "$os" == windows ]] && command -v cygpath >/dev/null 2>&1; then
	path_entry="$(cygpath -w "$dest")"
	out_path="$(cygpath -w "$ferry")"
fi
echo "$path_entry" >>"${GITHUB_PATH:?GITHUB_PATH is not set: run this as a GitHub Action}"
{
	echo "version=$version"
	echo "path=$out_path"
	echo "cache-hit=$cache_hit"
} >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this as a GitHub Action}"
