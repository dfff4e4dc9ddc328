/* The scanner's first sync, asked for by the page's head (templates/door/scanner.html) while the scripts
 * load, so the ticket set is on its way before they run. It asks from the cursor remembered here. */
(function (global) {
  'use strict';
  function key(doorId) { return 'rallies-door-cursor-' + doorId; }

  /* The early request's response when it asked from `since` (once); otherwise null, and it is dropped. */
  function take(since) {
    var early = global.doorEarlySync;
    if (!early) return null;
    global.doorEarlySync = null;
    if (early.since === since) return early.sent;
    early.abort();
    return null;
  }

  /* Where the next page load's early request starts: the cursor of the sync just stored. */
  function remember(doorId, cursor) {
    try { localStorage.setItem(key(doorId), String(cursor || 0)); } catch (e) { /* private mode: start at 0 */ }
  }

  global.DoorEarlySync = {take: take, remember: remember};
})(window);
