// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { createSseParser, readSseStream } from './sseParser.js'
import { streamOf } from '../test/sse.js'

const enc = new TextEncoder()

/** Feeds byte pieces through a streaming TextDecoder into a parser; returns the frames. */
function parseBytes(pieces) {
  const out = []
  const parser = createSseParser((f) => out.push(f))
  const dec = new TextDecoder('utf-8')
  for (const p of pieces) parser.push(dec.decode(p, { stream: true }))
  parser.push(dec.decode())
  parser.flush()
  return out
}

const STREAM =
  ': keepalive\n\n' +
  'id: 1\ndata: {"type":"RUN_STARTED","threadId":"t","runId":"r"}\n\n' +
  'id: 2\ndata: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"Héllo – 👋 wörld"}\n\n' +
  ': keepalive\n\n' +
  'id: 3\ndata: {"type":"CUSTOM",\ndata: "name":"x","value":{}}\n\n' +
  'id: 4\r\ndata: {"type":"RUN_FINISHED","threadId":"t","runId":"r"}\r\n\r\n'

const EXPECTED = [
  { id: '1', data: '{"type":"RUN_STARTED","threadId":"t","runId":"r"}' },
  { id: '2', data: '{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"Héllo – 👋 wörld"}' },
  { id: '3', data: '{"type":"CUSTOM",\n"name":"x","value":{}}' },
  { id: '4', data: '{"type":"RUN_FINISHED","threadId":"t","runId":"r"}' },
]

const simplify = (frames) => frames.map((f) => ({ id: f.id, data: f.data }))

describe('createSseParser', () => {
  it('parses a whole stream: comments ignored, ids tracked, multi-line data joined with \\n, \\r\\n', () => {
    expect(simplify(parseBytes([enc.encode(STREAM)]))).toEqual(EXPECTED)
  })

  it('gives the same frames when the bytes are split at every boundary (two pieces)', () => {
    const bytes = enc.encode(STREAM)
    for (let at = 0; at <= bytes.length; at++) {
      const got = simplify(parseBytes([bytes.slice(0, at), bytes.slice(at)]))
      expect(got, `split at byte ${at}`).toEqual(EXPECTED)
    }
  })

  it('gives the same frames one byte at a time (multi-byte UTF-8 split across reads)', () => {
    const bytes = enc.encode(STREAM)
    const pieces = Array.from(bytes, (_, i) => bytes.slice(i, i + 1))
    expect(simplify(parseBytes(pieces))).toEqual(EXPECTED)
  })

  it('gives the same frames split at every pair of boundaries (three pieces)', () => {
    const bytes = enc.encode(STREAM.slice(0, 160))
    const want = simplify(parseBytes([bytes]))
    for (let a = 0; a <= bytes.length; a += 3) {
      for (let b = a; b <= bytes.length; b += 5) {
        expect(simplify(parseBytes([bytes.slice(0, a), bytes.slice(a, b), bytes.slice(b)]))).toEqual(want)
      }
    }
  })

  it('treats a lone \\r as a line end, and does not mistake a \\r\\n split across chunks for a blank line', () => {
    const out = []
    const p = createSseParser((f) => out.push(f))
    p.push('data: a\r')
    p.push('\ndata: b\r')
    p.push('\r')
    // The last \r could still be the start of \r\n, so the frame waits for the next byte.
    expect(out).toEqual([])
    p.push('data: c\r\r')
    expect(out.map((f) => f.data)).toEqual(['a\nb'])
    p.flush()
    expect(out.map((f) => f.data)).toEqual(['a\nb', 'c'])
  })

  it('flushes a final frame that has no blank line after it', () => {
    const out = parseBytes([enc.encode('id: 7\ndata: {"a":1}\n\nid: 8\ndata: {"b":2}')])
    expect(simplify(out)).toEqual([
      { id: '7', data: '{"a":1}' },
      { id: '8', data: '{"b":2}' },
    ])
  })

  it('keeps a truncated final frame as it is (the reader decides what to do with bad JSON)', () => {
    const out = parseBytes([enc.encode('data: {"a":1}\n\ndata: {"type":"RUN_FIN')])
    expect(out.map((f) => f.data)).toEqual(['{"a":1}', '{"type":"RUN_FIN'])
  })

  it('ignores frames with no data (id-only, comment-only, event-only) but remembers the id', () => {
    const out = []
    const p = createSseParser((f) => out.push(f))
    p.push(': hi\n\nid: 5\n\nevent: ping\n\nretry: 100\n\ndata: x\n\n')
    p.flush()
    expect(out).toHaveLength(1)
    expect(out[0]).toMatchObject({ data: 'x', id: null, lastEventId: '5', event: 'message' })
    expect(p.lastEventId).toBe('5')
  })

  it('strips exactly one space after the colon and accepts a field with no colon', () => {
    const out = []
    const p = createSseParser((f) => out.push(f))
    p.push('data:  two spaces\ndata:none\ndata\n\n')
    p.flush()
    expect(out[0].data).toBe(' two spaces\nnone\n')
  })

  it('ignores ids containing NUL', () => {
    const out = []
    const p = createSseParser((f) => out.push(f))
    p.push('id: 1\0\ndata: x\n\n')
    expect(out[0].id).toBeNull()
  })
})

describe('readSseStream', () => {
  it('reads a ReadableStream of bytes and reports the last id', async () => {
    const out = []
    const bytes = enc.encode(STREAM)
    const res = await readSseStream(streamOf([bytes.slice(0, 33), bytes.slice(33, 34), bytes.slice(34)]), (f) => out.push(f))
    expect(simplify(out)).toEqual(EXPECTED)
    expect(res.lastEventId).toBe('4')
  })

  it('stops reading when aborted', async () => {
    const controller = new AbortController()
    const out = []
    let pulls = 0
    const body = new ReadableStream({
      pull(c) {
        pulls += 1
        if (pulls === 1) c.enqueue(enc.encode('data: 1\n\n'))
        // then never resolves more data until cancelled
        return new Promise(() => {})
      },
    })
    const done = readSseStream(body, (f) => {
      out.push(f)
      controller.abort()
    }, { signal: controller.signal })
    await expect(done).resolves.toBeDefined()
    expect(out.map((f) => f.data)).toEqual(['1'])
  })

  it('rejects when the connection fails mid-stream', async () => {
    const out = []
    await expect(
      readSseStream(streamOf(['data: 1\n\n', 'data: 2'], { error: new TypeError('network') }), (f) => out.push(f)),
    ).rejects.toThrow('network')
    expect(out.map((f) => f.data)).toEqual(['1'])
  })
})
