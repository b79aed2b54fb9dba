// Replay recorded answers into @anthropic-ai/sdk or @ai-sdk/anthropic, through each one's `fetch` option.
//
// A standalone script, run by node: `node replay_js.mjs CLIENT NODE_DIR BATCH.jsonl` where CLIENT is
// "typescript" or "ai-sdk" and NODE_DIR holds their node_modules. It prints one JSON line per exchange
// as each is done. The client's fetch is ours: it answers every request with the recorded status,
// headers and body, in the recorded reads; nothing leaves the process. What the application would
// hold is reported as plain JSON: the result, or the error's class, message, status and body.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [client, nodeDir, batchPath] = process.argv.slice(2);
const require = createRequire(join(nodeDir, "package.json"));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);

const DROPPED = new Set(["content-length", "content-encoding", "transfer-encoding", "connection"]); // the recording holds the decoded body
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function recordedFetch(item) {
  return async () => {
    const chunks = item.chunks.map((c) => Buffer.from(c, "base64"));
    const headers = new Headers();
    for (const [name, value] of item.headers) {
      if (!DROPPED.has(name.toLowerCase())) {
        try { headers.append(name, value); } catch { /* a value fetch refuses is dropped, as a browser would */ }
      }
    }
    let i = 0;
    const body = NULL_BODY.has(item.status) ? null : new ReadableStream({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(new Uint8Array(chunks[i++]));
        else controller.close();
      },
    });
    return new Response(body, { status: item.status, headers });
  };
}

function params(body) {
  const b = body && typeof body === "object" && !Array.isArray(body) ? body : {};
  return {
    model: typeof b.model === "string" ? b.model : "claude-sonnet-4-5",
    max_tokens: Number.isInteger(b.max_tokens) && b.max_tokens > 0 ? Math.min(b.max_tokens, 1024) : 32,
    messages: Array.isArray(b.messages) && b.messages.length ? b.messages : [{ role: "user", content: "hi" }],
  };
}

function plain(value) {
  return JSON.parse(JSON.stringify(value ?? null));
}

function describe(error) {
  let body = error?.error ?? error?.data ?? error?.responseBody ?? null;
  try { JSON.stringify(body); } catch { body = String(body); }
  return {
    type: error?.constructor?.name ?? typeof error,
    message: String(error?.message ?? error).slice(0, 2000),
    status: error?.status ?? error?.statusCode ?? null,
    body,
  };
}

async function typescript(sdk, item) {
  const Anthropic = sdk.default ?? sdk.Anthropic;
  const api = new Anthropic({ apiKey: "sk-ant-replay", baseURL: "http://replay.invalid", maxRetries: 0, fetch: recordedFetch(item) });
  const p = params(item.body);
  if (item.method === "POST" && item.path === "/v1/messages") {
    if (item.stream) return plain(await api.messages.stream(p).finalMessage());
    return plain(await api.messages.create(p));
  }
  if (item.method === "POST" && item.path === "/v1/messages/count_tokens") return plain(await api.messages.countTokens({ model: p.model, messages: p.messages }));
  if (item.method === "GET" && item.path === "/v1/models") {
    const page = await api.models.list();
    return { data: plain(page.data), has_more: page.has_more ?? null };
  }
  if (item.method === "GET" && item.path.startsWith("/v1/models/")) return plain(await api.models.retrieve(item.path.split("/").pop()));
  return undefined;
}

const PROMPT = [{ role: "user", content: [{ type: "text", text: "hi" }] }];

function gathered(parts) {
  // The AI SDK's stream parts as blocks, in the order they started: what streamText would hand the application.
  const blocks = new Map();
  const block = (id, type) => { if (!blocks.has(id)) blocks.set(id, { type, text: "", input: "" }); return blocks.get(id); };
  let finish = null;
  const errors = [];
  for (const part of parts) {
    if (part.type === "text-delta") block(`t${part.id}`, "text").text += part.delta;
    else if (part.type === "reasoning-delta") block(`r${part.id}`, "thinking").text += part.delta;
    else if (part.type === "tool-call") Object.assign(block(`c${part.toolCallId}`, "tool_use"), { name: part.toolName, input: part.input });
    else if (part.type === "finish") finish = part;
    else if (part.type === "error") errors.push(describe(part.error));
  }
  return { blocks: [...blocks.values()], finish, errors };
}

async function aiSdk(provider, item) {
  if (!(item.path === "/v1/messages" && item.method === "POST")) return undefined; // the provider has no models or count_tokens call
  const anthropic = provider.createAnthropic({ apiKey: "sk-ant-replay", baseURL: "http://replay.invalid/v1", fetch: recordedFetch(item) });
  const model = anthropic(params(item.body).model);
  const options = { prompt: PROMPT, maxOutputTokens: params(item.body).max_tokens };
  if (!item.stream) {
    const out = await model.doGenerate(options);
    const blocks = out.content.map((c) => (c.type === "tool-call" ? { type: "tool_use", name: c.toolName, input: c.input } : { type: c.type === "reasoning" ? "thinking" : c.type, text: c.text ?? "" }));
    return { ai_sdk: true, blocks, finish_reason: out.finishReason, usage: plain(out.usage), errors: [] };
  }
  const { stream } = await model.doStream(options);
  const parts = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const { blocks, finish, errors } = gathered(parts);
  return { ai_sdk: true, blocks, finish_reason: finish ? finish.finishReason : null, usage: finish ? plain(finish.usage) : null, errors };
}

async function main() {
  const name = client === "typescript" ? "@anthropic-ai/sdk" : "@ai-sdk/anthropic";
  const module = await load(name);
  const version = JSON.parse(readFileSync(join(nodeDir, "node_modules", name, "package.json"), "utf8")).version;
  console.log(JSON.stringify({ hello: `${name} ${version}` }));
  const run = client === "typescript" ? typescript : aiSdk;
  for (const line of readFileSync(batchPath, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const item = JSON.parse(line);
    const started = Date.now();
    let out;
    try {
      const result = await run(module, item);
      out = result === undefined
        ? { id: item.id, outcome: "skipped", why: `${name} has no call that sends ${item.method} ${item.path}` }
        : { id: item.id, outcome: "returned", result, ms: Date.now() - started };
    } catch (error) {
      out = { id: item.id, outcome: "raised", error: describe(error), ms: Date.now() - started };
    }
    console.log(JSON.stringify(out));
  }
}

main().catch((error) => {
  console.error(String(error?.stack ?? error));
  process.exit(2);
});
