#!/usr/bin/env node
/**
 * Feed captured SSE streams through the official AG-UI client and report every rejection.
 *
 * Usage: node scripts/verify-agui-streams.mjs STREAM.sse [STREAM.sse …]
 *        node scripts/verify-agui-streams.mjs DIRECTORY   (every *.sse file in it)
 *
 * Each file holds the raw bytes of one `text/event-stream` response. It is checked twice:
 *
 * 1. `@ag-ui/client`'s own pipeline, unchanged: an `HttpAgent` whose `fetch` answers with the
 *    captured bytes (delivered in small chunks that split frames and UTF-8 sequences, as a
 *    network does), so `runAgent()` runs `transformHttpEventStream` (SSE parsing),
 *    `enforceEvents` (the protocol's event schemas), `transformChunks`, `verifyEvents` (the
 *    lifecycle rules: RUN_STARTED first, nothing after the terminal event, every
 *    TEXT_MESSAGE_*, TOOL_CALL_* and SUBAGENT_* opened before it is used or closed) and the
 *    default event application. A rejection is any error the run raises.
 * 2. `@ag-ui/core`'s schemas, strictly: every `data:` payload must parse with `EventSchemas`
 *    (a discriminated union on `type`), and the stream must end with exactly one terminal
 *    event (`RUN_FINISHED` or `RUN_ERROR`), its last.
 *
 * Prints one JSON line per stream (`{file, ok, events, error?}`) and exits with status 1 when
 * any stream was rejected, 2 on a usage error.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";

import { HttpAgent } from "@ag-ui/client";
import { EventSchemas } from "@ag-ui/core/schemas";

const CHUNK_BYTES = 97; // odd-sized, so chunks split frames, lines and multi-byte characters
const TERMINAL = new Set(["RUN_FINISHED", "RUN_ERROR"]);

function streamFiles(args) {
  const files = [];
  for (const arg of args) {
    if (statSync(arg).isDirectory()) {
      for (const name of readdirSync(arg).sort()) {
        if (name.endsWith(".sse")) files.push(join(arg, name));
      }
    } else {
      files.push(arg);
    }
  }
  return files;
}

/** A Response whose body delivers `bytes` in CHUNK_BYTES-sized pieces. */
function replay(bytes) {
  const body = new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
        controller.enqueue(bytes.subarray(at, at + CHUNK_BYTES));
      }
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

/** Run the bytes through HttpAgent.runAgent; returns the events it saw, throws its error. */
async function throughClient(bytes) {
  const agent = new HttpAgent({ url: "http://captured.invalid/", fetch: async () => replay(bytes) });
  const seen = [];
  let failure;
  await agent.runAgent(
    {},
    {
      onEvent: ({ event }) => {
        seen.push(event.type);
      },
      onRunFailed: ({ error }) => {
        failure = error;
      },
    },
  ).catch((error) => {
    failure = failure ?? error;
  });
  if (failure) throw failure;
  return seen;
}

/** The SSE `data:` payloads of a stream (the SSE rules the browser follows). */
function dataBlocks(text) {
  const blocks = [];
  for (const block of text.replace(/\r\n/g, "\n").split("\n\n")) {
    const data = block
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).replace(/^ /, ""));
    if (data.length) blocks.push(data.join("\n"));
  }
  return blocks;
}

function throughSchemas(bytes) {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  if (!text.endsWith("\n\n")) throw new Error("the stream ends in the middle of a frame");
  const types = dataBlocks(text).map((data, index) => {
    const parsed = EventSchemas.safeParse(JSON.parse(data));
    if (!parsed.success) {
      throw new Error(`event ${index} does not match @ag-ui/core's schema: ${parsed.error.message}`);
    }
    return parsed.data.type;
  });
  const terminals = types.flatMap((type, index) => (TERMINAL.has(type) ? [index] : []));
  if (terminals.length !== 1 || terminals[0] !== types.length - 1) {
    throw new Error(`expected exactly one terminal event, last; got ${terminals.length} at ${terminals}`);
  }
  return types;
}

async function verify(file) {
  const bytes = new Uint8Array(readFileSync(file));
  try {
    const types = throughSchemas(bytes);
    const seen = await throughClient(bytes);
    if (seen.length !== types.length) {
      throw new Error(`the client delivered ${seen.length} of ${types.length} events`);
    }
    return { file: basename(file), ok: true, events: types.length };
  } catch (error) {
    return { file: basename(file), ok: false, error: String(error?.message ?? error) };
  }
}

const files = streamFiles(process.argv.slice(2));
if (!files.length) {
  console.error("usage: verify-agui-streams.mjs STREAM.sse… | DIRECTORY");
  process.exit(2);
}
// The client logs a subscriber's or a run's error itself; keep stdout for our report only.
console.error = () => {};
let rejected = 0;
for (const file of files) {
  const result = await verify(file);
  if (!result.ok) rejected += 1;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
process.exit(rejected ? 1 : 0);
