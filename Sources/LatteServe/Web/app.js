"use strict";
// LatteFlow's web page. Images go through the native job API (POST /v1/jobs, then the job's
// server-sent events: progress, previews, the result); chat through OpenAI's chat completions with
// stream: true. Events are read with fetch rather than EventSource, because EventSource cannot send
// the Authorization header the API key needs.
//
// URL options: ?prompt=…&steps=…&guidance=…&seed=…&count=… fill the form, &autorun=1 submits it on
// load, &max_tokens=… caps chat answers (default 256); #key=… stores an API key (a fragment never
// reaches the server or its logs) and is removed from the address.

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "latteflow.apiKey";
// Preview events asked for per job (the server allows up to 10).
const PREVIEWS = 6;
const QUERY = new URLSearchParams(location.search);
const CHAT_MAX_TOKENS = Number(QUERY.get("max_tokens")) || 256;

// --- API ---------------------------------------------------------------------------------------

function headers(json) {
  const h = {};
  const key = localStorage.getItem(KEY_STORAGE);
  if (key) h["Authorization"] = "Bearer " + key;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

// The message of an OpenAI-shaped error body ({"error": {"message", "type", "code"}}), else the status.
async function errorMessage(response) {
  let text = "";
  try { text = await response.text(); } catch (_) { /* the body is gone; the status says enough */ }
  try {
    const error = JSON.parse(text).error;
    if (error && error.message) return `${response.status}: ${error.message}`;
  } catch (_) { /* not JSON */ }
  return `${response.status} ${response.statusText}` + (text ? `: ${text.slice(0, 300)}` : "");
}

// GET (body undefined) or POST JSON; throws the server's error message for a non-2xx answer.
async function api(path, body, signal) {
  const post = body !== undefined;
  const response = await fetch(path, {
    method: post ? "POST" : "GET", headers: headers(post), body: post ? JSON.stringify(body) : undefined, signal,
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  return response;
}

// Reads server-sent events from a fetch response, calling onEvent(name, data) for each; onEvent
// returning false stops reading. Comments (keep-alives) are skipped.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length && onEvent(name, data.join("\n")) === false) return;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

// --- API key and model -------------------------------------------------------------------------

async function loadModel() {
  const info = $("model-info");
  try {
    const model = (await (await api("/v1/models")).json()).data[0];
    info.textContent = `${model.id} · ${model.image_size} images · chat ${model.can_see ? "sees images" : "text only"}`;
    info.classList.remove("error-text");
  } catch (error) {
    info.textContent = error.message;
    info.classList.add("error-text");
  }
}

function setUpKey() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has("key")) {
    localStorage.setItem(KEY_STORAGE, hash.get("key"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const input = $("api-key");
  input.value = localStorage.getItem(KEY_STORAGE) || "";
  input.addEventListener("change", () => {
    const key = input.value.trim();
    if (key) localStorage.setItem(KEY_STORAGE, key); else localStorage.removeItem(KEY_STORAGE);
    loadModel();
  });
}

// --- Images ------------------------------------------------------------------------------------

let runningJob = null;

function numberField(id) {
  const text = $(id).value.trim();
  return text === "" ? undefined : Number(text);
}

function pngURL(item) { return "data:image/png;base64," + item.b64_json; }

function setJobStatus(text) { $("job-status").textContent = text; }

function addToGallery(job, data, seconds) {
  const gallery = $("gallery");
  // Newest first; image i of a job has seed + i.
  data.slice().reverse().forEach((item, r) => {
    const i = data.length - 1 - r;
    const seed = job.seed + i;
    const figure = document.createElement("figure");
    figure.className = "result";
    figure.dataset.seed = String(seed);
    figure.dataset.job = job.id;
    const img = document.createElement("img");
    img.src = pngURL(item);
    img.alt = job.prompt;
    img.title = `${job.prompt}\nseed ${seed} (click to reuse)`;
    img.addEventListener("click", () => { $("seed").value = String(seed); $("count").value = "1"; $("prompt").value = job.prompt; });
    const caption = document.createElement("figcaption");
    caption.textContent = `seed ${seed}`;
    figure.append(img, caption);
    gallery.prepend(figure);
  });
  // A job that ended before the page subscribed comes back as its status, without the time.
  setJobStatus(typeof seconds === "number" ? `done in ${seconds.toFixed(1)} s` : "done");
}

function showPreview(data) {
  const preview = $("preview");
  preview.replaceChildren(...data.map((item) => {
    const img = document.createElement("img");
    img.src = pngURL(item);
    img.alt = "preview";
    return img;
  }));
}

async function generate(event) {
  if (event) event.preventDefault();
  if (runningJob) return;
  const prompt = $("prompt").value.trim();
  if (!prompt) { showError($("image-error"), "Write a prompt first."); return; }
  const request = { prompt, n: numberField("count") ?? 1, partial_images: PREVIEWS };
  for (const [field, id] of [["steps", "steps"], ["guidance", "guidance"], ["seed", "seed"]]) {
    const value = numberField(id);
    if (value !== undefined) request[field] = value;
  }
  showError($("image-error"), "");
  $("generate").disabled = true;
  document.body.dataset.state = "running";
  $("progress").value = 0;
  $("preview").replaceChildren();
  $("job").hidden = false;
  setJobStatus("submitting…");
  let outcome = "failed";
  try {
    const job = await (await api("/v1/jobs", request)).json();
    job.prompt = prompt;
    runningJob = job.id;
    $("cancel").disabled = false;
    setJobStatus(job.queue_position > 0 ? `queued, position ${job.queue_position}` : "starting");
    const events = await api(`/v1/jobs/${encodeURIComponent(job.id)}/events`);
    await readEvents(events, (name, text) => {
      const e = JSON.parse(text);
      switch (name) {
        case "queued": setJobStatus(`queued, position ${e.queue_position}`); break;
        case "running": setJobStatus("running"); break;
        case "progress":
          $("progress").value = e.step / e.total_steps;
          setJobStatus(`step ${e.step} of ${e.total_steps}`);
          break;
        case "preview": showPreview(e.data); break;
        case "done": addToGallery(job, e.data, e.seconds); outcome = "done"; return false;
        case "failed": showError($("image-error"), e.error && e.error.message || "the job failed"); return false;
        case "cancelled": setJobStatus("cancelled"); outcome = "cancelled"; return false;
        case "status":
          if (e.status === "running") setJobStatus(`step ${e.step} of ${e.total_steps}`);
          break;
      }
      return true;
    });
    if (outcome === "failed" && $("image-error").hidden) showError($("image-error"), "the job's event stream ended without a result");
  } catch (error) {
    showError($("image-error"), error.message);
  } finally {
    runningJob = null;
    $("generate").disabled = false;
    $("cancel").disabled = true;
    if (outcome === "failed") setJobStatus("failed");
    // The preview stays after a cancel (what the job had reached); a finished job's images are below.
    $("job").hidden = outcome !== "cancelled";
    document.body.dataset.state = outcome;
  }
}

async function cancelJob() {
  if (!runningJob) return;
  $("cancel").disabled = true;
  try {
    await api(`/v1/jobs/${encodeURIComponent(runningJob)}/cancel`, {});
    setJobStatus("cancelling…");
  } catch (error) {
    showError($("image-error"), error.message);
  }
}

// --- Chat --------------------------------------------------------------------------------------

let conversation = [];
let attachment = null;

function addMessage(role, text, image) {
  const div = document.createElement("div");
  div.className = `message ${role}`;
  if (image) {
    const img = document.createElement("img");
    img.src = image;
    img.alt = "attached image";
    div.append(img);
  }
  const p = document.createElement("p");
  p.textContent = text;
  div.append(p);
  $("messages").append(div);
  div.scrollIntoView({ block: "end" });
  return { element: div, text: p };
}

function attach(file) {
  if (!file) return;
  if (!/^image\/(png|jpeg)$/.test(file.type)) {
    showError($("chat-error"), `${file.name || "that file"} is not a PNG or JPEG image`);
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    attachment = reader.result;
    $("attachment-image").src = attachment;
    $("attachment").hidden = false;
    showError($("chat-error"), "");
  };
  reader.readAsDataURL(file);
}

function detach() {
  attachment = null;
  $("attachment").hidden = true;
  $("attachment-image").removeAttribute("src");
  $("chat-file").value = "";
}

async function sendChat(event) {
  event.preventDefault();
  const text = $("chat-input").value.trim();
  if (!text && !attachment) return;
  // An image goes as an image_url part with a data: URL; the server says if the model cannot see.
  const content = attachment
    ? [{ type: "image_url", image_url: { url: attachment } }, ...(text ? [{ type: "text", text }] : [])]
    : text;
  const turn = { role: "user", content };
  showError($("chat-error"), "");
  $("send").disabled = true;
  const asked = addMessage("user", text, attachment);
  const reply = addMessage("assistant", "…");
  let answer = "";
  try {
    const request = { messages: [...conversation, turn], stream: true, max_tokens: CHAT_MAX_TOKENS };
    const temperature = numberField("temperature");
    if (temperature !== undefined) request.temperature = temperature;
    const response = await api("/v1/chat/completions", request);
    reply.text.textContent = "";
    await readEvents(response, (_, data) => {
      if (data === "[DONE]") return false;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta && chunk.choices[0].delta.content;
      if (delta) {
        answer += delta;
        reply.text.textContent = answer;
      }
      return true;
    });
    conversation.push(turn, { role: "assistant", content: answer });
    $("chat-input").value = "";
    detach();
  } catch (error) {
    // Keep what was typed (and the image) so the question can be fixed and sent again.
    asked.element.remove();
    reply.element.remove();
    showError($("chat-error"), error.message);
  } finally {
    $("send").disabled = false;
  }
}

function setUpChat() {
  $("chat-form").addEventListener("submit", sendChat);
  $("chat-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("chat-form").requestSubmit(); }
  });
  $("chat-file").addEventListener("change", () => attach($("chat-file").files[0]));
  $("attachment-remove").addEventListener("click", detach);
  $("chat-clear").addEventListener("click", () => {
    conversation = [];
    $("messages").replaceChildren();
    showError($("chat-error"), "");
    detach();
  });
  const pane = $("chat");
  pane.addEventListener("dragover", (e) => { e.preventDefault(); pane.classList.add("dropping"); });
  pane.addEventListener("dragleave", (e) => { if (!pane.contains(e.relatedTarget)) pane.classList.remove("dropping"); });
  pane.addEventListener("drop", (e) => {
    e.preventDefault();
    pane.classList.remove("dropping");
    attach(e.dataTransfer.files[0]);
  });
}

// --- Start -------------------------------------------------------------------------------------

function start() {
  setUpKey();
  setUpChat();
  $("generate-form").addEventListener("submit", generate);
  $("cancel").addEventListener("click", cancelJob);
  for (const id of ["prompt", "steps", "guidance", "seed", "count"]) {
    if (QUERY.has(id)) $(id).value = QUERY.get(id);
  }
  loadModel();
  if (QUERY.get("autorun") === "1") generate();
}

start();
