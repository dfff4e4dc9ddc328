#!/usr/bin/env bash
# Copy the front-end packages pinned in frontend/package.json into static/vendor/<package>/,
# with their licence files. Run after changing frontend/package.json; commit static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
npm config set omit-lockfile-registry-resolved true >/dev/null
(cd frontend && npm install --no-audit --no-fund --ignore-scripts)
nm=frontend/node_modules
out=static/vendor
rm -rf "$out"
copy() {  # copy <package> <dest-subdir> <files...>
  local pkg=$1 dest=$out/$2; shift 2
  mkdir -p "$dest"
  for f in "$@"; do cp -R "$nm/$pkg/$f" "$dest/"; done
  for lic in LICENSE LICENSE.txt LICENSE.md MIT-LICENCE.txt LICENSE-3RD-PARTY.txt; do
    [ -f "$nm/$pkg/$lic" ] && cp "$nm/$pkg/$lic" "$dest/"
  done
  node -e "const p=require('./$nm/$pkg/package.json');console.log(p.name+'@'+p.version+' ('+(p.license||'see LICENSE')+')')" > "$dest/VERSION"
}
copy leaflet leaflet dist/leaflet.js dist/leaflet.css dist/images
copy jquery jquery dist/jquery.min.js
copy bootstrap bootstrap dist/css/bootstrap.min.css dist/js/bootstrap.bundle.min.js
copy leaflet.awesome-markers leaflet.awesome-markers dist/leaflet.awesome-markers.js dist/leaflet.awesome-markers.css dist/images
copy @fortawesome/fontawesome-free fontawesome css webfonts
copy leaflet.markercluster leaflet.markercluster dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css
copy leaflet.heat leaflet.heat dist/leaflet-heat.js
copy qr-scanner qr-scanner qr-scanner.umd.min.js qr-scanner-worker.min.js
copy axe-core axe-core axe.min.js
copy chart.js chart.js dist/chart.umd.js
copy us-atlas us-atlas states-10m.json
copy topojson-client topojson-client dist/topojson-client.min.js
du -sh "$out"
