/* Synced door rows (tickets, check-ins) kept in IndexedDB in blocks: one record per BLOCK ids instead of
 * one per row, so storing a 30,000-ticket sync is a few dozen writes instead of 30,000. The rows are also
 * kept in memory (a Map per block), which answers every lookup; a change rewrites only its blocks. */
(function (global) {
  'use strict';
  var BLOCK = 1000;

  function blockOf(id) { return Math.floor(id / BLOCK); }

  /* [[id, row], ...] grouped into [[block key, [[id, row], ...]], ...] (a block record's shape). */
  function pack(entries) {
    var blocks = new Map();
    for (var i = 0; i < entries.length; i++) {
      var k = blockOf(entries[i][0]);
      if (!blocks.has(k)) blocks.set(k, []);
      blocks.get(k).push(entries[i]);
    }
    return Array.from(blocks);
  }

  function DoorBlocks(store, name) {
    this.store = store;
    this.name = name;
    this.blocks = new Map();  // block key -> Map(id -> row)
  }

  DoorBlocks.prototype.load = function () {
    var self = this;
    return this.store.all(this.name).then(function (records) {
      self.blocks = new Map();
      records.forEach(function (entries) {
        if (entries.length) self.blocks.set(blockOf(entries[0][0]), new Map(entries));
      });
    });
  };

  DoorBlocks.prototype.get = function (id) {
    var block = this.blocks.get(blockOf(id));
    return block ? block.get(id) : undefined;
  };

  DoorBlocks.prototype.forEach = function (fn) {
    this.blocks.forEach(function (block) { block.forEach(fn); });
  };

  /* Set rows ([[id, row], ...]); replace: they are the whole set. One transaction, only touched blocks. */
  DoorBlocks.prototype.write = function (entries, replace) {
    var blocks = this.blocks;
    if (replace) blocks.clear();
    var touched = new Set();
    for (var i = 0; i < entries.length; i++) {
      var k = blockOf(entries[i][0]);
      if (!blocks.has(k)) blocks.set(k, new Map());
      blocks.get(k).set(entries[i][0], entries[i][1]);
      touched.add(k);
    }
    if (!touched.size && !replace) return Promise.resolve();
    return this.store.tx(this.name, 'readwrite', function (s) {
      if (replace) s.clear();
      touched.forEach(function (k) { s.put(Array.from(blocks.get(k)), k); });
    });
  };

  global.DoorBlocks = DoorBlocks;
  global.DoorBlocks.pack = pack;
})(window);
