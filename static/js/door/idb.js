/* A small promise wrapper over IndexedDB for the door: meta, tickets and checkins (in blocks), the offline queue. */
(function (global) {
  'use strict';
  var STORES = ['meta', 'tickets', 'checkins', 'queue'];

  function req(r) {
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function DoorStore(db) { this.db = db; }

  DoorStore.prototype.tx = function (store, mode, fn) {
    var db = this.db;
    return new Promise(function (resolve, reject) {
      var t = db.transaction(store, mode);
      var result;
      t.oncomplete = function () { resolve(result); };
      t.onerror = function () { reject(t.error); };
      t.onabort = function () { reject(t.error); };
      result = fn(t.objectStore(store));
    });
  };
  DoorStore.prototype.get = function (store, key) {
    var db = this.db;
    return req(db.transaction(store).objectStore(store).get(key));
  };
  DoorStore.prototype.put = function (store, key, value) {
    return this.tx(store, 'readwrite', function (s) { s.put(value, key); });
  };
  DoorStore.prototype.del = function (store, key) {
    return this.tx(store, 'readwrite', function (s) { s.delete(key); });
  };
  /* entries: [[key, value], ...] in one transaction (a 30,000-ticket sync is one write). */
  DoorStore.prototype.putMany = function (store, entries) {
    return this.tx(store, 'readwrite', function (s) {
      for (var i = 0; i < entries.length; i++) s.put(entries[i][1], entries[i][0]);
    });
  };
  DoorStore.prototype.all = function (store) {
    return req(this.db.transaction(store).objectStore(store).getAll());
  };
  DoorStore.prototype.count = function (store) {
    return req(this.db.transaction(store).objectStore(store).count());
  };
  DoorStore.prototype.clear = function (store) {
    return this.tx(store, 'readwrite', function (s) { s.clear(); });
  };

  // Version 2 keeps tickets and check-ins in blocks (blocks.js); version 1 had one record per row.
  var BLOCKED = ['tickets', 'checkins'];

  function regroup(store) {
    var keys = store.getAllKeys();
    keys.onsuccess = function () {
      store.getAll().onsuccess = function (ev) {
        var rows = ev.target.result;
        store.clear();
        global.DoorBlocks.pack(keys.result.map(function (k, i) { return [k, rows[i]]; })).forEach(function (b) {
          store.put(b[1], b[0]);
        });
      };
    };
  }

  function open(name) {
    var r = indexedDB.open(name, 2);
    r.onupgradeneeded = function (ev) {
      STORES.forEach(function (s) { if (!r.result.objectStoreNames.contains(s)) r.result.createObjectStore(s); });
      if (ev.oldVersion === 1) BLOCKED.forEach(function (s) { regroup(r.transaction.objectStore(s)); });
    };
    return req(r).then(function (db) { return new DoorStore(db); });
  }

  global.DoorDB = {open: open};
})(window);
