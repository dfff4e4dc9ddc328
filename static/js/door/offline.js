/* Offline verdicts on the device, from the synced door data in IndexedDB.
 * Tickets are stored as [name, party, status letter, people admitted, of them outside again]; check-ins
 * of every door as [ticket id, people, admitted at (epoch s), door, device, undone]. Scans decided here
 * (entries and exits) are queued with their nonce and device time and uploaded later; the server
 * accepts and flags them.
 *
 * Venue full offline. The device cannot know the live count: it decides from the count of the last
 * sync plus its own queued entries minus exits, and holds at a lower threshold than the server:
 *   hold when inside >= safe_capacity - margin,  margin = max(ceil(2% of safe_capacity), 10 x doors).
 * Why: while this door is cut off, every other door keeps admitting. 10 per door is about what one
 * lane admits between two syncs (every 5 s online) plus a retry or two; 2% bounds the error of a
 * count kept by hand-held scanners at a large venue (the server's counts come from scanners too).
 * Holding early only asks people to wait; admitting past a fire-code limit cannot be undone. The
 * server never refuses what an offline door admitted, and its dashboard reports any time over. */
(function (global) {
  'use strict';

  function DoorOffline(store, rallyId, publicKeyB64) {
    this.store = store;
    this.rallyId = rallyId;
    this.publicKeyB64 = publicKeyB64;
    this.key = null;
    this.meta = {cursor: 0, lastSync: null};
    // Queued admissions by ticket id, kept in memory so a verdict never reads the whole queue.
    this.local = new Map();
    this.localByNonce = new Map();
    this.lastCheckin = new Map();  // ticket id -> {at, door, device} of its latest synced admission
    this.outs = new Map();  // ticket id -> people queued here as leaving
    this.localIn = 0;  // people this device admitted (venue) and has not uploaded yet
    this.localOut = 0;
    this.localOverflow = 0;
    this.reentries = new Map();  // ticket id -> people queued here as coming back in
    this.tickets = new global.DoorBlocks(store, 'tickets');
    this.checkins = new global.DoorBlocks(store, 'checkins');
  }

  /* The offline safety margin (see the top of this file). */
  function safetyMargin(safe, doors) {
    return Math.max(Math.ceil(safe * 0.02), 10 * Math.max(1, doors || 1));
  }
  DoorOffline.safetyMargin = safetyMargin;

  /* What the device believes about inside now: the last synced count plus its own queued entries and exits. */
  DoorOffline.prototype.insideEstimate = function () {
    var venue = this.meta.venue || {};
    var inside = this.meta.inside || {rally: 0};
    var overflowIn = inside.overflow ? inside.overflow.inside : 0;
    return {inside: Math.max(0, (inside.rally || 0) + this.localIn - this.localOut),
            overflow: overflowIn + (this.localOverflow || 0),
            safe: venue.safe_capacity === undefined ? null : venue.safe_capacity,
            hold: venue.safe_capacity === null || venue.safe_capacity === undefined ? null
              : venue.safe_capacity - safetyMargin(venue.safe_capacity, venue.doors),
            syncedAt: Math.max(this.meta.lastSync || 0, this.meta.insideAt || 0)};
  };

  /* The live count an online verdict carried: offline, the estimate starts from it, not from the last
     sync, which waits while the door is busy (scanner.js tick). */
  DoorOffline.prototype.noteInside = function (inside) {
    if (!inside || inside.rally === undefined || inside.rally === null) return Promise.resolve();
    this.meta.inside = inside;
    this.meta.insideAt = Date.now();
    return this.store.put('meta', 'state', this.meta);
  };

  DoorOffline.prototype._noteCheckins = function (rows) {
    var last = this.lastCheckin;
    rows.forEach(function (c) {
      if (c[5]) { last.delete(c[0]); return; }
      var prev = last.get(c[0]);
      if (!prev || prev.ts <= c[2]) last.set(c[0], {ts: c[2], at: new Date(c[2] * 1000).toISOString(), door: c[3], device: c[4]});
    });
  };

  DoorOffline.prototype._index = function (item) {
    var n = item.people || 1;
    if (item.device_verdict === 'exit') {
      this.localByNonce.set(item.nonce, item);
      if (!item.unknown_entry) this.localOut += n;
      if (item.ticket_id) this.outs.set(item.ticket_id, (this.outs.get(item.ticket_id) || 0) + n);
      return;
    }
    if (item.device_verdict === 'admit_overflow') this.localOverflow += n;
    else if (item.device_verdict === 'admit' || (item.kind === 'walkin')) this.localIn += item.kind === 'walkin' ? (item.guests || 0) + 1 : n;
    if (!item.ticket_id || (item.device_verdict !== 'admit' && item.device_verdict !== 'admit_overflow')) return;
    if (item.reentry) {
      this.reentries.set(item.ticket_id, this.reentered(item.ticket_id) + n);
      this.localByNonce.set(item.nonce, item);
      return;
    }
    var entry = this.local.get(item.ticket_id) || {people: 0, last: null};
    entry.people += item.people || 1;
    entry.last = {at: new Date(item.client_time).toISOString(), door: item.door, device: item.device};
    this.local.set(item.ticket_id, entry);
    this.localByNonce.set(item.nonce, item);
  };

  DoorOffline.prototype.init = function () {
    var self = this;
    return this.store.all('queue').then(function (items) {
      items.sort(function (a, b) { return a.seq - b.seq; }).forEach(function (q) { self._index(q); });
      return Promise.all([self.tickets.load(), self.checkins.load()]);
    }).then(function () {
      var rows = [];
      self.checkins.forEach(function (c) { rows.push(c); });
      self._noteCheckins(rows);
      return self.store.get('meta', 'state');
    }).then(function (meta) {
      if (meta) self.meta = meta;
      var b64 = (meta && meta.publicKey) || self.publicKeyB64;
      return global.DoorCodec.importKey(b64).then(function (k) { self.key = k; }, function () { self.key = null; });
    });
  };

  /* Store one sync response (full responses replace everything). */
  DoorOffline.prototype.apply = function (payload) {
    var self = this, s = this.store;
    var tickets = payload.tickets.map(function (t) { return [t[0], [t[1], t[2], t[3], t[4], t[5] || 0]]; });
    var checkins = payload.checkins.map(function (c) { return [c[0], [c[1], c[2], c[3], c[4], c[5], c[6]]]; });
    if (payload.full) this.lastCheckin.clear();
    this._noteCheckins(checkins.map(function (c) { return c[1]; }));
    return Promise.all([this.tickets.write(tickets, payload.full), this.checkins.write(checkins, payload.full)]).then(function () {
      self.meta = {cursor: payload.cursor, lastSync: Date.now(), publicKey: payload.rally.public_key,
                   ticketCount: payload.full ? tickets.length : (self.meta.ticketCount || 0),
                   inside: payload.inside || self.meta.inside || null,
                   venue: {safe_capacity: payload.rally.safe_capacity, reentry_allowed: payload.rally.reentry_allowed !== false,
                           overflow_name: payload.rally.overflow_name || '', overflow_capacity: payload.rally.overflow_capacity,
                           doors: payload.rally.doors || 1}};
      if (payload.rally.public_key !== self.publicKeyB64 || !self.key) {
        self.publicKeyB64 = payload.rally.public_key;
        return global.DoorCodec.importKey(payload.rally.public_key).then(function (k) { self.key = k; });
      }
    }).then(function () { return s.put('meta', 'state', self.meta); });
  };

  DoorOffline.prototype.queued = function () { return this.store.count('queue'); };
  DoorOffline.prototype.pending = function () { return this.store.all('queue'); };
  DoorOffline.prototype.done = function (nonce) {
    var item = this.localByNonce.get(nonce);
    if (item) {
      this.localByNonce.delete(nonce);
      var n = item.people || 1;
      if (item.device_verdict === 'exit') {
        if (!item.unknown_entry) this.localOut -= n;
        var out = (this.outs.get(item.ticket_id) || 0) - n;
        if (out > 0) this.outs.set(item.ticket_id, out); else this.outs.delete(item.ticket_id);
        return this.store.del('queue', nonce);
      }
      if (item.kind === 'walkin') this.localIn -= (item.guests || 0) + 1;
      else if (item.device_verdict === 'admit_overflow') this.localOverflow -= n;
      else if (item.device_verdict === 'admit') this.localIn -= n;
      if (item.reentry) {
        var back = this.reentered(item.ticket_id) - n;
        if (back > 0) this.reentries.set(item.ticket_id, back); else this.reentries.delete(item.ticket_id);
        return this.store.del('queue', nonce);
      }
      var entry = this.local.get(item.ticket_id);
      if (entry) {
        entry.people -= item.people || 1;
        if (entry.people <= 0) this.local.delete(item.ticket_id);
      }
    }
    return this.store.del('queue', nonce);
  };
  DoorOffline.prototype.enqueue = function (item) {
    item.seq = Date.now() + Math.random();
    this._index(item);
    return this.store.put('queue', item.nonce, item);
  };

  /* A server verdict after upload: keep the local count right until the next sync. */
  DoorOffline.prototype.learn = function (ticket) {
    if (!ticket || !ticket.id) return Promise.resolve();
    var t = this.tickets.get(ticket.id);
    var name = (t && t[0]) || ticket.name || '';
    var letter = {going: 'g', waitlisted: 'w', cancelled: 'c'}[ticket.status] || (t && t[2]) || 'g';
    var outside = ticket.inside !== undefined ? Math.max(0, ticket.checked_in - ticket.inside) : (t && t[4]) || 0;
    return this.tickets.write([[ticket.id, [name, ticket.party, letter, ticket.checked_in, outside]]], false);
  };

  DoorOffline.prototype._previous = function (ticketId) {
    var entry = this.local.get(ticketId);
    if (entry && entry.last) return Promise.resolve(entry.last);
    var synced = this.lastCheckin.get(ticketId);
    return Promise.resolve(synced ? {at: synced.at, door: synced.door, device: synced.device} : null);
  };

  /* Decide a scanned code (or a ticket id from a search) on the device; queue what happened. */
  DoorOffline.prototype.decide = function (input, ctx) {
    var self = this;
    var t0 = performance.now();
    var flags = {offline: true, clock: false, forced: !!ctx.force, conflict: false};
    function finish(v, ticketId) {
      v.flags = flags;
      v.decision_ms = performance.now() - t0;
      var leaving = v.verdict === 'exit';
      var item = {kind: 'scan', nonce: ctx.nonce, client_time: ctx.clientTime, device_verdict: v.verdict,
                  ticket_id: ticketId || null,
                  people: v.verdict === 'admit' || v.verdict === 'admit_overflow' ? v.admitted : leaving ? (v.left || 1) : null,
                  door: ctx.doorName, device: ctx.device};
      if (leaving) { item.direction = 'exit'; item.unknown_entry = v.reason === 'exit_without_entry'; }
      if (v.reentry) item.reentry = true;
      if (input.code) item.code = input.code; else item.ticket_id = ticketId;
      return self.enqueue(item).then(function () { return v; });
    }
    var parsedP;
    if (input.code !== undefined) {
      var parsed = global.DoorCodec.parseCode(input.code);
      if (parsed.error) return finish({verdict: 'invalid', reason: parsed.error});
      if (!self.key) return finish({verdict: 'invalid', reason: 'no_key_synced'});
      parsedP = global.DoorCodec.verify(self.key, self.rallyId, parsed).then(function (ok) {
        return ok ? parsed.ticketId : null;
      });
    } else {
      parsedP = Promise.resolve(input.ticketId);
    }
    return parsedP.then(function (ticketId) {
      if (ticketId === null) return finish({verdict: 'invalid', reason: 'bad_signature'});
      return Promise.resolve(self.tickets.get(ticketId)).then(function (t) {
        var localAdmitted = self.local.has(ticketId) ? self.local.get(ticketId).people : 0;
        var ticket = t ? {id: ticketId, name: t[0], party: t[1], status: {g: 'going', w: 'waitlisted', c: 'cancelled'}[t[2]],
                          checked_in: t[3] + localAdmitted}
                       : {id: ticketId, name: global.doorText ? global.doorText('ticket_number', 'Ticket #{id}', {id: ticketId}) : 'Ticket #' + ticketId, party: 1, status: 'going', checked_in: localAdmitted};
        ticket.remaining = Math.max(0, ticket.party - ticket.checked_in);
        // Outside again: left by an exit (synced, or queued here) and not yet back in.
        var outside = Math.max(0, ((t && t[4]) || 0) + (self.outs.get(ticketId) || 0) - (self.reentered(ticketId)));
        ticket.inside = Math.max(0, ticket.checked_in - outside);
        if (ctx.direction === 'exit') {
          if (ticket.inside <= 0) return finish({verdict: 'exit', reason: 'exit_without_entry', ticket: ticket, left: 0}, ticketId);
          var k = Math.min(ctx.people || ticket.inside, ticket.inside);
          ticket.inside -= k;
          return finish({verdict: 'exit', reason: 'ok', ticket: ticket, left: k}, ticketId);
        }
        if (ticket.status === 'cancelled' && !ctx.force) return finish({verdict: 'cancelled', reason: 'ticket_cancelled', ticket: ticket}, ticketId);
        if (ticket.status === 'waitlisted' && !ctx.force) return finish({verdict: 'waitlisted', reason: 'ticket_waitlisted', ticket: ticket}, ticketId);
        var reentry = ticket.remaining <= 0 && outside > 0;
        if (reentry && !self.venue().reentry_allowed && !ctx.force) {
          return self._previous(ticketId).then(function (prev) {
            return finish({verdict: 'no_reentry', reason: 'reentry_not_allowed', ticket: ticket, previous: prev}, ticketId);
          });
        }
        var n = ctx.people || (reentry ? outside : ticket.remaining);
        var room = self.room(n, ctx);
        if ((reentry || (ticket.remaining > 0 && n <= ticket.remaining)) && room !== 'venue') {
          if (room === 'overflow') {
            if (!reentry) { ticket.checked_in += n; ticket.remaining -= n; }
            return finish({verdict: 'admit_overflow', reason: 'venue_full_offline', ticket: ticket, admitted: n,
                           area: self.venue().overflow_name, reentry: reentry}, ticketId);
          }
          return finish({verdict: 'venue_full', reason: 'venue_full_offline', ticket: ticket, admitted: 0}, ticketId);
        }
        if (reentry) {
          if (n > outside) return finish({verdict: 'already', reason: 'party_exceeded', ticket: ticket}, ticketId);
          return finish({verdict: 'admit', reason: 'reentry', ticket: ticket, admitted: n, reentry: true}, ticketId);
        }
        if (ticket.remaining <= 0 || n > ticket.remaining) {
          return self._previous(ticketId).then(function (prev) {
            return finish({verdict: 'already', reason: 'already_checked_in', ticket: ticket, previous: prev}, ticketId);
          });
        }
        ticket.checked_in += n;
        ticket.remaining -= n;
        return finish({verdict: 'admit', reason: t ? 'ok' : 'new_ticket', ticket: ticket, admitted: n}, ticketId);
      });
    });
  };

  DoorOffline.prototype.venue = function () {
    return this.meta.venue || {safe_capacity: null, reentry_allowed: true, overflow_name: '', doors: 1};
  };

  DoorOffline.prototype.reentered = function (ticketId) {
    return this.reentries.get(ticketId) || 0;
  };

  /* Where n people entering may go, offline: 'venue', 'overflow', or 'hold' (see the top of this file). */
  DoorOffline.prototype.room = function (n, ctx) {
    var est = this.insideEstimate();
    if (est.hold === null || ctx.overrideReason || est.inside + n <= est.hold) return 'venue';
    var venue = this.venue();
    if (!venue.overflow_name) return 'hold';
    if (venue.overflow_capacity === null || venue.overflow_capacity === undefined) return 'overflow';
    var cap = venue.overflow_capacity - safetyMargin(venue.overflow_capacity, venue.doors);
    return est.overflow + n <= cap ? 'overflow' : 'hold';
  };

  DoorOffline.prototype.search = function (query) {
    var q = fold(query).trim();
    if (q.length < 2) return Promise.resolve([]);
    var out = [];
    this.tickets.forEach(function (v, id) {
      var name = fold(v[0]);
      if (name.indexOf(q) === 0 || name.indexOf(' ' + q) >= 0) {
        out.push({id: id, name: v[0], party: v[1], status: {g: 'going', w: 'waitlisted', c: 'cancelled'}[v[2]],
                  checked_in: v[3], remaining: Math.max(0, v[1] - v[3])});
      }
    });
    out.sort(function (a, b) { return a.id - b.id; });
    return Promise.resolve(out.slice(0, 20));
  };

  function fold(text) {
    return (text || '').normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }

  global.DoorOffline = DoorOffline;
})(window);
