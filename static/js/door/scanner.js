/* The door scanner page: camera, keyboard wedge and typed codes; verdict screens; search; walk-ins;
 * counters; supervisor undo and override; sync and the offline queue. No inline scripts (CSP). */
(function () {
  'use strict';
  var body = document.body;
  var D = {
    doorId: Number(body.dataset.doorId), rallyId: Number(body.dataset.rallyId), role: body.dataset.role,
    device: body.dataset.device, doorName: body.dataset.doorName, api: body.dataset.api, tz: body.dataset.timezone,
  };
  var SUPERVISOR = D.role === 'supervisor';
  var SYNC_EVERY_MS = 5000;
  // A door in a rush: while scans keep coming (one within BUSY_MS), the sync loop waits, so the verdicts
  // have a slow line to themselves; never longer than MOST_DEFER_MS, and never with offline scans queued.
  var BUSY_MS = 3000, MOST_DEFER_MS = 30000;
  var SAME_CODE_MS = 4000;
  // The page's words in the door staff's language: a JSON block the server fills (rallies/door/texts.py).
  // English stays here as the fallback, so a missing key still shows something readable.
  var I18N = {};
  try { I18N = JSON.parse(document.getElementById('i18n').textContent) || {}; } catch (e) { I18N = {}; }
  function t(key, english, values) {
    var text = I18N[key] || english;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined && values[name] !== null ? String(values[name]) : all;
    });
  }
  var tr = t;  // for functions whose own `t` is the ticket
  window.doorText = t;  // offline.js names tickets it has not synced yet
  var TITLES = {admit: t('title_admit', 'Admit'), already: t('title_already', 'Already checked in'),
                wrong_rally: t('title_wrong_rally', 'Wrong rally'), cancelled: t('title_cancelled', 'Cancelled'),
                waitlisted: t('title_waitlisted', 'Waitlisted'), unconfirmed: t('title_unconfirmed', 'Not confirmed'),
                revoked: t('title_revoked', 'Revoked'), invalid: t('title_invalid', 'Not a valid ticket'),
                undo: t('title_undo', 'Undone'), venue_full: t('title_venue_full', 'VENUE FULL: HOLD'),
                admit_overflow: t('title_admit_overflow', 'ADMIT TO OVERFLOW'),
                no_reentry: t('title_no_reentry', 'No re-entry'), exit: t('title_exit', 'Exit')};
  // Verdicts that let the person through (green screen, happy beep).
  var GOOD = {admit: true, admit_overflow: true, exit: true};
  var DATE_LOCALE = I18N.date_locale || 'en-US';
  var $ = function (id) { return document.getElementById(id); };
  var state = {online: navigator.onLine, revoked: false, lastCode: '', lastCodeAt: 0, offline: null, scanner: null,
                syncing: false, scanning: 0, hideTimer: null, mode: 'entry', lastScanAt: 0, lastSyncAt: 0, queuedCount: 0};
  window.door = state;  // for tests and the benchmark

  function nonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, '');
    var a = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  // sent: a request already on its way (the page's early sync) whose response is handled the same way.
  function api(path, payload, method, sent) {
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, 5000);
    var opts = {method: method || (payload ? 'POST' : 'GET'), credentials: 'same-origin', signal: ctrl.signal,
                headers: {'X-Door-Request': '1', 'Accept': 'application/json'}};
    if (payload) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(payload); }
    var reply = (sent || fetch(D.api + path, opts)).then(function (resp) {
      clearTimeout(timer);
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.status === 401 || resp.status === 403 && data.error && data.error.code === 'wrong_door') {
          closeDoor(data.error ? data.error.message : t('door_closed', 'This device can no longer scan here.'));
        }
        setOnline(true);
        return {status: resp.status, data: data};
      });
    }, function (err) { clearTimeout(timer); setOnline(false); throw err; });
    if (path !== 'checkin') return reply;
    // A scan's verdict on its way: the sync loop skips its tick rather than compete with it (syncOnce).
    state.scanning++;
    state.lastScanAt = Date.now();
    return reply.finally(function () { state.scanning--; });
  }

  function setOnline(on) {
    state.online = on;
    $('net').textContent = on ? t('online', 'online') : t('offline', 'offline');
    $('net').className = 'pill ' + (on ? 'pill-online' : 'pill-offline');
  }

  function closeDoor(message) {
    state.revoked = true;
    $('banner').textContent = message + ' Scans are no longer accepted on this device.';
    $('banner').hidden = false;
  }

  function refreshQueued() {
    if (!state.offline) return Promise.resolve();
    return state.offline.queued().then(function (n) {
      state.queuedCount = n;
      $('queued').textContent = t('queued', '{n} queued', {n: n});
    });
  }

  // Every time on the door pages is the rally's, named ("7:05 PM CDT"), never the phone's own zone,
  // written the way the server writes them (rallies/dates.py).
  function localTime(when) {
    if (!when) return '';
    var moment = when instanceof Date ? when : new Date(when);
    var options = {hour: 'numeric', minute: '2-digit', hour12: true, timeZoneName: 'short'};
    try {
      return moment.toLocaleTimeString(DATE_LOCALE, Object.assign({timeZone: D.tz}, options));
    } catch (e) { return moment.toLocaleTimeString(DATE_LOCALE, Object.assign({timeZone: 'UTC'}, options)); }
  }

  /* ---------- sound and vibration ---------- */
  var audio = null;
  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = ok ? 1200 : 300;
      osc.type = ok ? 'sine' : 'square';
      gain.gain.value = 0.2;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + (ok ? 0.15 : 0.5));
    } catch (e) { /* no audio: the screen still shows the verdict */ }
    if (navigator.vibrate) navigator.vibrate(ok ? 80 : [200, 100, 200]);
  }

  /* ---------- verdict screen ---------- */
  function button(label, onClick, cls) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'button ' + (cls || '');
    b.textContent = label;
    b.addEventListener('click', function (ev) { ev.stopPropagation(); onClick(ev); });
    return b;
  }

  function show(v, input) {
    var box = $('verdict');
    clearTimeout(state.hideTimer);
    box.className = 'verdict verdict-' + v.verdict;
    box.dataset.verdict = v.verdict;
    $('v-title').textContent = TITLES[v.verdict] || v.verdict;
    var t = v.ticket;
    $('v-name').textContent = t && t.name ? t.name : '';
    var detail = '';
    if (v.verdict === 'admit' && t) {
      detail = tr('party_admit', 'Party of {party}: admit {admitted}', {party: t.party, admitted: v.admitted}) +
        (t.remaining ? ' ' + tr('still_to_come', '({remaining} still to come)', {remaining: t.remaining}) : '');
    } else if (v.verdict === 'already' && v.previous) {
      detail = tr('previous', 'At {time}, {door}, by {device}',
                  {time: localTime(v.previous.at), door: v.previous.door, device: v.previous.device});
      if (t && t.remaining) {
        detail += ' ' + tr('party_still_to_come', '({remaining} of the party still to come)', {remaining: t.remaining});
      }
    } else if (v.verdict === 'wrong_rally' && v.rally) {
      detail = tr('wrong_rally', 'This ticket is for {title}', {title: v.rally.title});
    } else if (v.verdict === 'invalid') {
      detail = tr('invalid', 'Forged, altered or unreadable ({reason})', {reason: v.reason});
    } else if (v.verdict === 'undo' && t) {
      detail = tr('undo_detail', '{checked_in} of {party} now checked in', {checked_in: t.checked_in, party: t.party});
    } else if (v.verdict === 'venue_full') {
      var inside = v.inside || {};
      var est = !inside.rally && state.offline ? state.offline.insideEstimate() : null;
      detail = tr('venue_full_detail', 'Inside now: {inside} of {safe}. Admit no one until people leave.',
                  {inside: est ? est.inside : inside.rally, safe: est ? est.safe : inside.safe_capacity});
    } else if (v.verdict === 'admit_overflow') {
      var area = v.area || (v.inside && v.inside.overflow ? v.inside.overflow.name : '');
      detail = tr('overflow_detail', 'Send to {area}', {area: area}) +
        (t ? ' · ' + tr('party_admit', 'Party of {party}: admit {admitted}', {party: t.party, admitted: v.admitted}) : '');
    } else if (v.verdict === 'exit') {
      detail = v.reason === 'exit_without_entry' ? tr('exit_unknown', 'No entry known for this ticket: logged and flagged')
        : tr('exit_detail', '{left} left · {inside} of the party still inside', {left: v.left, inside: t ? t.inside : 0});
    } else if (v.verdict === 'no_reentry') {
      detail = tr('no_reentry_detail', 'This ticket left earlier; this rally allows no re-entry.');
    }
    if (v.flags && v.flags.offline) detail += ' · ' + tr('decided_offline', 'decided offline');
    if (v.flags && v.flags.override) detail += ' · ' + tr('override_flag', 'OVERRIDE: let in while offline, not counted; reported');
    else if (v.flags && v.flags.conflict) detail += ' · ' + tr('conflict_flag', 'CONFLICT: admitted elsewhere too');
    if (v.over_capacity) {
      detail += ' · ' + tr('over_capacity', 'over capacity ({going} / {capacity})', {going: v.going_people, capacity: v.capacity});
    }
    if (v.at_capacity) detail += ' · ' + tr('capacity_reached', 'CAPACITY REACHED');
    if (v.at_capacity !== undefined) $('c-full').hidden = !v.at_capacity;
    $('v-detail').textContent = detail;
    var actions = $('v-actions');
    actions.textContent = '';
    if (v.verdict === 'admit' && t && v.admitted > 1 && v.scan_id && !v.flags.offline && v.reason !== 'walkin') {
      for (var k = 1; k < v.admitted; k++) {
        actions.appendChild(button(tr('only_here', 'Only {k} here now', {k: k}), reduceTo(v.scan_id, k)));
      }
    }
    if (SUPERVISOR && ['cancelled', 'waitlisted', 'unconfirmed', 'revoked', 'no_reentry'].indexOf(v.verdict) >= 0 && input) {
      actions.appendChild(button(tr('override_admit', 'Override: admit'), function () { submit(input, {force: true}); }, 'primary'));
    }
    if (SUPERVISOR && v.verdict === 'venue_full' && input) {
      actions.appendChild(button(tr('override_admit', 'Override: admit'), function () { askOverride(input); }, 'primary'));
    }
    if (SUPERVISOR && t && t.id && ['already', 'admit', 'admit_overflow', 'exit', 'no_reentry'].indexOf(v.verdict) >= 0 &&
        state.online) {
      actions.appendChild(button(tr('undo_checkin', 'Undo check-in'), function () { askUndo(t.id); }, 'danger'));
    }
    box.hidden = false;
    box.focus();
    beep(!!GOOD[v.verdict]);
    if (v.inside) showInside(v.inside);
    if (GOOD[v.verdict] && v.flags && v.flags.offline && !v.flags.override) countOffline(v);
    afterPaint(function () { addRecent(v); });
    var hold = actions.childNodes.length ? 8000 : (GOOD[v.verdict] && v.verdict !== 'admit_overflow' ? 1500 : 3000);
    state.hideTimer = setTimeout(hide, hold);
    mark('door:verdict', {verdict: v.verdict, code: input && input.code});
  }

  // What the verdict screen need not wait for (the recent list, saving the view) runs once it is painted.
  function afterPaint(fn) {
    if (document.hidden || !window.requestAnimationFrame) { fn(); return; }
    requestAnimationFrame(function () { setTimeout(fn, 0); });
  }

  // For bench/bench_slow_phone.py (a PerformanceObserver reads them): only the latest of each name is
  // kept, so a long shift does not fill the phone's performance timeline.
  function mark(name, detail) {
    if (!window.performance || !performance.mark) return;
    try { performance.clearMarks(name); performance.mark(name, {detail: detail}); } catch (e) { /* old browser */ }
  }

  function hide() {
    $('verdict').hidden = true;
    var active = document.activeElement;
    if (!active || active === document.body || active === $('verdict')) $('code').focus();
  }

  function reduceTo(scanId, keep) {
    return function () {
      api('reduce', {scan_id: scanId, keep: keep, nonce: nonce()}).then(function (r) {
        if (r.data.verdict) show(r.data); else showError(r.data);
      }, function () { showError({error: {message: t('offline_retry', 'Offline: try again when the network is back.')}}); });
    };
  }

  function askUndo(ticketId) {
    var actions = $('v-actions');
    actions.textContent = '';
    clearTimeout(state.hideTimer);
    var input = document.createElement('input');
    input.type = 'text';
    input.placeholder = t('reason_required', 'Reason (required)');
    input.setAttribute('aria-label', t('reason_label', 'Reason for undoing'));
    input.addEventListener('click', function (ev) { ev.stopPropagation(); });
    actions.appendChild(input);
    actions.appendChild(button(t('confirm_undo', 'Confirm undo'), function () {
      api('undo', {ticket_id: ticketId, reason: input.value, nonce: nonce()}).then(function (r) {
        if (r.data.verdict) show(r.data); else showError(r.data);
      }, function () { showError({error: {message: t('offline_undo', 'Offline: undo needs the network.')}}); });
    }, 'danger'));
    input.focus();
  }

  // A supervisor admits past VENUE FULL only with a reason, which the scan log keeps.
  function askOverride(scanInput) {
    var actions = $('v-actions');
    actions.textContent = '';
    clearTimeout(state.hideTimer);
    var input = document.createElement('input');
    input.type = 'text';
    input.placeholder = t('override_reason', 'Override reason (required)');
    input.setAttribute('aria-label', t('override_reason', 'Override reason (required)'));
    input.addEventListener('click', function (ev) { ev.stopPropagation(); });
    actions.appendChild(input);
    actions.appendChild(button(t('override_admit', 'Override: admit'), function () {
      if (!input.value.trim()) { input.focus(); return; }
      submit(scanInput, {force: true, overrideReason: input.value});
    }, 'primary'));
    input.focus();
  }

  /* ---------- inside now ---------- */
  function showInside(inside) {
    if (inside.rally !== undefined && inside.rally !== null) $('c-inside').textContent = inside.rally;
    if (inside.door !== undefined && inside.door !== null) $('c-door-inside').textContent = inside.door;
    $('c-safe').textContent = inside.safe_capacity ? '/ ' + inside.safe_capacity : '';
    $('c-overflow').hidden = !inside.overflow;
    if (inside.overflow) $('c-overflow-inside').textContent = inside.overflow.inside;
    document.body.classList.toggle('venue-full', !!inside.full);
  }

  // Offline the count is the last synced one plus this device's own entries and exits: say how old it is.
  function showStale() {
    if (!state.offline || !state.offline.meta.lastSync) return;
    var minutes = Math.floor((Date.now() - state.offline.insideEstimate().syncedAt) / 60000);
    var stale = !state.online || minutes >= 1;
    $('c-stale').hidden = !stale;
    if (!stale) return;
    $('c-stale').textContent = t('inside_stale', 'Count may be stale (synced {n} min ago)', {n: minutes});
    var est = state.offline.insideEstimate();
    $('c-inside').textContent = est.inside;
  }

  function setMode(mode) {
    state.mode = mode === 'exit' ? 'exit' : 'entry';
    $('mode-entry').setAttribute('aria-pressed', String(state.mode === 'entry'));
    $('mode-exit').setAttribute('aria-pressed', String(state.mode === 'exit'));
    document.body.classList.toggle('mode-exit', state.mode === 'exit');
    try { localStorage.setItem('rallies-door-mode-' + D.doorId, state.mode); } catch (e) { /* private mode */ }
  }

  function showError(data) {
    var msg = data && data.error ? data.error.message : t('went_wrong', 'Something went wrong.');
    show({verdict: 'invalid', reason: data && data.error ? data.error.code : 'error', flags: {}});
    $('v-detail').textContent = msg;
  }

  function recentItem(text, cls) {
    var li = document.createElement('li');
    li.className = cls;
    li.textContent = text;
    return li;
  }

  function addRecent(v) {
    var text = localTime(new Date()) + ' · ' + (TITLES[v.verdict] || v.verdict) +
      (v.ticket && v.ticket.name ? ' · ' + v.ticket.name : '') + (v.flags && v.flags.offline ? ' ' + t('recent_offline', '(offline)') : '');
    var list = $('recent');
    list.insertBefore(recentItem(text, GOOD[v.verdict] ? 'r-admit' : 'r-bad'), list.firstChild);
    while (list.childNodes.length > 10) list.removeChild(list.lastChild);
    saveView();
  }

  /* ---------- what the screen shows, kept on the device ---------- */
  // The counters and recent scans are stored with the offline data, so a reload without network
  // (the page then comes from the service worker) shows what it showed before, not zeros.
  var COUNTERS = ['c-door', 'c-rally', 'c-walkins', 'c-inside', 'c-door-inside'];

  function saveView() {
    if (!state.offline) return;
    var view = {counters: {}, recent: []};
    COUNTERS.forEach(function (id) { view.counters[id] = $(id).textContent; });
    Array.prototype.forEach.call($('recent').childNodes, function (li) {
      view.recent.push({text: li.textContent, cls: li.className});
    });
    state.offline.store.put('meta', 'view', view).catch(function () {});
  }

  function restoreView(view) {
    if (!view) return;
    COUNTERS.forEach(function (id) { if (view.counters && view.counters[id] !== undefined) $(id).textContent = view.counters[id]; });
    var list = $('recent');
    list.textContent = '';
    (view.recent || []).forEach(function (item) { list.appendChild(recentItem(item.text, item.cls)); });
  }

  // An admission decided offline counts on this screen at once; the server's figures replace
  // these at the next sync.
  function countOffline(v) {
    var n = v.admitted || 0;
    var add = function (id, k) { $(id).textContent = String((parseInt($(id).textContent, 10) || 0) + k); };
    if (v.verdict === 'exit') { add('c-door-inside', -(v.left || 0)); showStale(); return; }
    if (v.verdict === 'admit' && v.reason !== 'reentry') { add('c-door', n); add('c-rally', n); }
    if (v.reason === 'walkin') add('c-walkins', n);
    if (v.verdict === 'admit') add('c-door-inside', n);
    showStale();
  }

  /* ---------- scanning ---------- */
  function handleCode(raw) {
    var code = (raw || '').trim();
    if (!code) return;
    var now = Date.now();
    // The camera sees the same ticket many times a second: ignore repeats, never refuse them.
    if (code === state.lastCode && now - state.lastCodeAt < SAME_CODE_MS) return;
    state.lastCode = code;
    state.lastCodeAt = now;
    submit({code: code}, {});
  }

  function submit(input, opts) {
    if (state.revoked) { show({verdict: 'invalid', reason: 'door_closed', flags: {}}); return Promise.resolve(); }
    var payload = {nonce: nonce(), client_time: Date.now(), force: !!opts.force, direction: state.mode};
    if (opts.overrideReason) payload.override_reason = opts.overrideReason;
    if (input.code !== undefined) payload.code = input.code; else payload.ticket_id = input.ticketId;
    if (opts.people) payload.people = opts.people;
    var offline = function () {
      return state.offline.decide(input, {nonce: payload.nonce, clientTime: payload.client_time, force: payload.force,
                                          people: opts.people, doorName: D.doorName, device: D.device,
                                          direction: state.mode, overrideReason: opts.overrideReason})
        .then(function (v) { state.lastDecisionMs = v.decision_ms; show(v, input); refreshQueued(); });
    };
    if (!state.online) return offline();
    return api('checkin', payload).then(function (r) {
      if (r.data.verdict) {
        show(r.data, input);
        if (r.data.inside && state.offline) state.offline.noteInside(r.data.inside);
        return;
      }
      if (r.status >= 500) return offline();
      showError(r.data);
    }, offline);  // network down mid-request: decide here; the same nonce keeps the upload idempotent
  }

  /* ---------- sync loop ---------- */
  function syncOnce() {
    if (state.syncing || state.scanning || state.revoked || !state.offline) return Promise.resolve();
    state.syncing = true;
    state.lastSyncAt = Date.now();
    var off = state.offline;
    var uploading = false;
    return off.pending().then(function (items) {
      items.sort(function (a, b) { return a.seq - b.seq; });
      items = items.slice(0, 500);
      if (!items.length) return;
      uploading = true;
      var scans = items.map(function (q) {
        // Everything queued was decided here while offline (the server then records it, never refuses it).
        var s = {kind: q.kind, nonce: q.nonce, client_time: q.client_time, offline: true};
        ['code', 'ticket_id', 'people', 'device_verdict', 'direction', 'name', 'email', 'postal_code', 'guests'].forEach(function (k) {
          if (q[k] !== undefined && q[k] !== null) s[k] = q[k];
        });
        return s;
      });
      return api('upload', {scans: scans}).then(function (r) {
        if (!r.data.results) return;
        if (r.data.inside) showInside(r.data.inside);
        return Promise.all(r.data.results.map(function (res) {
          return off.done(res.nonce).then(function () { return res.ok ? off.learn(res.ticket) : null; });
        }));
      });
    }).then(function () {
      var since = off.meta.cursor || 0;
      // The page's early request is this sync, unless scans went up first (its answer may predate them).
      return api('sync?since=' + since + window.DoorSync.QUERY, null, null,
                 window.DoorSync.take(uploading ? null : since));
    }).then(function (r) {
      if (r.status === 200 && r.data.tickets) {
        if (r.data.inside) showInside(r.data.inside);
        return off.apply(window.DoorSync.expand(r.data)).then(function () {
          window.DoorSync.remember(D.doorId, off.meta.cursor);
          mark('door:synced', {tickets: off.meta.ticketCount});
        });
      }
    }).then(function () {
      $('synced').textContent = t('synced', 'synced {time}', {time: localTime(new Date(off.meta.lastSync || Date.now()))});
      return api('status');
    }).then(function (r) {
      if (r.status === 200 && r.data.door) counters(r.data);
    }).catch(function () { /* offline: keep the queue, try again next tick */ })
      .then(function () { state.syncing = false; return refreshQueued(); });
  }

  function tick() {
    var now = Date.now();
    var busy = now - state.lastScanAt < BUSY_MS && now - state.lastSyncAt < MOST_DEFER_MS && !state.queuedCount;
    if (!busy) syncOnce();
  }

  function counters(s) {
    $('c-door').textContent = s.door.admitted;
    $('c-rally').textContent = s.rally.admitted;
    $('c-walkins').textContent = s.rally.walkins;
    $('c-rate').textContent = s.rally.last5;
    $('c-capacity').textContent = s.rally.capacity === null ? '∞' : s.rally.capacity;
    $('w-capacity').textContent = s.rally.capacity === null ? '' :
      t('walkin_capacity', 'Going {going} of capacity {capacity}. Walk-ins take only the places the organizer allows.',
        {going: s.rally.going, capacity: s.rally.capacity});
    $('c-full').hidden = !s.rally.at_capacity;
    showInside({rally: s.rally.inside, door: s.door.inside, safe_capacity: s.rally.safe_capacity,
                full: s.rally.venue_full, overflow: s.rally.overflow});
    $('c-stale').hidden = true;
    if (s.rally.conflicts !== undefined) {
      $('c-conflicts').hidden = !s.rally.conflicts;
      $('c-conflicts').textContent = t('conflicts', '{n} offline conflicts or overrides to check in the report.',
                                       {n: s.rally.conflicts});
    }
    saveView();
  }

  /* ---------- search and walk-ins ---------- */
  function renderResults(list) {
    var ul = $('results');
    ul.textContent = '';
    if (!list.length) { var li0 = document.createElement('li'); li0.textContent = t('no_match', 'No match.'); ul.appendChild(li0); return; }
    list.forEach(function (r) {
      var li = document.createElement('li');
      var span = document.createElement('span');
      span.textContent = r.name + ' · ' + t('search_party', 'party {party}', {party: r.party}) + ' · ' +
        t('status_' + r.status, r.status) + (r.checked_in ? ' · ' + t('search_inside', '{n} in', {n: r.checked_in}) : '');
      li.appendChild(span);
      li.appendChild(button(TITLES.admit, function () { submit({ticketId: r.id}, {}); }, 'primary'));
      ul.appendChild(li);
    });
  }

  function search(query) {
    if (state.online) {
      return api('search?q=' + encodeURIComponent(query)).then(function (r) { renderResults(r.data.results || []); },
        function () { return state.offline.search(query).then(renderResults); });
    }
    return state.offline.search(query).then(renderResults);
  }

  function walkin(form) {
    var data = {name: $('w-name').value, email: $('w-email').value, postal_code: $('w-zip').value,
                guests: parseInt($('w-guests').value || '0', 10) || 0, nonce: nonce(), client_time: Date.now()};
    var queueIt = function () {
      data.kind = 'walkin';
      return state.offline.enqueue(data).then(function () {
        show({verdict: 'admit', reason: 'walkin', admitted: data.guests + 1, flags: {offline: true},
              ticket: {name: data.name, party: data.guests + 1, remaining: 0}});
        refreshQueued();
      });
    };
    var done = function () { form.reset(); };
    if (!state.online) return queueIt().then(done);
    return api('walkin', data).then(function (r) {
      if (r.data.verdict) { show(r.data); done(); } else showError(r.data);
    }, function () { return queueIt().then(done); });
  }

  /* ---------- camera ---------- */
  function toggleCamera() {
    var btn = $('camera-toggle'), video = $('camera'), note = $('camera-note');
    if (state.scanner) {
      state.scanner.stop(); state.scanner.destroy(); state.scanner = null;
      video.removeAttribute('data-on'); btn.textContent = t('start_camera', 'Start camera');
      return;
    }
    if (!window.isSecureContext || !window.QrScanner) {
      note.hidden = false;
      note.textContent = t('camera_https', 'The camera needs HTTPS. Use a scanner gun or type the code below.');
      return;
    }
    // Made in this tap: a phone keeps an AudioContext made later, outside a gesture, silent; and the
    // first verdict need not wait for it.
    try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { /* no audio */ }
    state.scanner = new QrScanner(video, function (result) { handleCode(result.data || result); },
                                  {returnDetailedScanResult: true, maxScansPerSecond: 8, preferredCamera: 'environment'});
    state.scanner.start().then(function () {
      video.setAttribute('data-on', '1'); btn.textContent = t('stop_camera', 'Stop camera'); note.hidden = true;
    }, function (err) {
      note.hidden = false;
      note.textContent = t('camera_unavailable', 'Camera unavailable ({error}). Use a scanner gun or type the code.', {error: err});
      state.scanner = null;
    });
  }

  /* ---------- offline copy of the page ---------- */
  // A copy of this page for opening it offline; after the first sync, whose download it would slow.
  function cachePage() {
    if (!('serviceWorker' in navigator && window.isSecureContext && window.caches && navigator.onLine)) return;
    caches.open('rallies-door-pages').then(function (c) { return c.add(location.pathname); }).catch(function () {});
  }

  /* ---------- start ---------- */
  function start() {
    $('code-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var input = $('code');
      var value = input.value;
      input.value = '';
      state.lastCode = '';  // a deliberate submit is never a camera repeat
      handleCode(value);
    });
    $('search-form').addEventListener('submit', function (ev) { ev.preventDefault(); search($('search').value); });
    $('walkin-form').addEventListener('submit', function (ev) { ev.preventDefault(); walkin(ev.target); });
    $('camera-toggle').addEventListener('click', toggleCamera);
    $('mode-entry').addEventListener('click', function () { setMode('entry'); $('code').focus(); });
    $('mode-exit').addEventListener('click', function () { setMode('exit'); $('code').focus(); });
    try { setMode(localStorage.getItem('rallies-door-mode-' + D.doorId) || 'entry'); } catch (e) { setMode('entry'); }
    setInterval(showStale, 30000);
    $('verdict').addEventListener('click', hide);
    window.addEventListener('online', function () { syncOnce(); });
    window.addEventListener('offline', function () { setOnline(false); showStale(); });
    if ('serviceWorker' in navigator && window.isSecureContext) {
      navigator.serviceWorker.register(body.dataset.sw, {scope: body.dataset.swScope}).catch(function () {});
    }
    window.DoorDB.open('rallies-door-' + D.doorId).then(function (store) {
      state.offline = new window.DoorOffline(store, D.rallyId, body.dataset.publicKey);
      return state.offline.init();
    }).then(function () {
      return state.offline.store.get('meta', 'view').then(restoreView, function () {});
    }).then(function () {
      if (state.offline.meta.lastSync) {
        $('synced').textContent = t('synced', 'synced {time}', {time: localTime(new Date(state.offline.meta.lastSync))});
      }
      body.dataset.ready = '1';
      refreshQueued();
      syncOnce().then(cachePage);
      setInterval(tick, SYNC_EVERY_MS);
    });
    setOnline(navigator.onLine);
  }

  state.submit = submit;
  state.syncOnce = syncOnce;
  state.tick = tick;
  start();
})();
