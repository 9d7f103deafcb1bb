#!/usr/bin/env bash
# Install the CI-tier language toolchains and the packages the benchmark tests need
# (see docs/execution.md and shared/benchmarks/README.md). Idempotent: when every
# package is already there it returns in about a second without touching apt.
#
#   bash scripts/install_toolchains.sh          # as root, or with sudo available
#
# Debian/Ubuntu (apt). rustc/cargo come from rustup or apt (`rustc`), whichever is found.
set -euo pipefail

# command:package -- installed only when the command is missing (it may come from elsewhere)
COMMANDS=(
  python3:python3 node:nodejs npm:npm g++:g++ javac:default-jdk-headless go:golang-go
  perl:perl bash:bash lua5.4:lua5.4 php:php-cli ruby:ruby unshare:util-linux prlimit:util-linux
  bwrap:bubblewrap  # the sandbox's private filesystem and pid namespaces (docs/execution.md)
)
# libraries the benchmark tests use -- installed when dpkg does not list them
APT_PACKAGES=(
  lua-unit ruby-test-unit libtest-deep-perl libjavatuples-java
  golang-github-stretchr-testify-dev libssl-dev libboost-dev
  librust-rand-dev librust-regex-dev librust-md5-dev
)
NPM_PACKAGES=(typescript@5 lodash@4 js-md5@0.8)  # tsc; MBXP JS tests require lodash, HumanEval-X JS/162 js-md5

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for pair in "${COMMANDS[@]}"; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
for package in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ! command -v rustc >/dev/null && ! [ -x "$HOME/.cargo/bin/rustc" ]; then
  missing+=(rustc cargo)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install_toolchains: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm_root="$(npm root -g)"
npm_missing=()
for package in "${NPM_PACKAGES[@]}"; do
  [ -d "$npm_root/${package%@*}" ] || npm_missing+=("$package")
done
if [ "${#npm_missing[@]}" -gt 0 ]; then
  echo "install_toolchains: npm install -g ${npm_missing[*]}"
  $SUDO npm install -g --silent "${npm_missing[@]}"
fi
echo "install_toolchains: all CI-tier toolchains present (python -m xlt.doctor checks they run)"
