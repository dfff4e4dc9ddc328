/* Ticket codes on the device: base32 decoding and Ed25519 checks matching rallies/services/tickets.py.
 * code = "RT1" + BASE32(ticket_id (6 bytes, big-endian) || signature (64 bytes)), no padding.
 * signed message = "RALLIES-TICKET-1" || rally_id (4 bytes) || ticket_id (6 bytes). */
(function (global) {
  'use strict';
  var ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  var PREFIX = 'RT1';
  var CODE_LENGTH = 115;
  var ID_BYTES = 6;
  var TAG = new TextEncoder().encode('RALLIES-TICKET-1');

  function base32Decode(text) {
    var out = new Uint8Array(Math.floor(text.length * 5 / 8));
    var bits = 0, value = 0, index = 0;
    for (var i = 0; i < text.length; i++) {
      var v = ALPHABET.indexOf(text[i]);
      if (v < 0) return null;
      value = (value << 5) | v;
      bits += 5;
      if (bits >= 8) {
        out[index++] = (value >>> (bits - 8)) & 255;
        bits -= 8;
      }
    }
    return out;
  }

  /* {ticketId, signature} or {error: reason} (reasons match the server's). */
  function parseCode(text) {
    if (typeof text !== 'string' || !text) return {error: 'empty_code'};
    if (text.length > 400) return {error: 'code_too_long'};
    var code = text.trim().toUpperCase();
    if (code.indexOf('RT') !== 0 || code.length < 3) return {error: 'malformed_code'};
    if (code.indexOf(PREFIX) !== 0) return {error: 'unknown_version'};
    if (code.length !== CODE_LENGTH) return {error: 'malformed_code'};
    var raw = base32Decode(code.slice(PREFIX.length));
    if (!raw || raw.length < ID_BYTES + 64) return {error: 'malformed_code'};
    var id = 0;
    for (var i = 0; i < ID_BYTES; i++) id = id * 256 + raw[i];
    return {ticketId: id, signature: raw.slice(ID_BYTES, ID_BYTES + 64), code: code};
  }

  function signedMessage(rallyId, ticketId) {
    var msg = new Uint8Array(TAG.length + 4 + ID_BYTES);
    msg.set(TAG, 0);
    var p = TAG.length;
    for (var i = 3; i >= 0; i--) { msg[p + i] = rallyId & 255; rallyId = Math.floor(rallyId / 256); }
    p += 4;
    for (var j = ID_BYTES - 1; j >= 0; j--) { msg[p + j] = ticketId % 256; ticketId = Math.floor(ticketId / 256); }
    return msg;
  }

  function b64ToBytes(b64) {
    var bin = atob(b64 || '');
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function importKey(publicKeyB64) {
    if (!global.crypto || !global.crypto.subtle) return Promise.reject(new Error('WebCrypto needs HTTPS'));
    return global.crypto.subtle.importKey('raw', b64ToBytes(publicKeyB64), {name: 'Ed25519'}, false, ['verify']);
  }

  function verify(key, rallyId, parsed) {
    return global.crypto.subtle.verify({name: 'Ed25519'}, key, parsed.signature, signedMessage(rallyId, parsed.ticketId));
  }

  global.DoorCodec = {parseCode: parseCode, importKey: importKey, verify: verify, base32Decode: base32Decode,
                      signedMessage: signedMessage};
})(window);
