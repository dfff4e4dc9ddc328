/* Door service worker: the scanner page and its assets open with no network once opened online.
 * Pages: network first, falling back to the copy cached at the last successful load.
 * Assets: cache first (the cache name changes with their content). API calls: network only. */
'use strict';
var VERSION = '{{ version }}';
var ASSETS = 'rallies-door-assets-' + VERSION;
var PAGES = 'rallies-door-pages';
var ASSET_URLS = [
  "{{ url_for('static', filename='css/app.css') }}",
  "{{ url_for('static', filename='css/door.css') }}",
  "{{ url_for('static', filename='vendor/qr-scanner/qr-scanner.umd.min.js') }}",
  "{{ url_for('static', filename='vendor/qr-scanner/qr-scanner-worker.min.js') }}",
  "{{ url_for('static', filename='js/door/blocks.js') }}",
  "{{ url_for('static', filename='js/door/sync.js') }}",
  "{{ url_for('static', filename='js/door/idb.js') }}",
  "{{ url_for('static', filename='js/door/codec.js') }}",
  "{{ url_for('static', filename='js/door/offline.js') }}",
  "{{ url_for('static', filename='js/door/scanner.js') }}"
];

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(ASSETS).then(function (c) { return c.addAll(ASSET_URLS); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf('rallies-door-assets-') === 0 && n !== ASSETS; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function isPage(url) { return /^\/door\/\d+\/$/.test(url.pathname); }

self.addEventListener('fetch', function (event) {
  var req = event.request;
  if (req.method !== 'GET') return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (isPage(url)) {
    event.respondWith(fetch(req).then(function (resp) {
      if (resp.ok) {
        var copy = resp.clone();
        caches.open(PAGES).then(function (c) { c.put(url.pathname, copy); });
      }
      return resp;
    }).catch(function () {
      return caches.open(PAGES).then(function (c) { return c.match(url.pathname); }).then(function (hit) {
        return hit || new Response('<h1>Offline</h1><p>Open this door page once while online first.</p>',
                                   {status: 503, headers: {'Content-Type': 'text/html'}});
      });
    }));
    return;
  }
  if (ASSET_URLS.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(req, {ignoreSearch: true}).then(function (hit) { return hit || fetch(req); }));
  }
});
