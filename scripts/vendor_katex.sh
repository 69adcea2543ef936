#!/usr/bin/env bash
# Refresh the vendored KaTeX in static/vendor/katex from the npm registry.
# Pages must work offline, so KaTeX is served by the app, never from a CDN.
set -euo pipefail
version="${1:-0.16}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "katex@$version" --silent >/dev/null && tar xzf katex-*.tgz)
dest="$here/static/vendor/katex"
rm -rf "$dest" && mkdir -p "$dest/fonts"
cp "$work/package/dist/katex.min.js" "$work/package/dist/katex.min.css" "$work/package/LICENSE" "$dest/"
cp "$work/package/dist/fonts/"*.woff2 "$dest/fonts/"
echo "KaTeX $(node -p "require('$work/package/package.json').version") from the npm package 'katex' (MIT licence, see LICENSE). Refresh with scripts/vendor_katex.sh." > "$dest/VERSION"
echo "KaTeX vendored into $dest"
