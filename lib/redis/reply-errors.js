'use strict'
// Telling the errors a Redis server replied with (the command reached it
// and failed there) from the client's own (a connection that failed).

/**
 * Whether `err` is an error the Redis server replied with (the command
 * reached it and failed there): ioredis' ReplyError; node-redis v5's
 * ErrorReply and its subclasses (SimpleError, BlobError, MultiErrorReply),
 * v4's ErrorReply.
 */
function isReplyError(err) {
  if (!(err instanceof Error)) return false
  if (err.name === 'ReplyError') return true
  for (let c = err.constructor, i = 0; typeof c === 'function' && c !== Error && i < 8; c = Object.getPrototypeOf(c), i++) {
    if (c.name === 'ReplyError' || c.name === 'ErrorReply') return true
  }
  return false
}

/** An EVALSHA failing with NOSCRIPT ran nothing: the script can be sent whole. */
function isNoScript(err) {
  return isReplyError(err) && String(err.message).startsWith('NOSCRIPT')
}

module.exports = { isReplyError, isNoScript }
