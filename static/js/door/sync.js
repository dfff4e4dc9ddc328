/* The scanner's sync requests. The first is asked for by the page's head (templates/door/scanner.html) while
 * the scripts load, so the ticket set is on its way before they run; it asks from the cursor remembered here. */
(function (global) {
  'use strict';
  var QUERY = '&ids=delta';  // the page's head asks with the same (templates/door/scanner.html)

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

  /* The payload with real ticket ids: the scanner asks with ids=delta (each id the difference from the one
   * before, which compresses to almost nothing; rallies/door/sync.py delta_ids). */
  function expand(payload) {
    if (payload.ids !== 'delta') return payload;
    var id = 0;
    payload.tickets.forEach(function (t) { id += t[0]; t[0] = id; });
    delete payload.ids;
    return payload;
  }

  global.DoorSync = {QUERY: QUERY, take: take, remember: remember, expand: expand};
})(window);
