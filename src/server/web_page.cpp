// GET /: a small chat page, self-contained (no external assets, works
// offline). It streams from /v1/chat/completions with fetch() and reads the
// SSE lines itself; Stop aborts the request, which the server sees as a
// disconnect and cancels the generation. An API key, if the server wants
// one, is asked for and kept in the page's local storage.
#include <httplib.h>

#include "server/routes.h"

namespace kestrel::server {
namespace {

const char* const kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kestrel</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;flex-direction:column;height:100vh;background:#f6f6f4}
header{padding:.6em 1em;background:#223;color:#eee;font-weight:600}
#messages{flex:1;overflow-y:auto;padding:1em}
.msg{max-width:48em;margin:.4em 0;padding:.6em .8em;border-radius:.5em;white-space:pre-wrap}
.user{background:#dde8ff;margin-left:auto}.assistant{background:#fff;border:1px solid #ddd}
.error{background:#fdd}
form{display:flex;gap:.5em;padding:.8em;border-top:1px solid #ccc;background:#fff}
textarea{flex:1;font:inherit;padding:.4em;min-height:2.4em}
button{font:inherit;padding:.4em 1em}
#stats{color:#666;font-size:.8em;padding:0 1em .4em}
</style></head><body>
<header>kestrel <span id="model"></span></header>
<div id="messages"></div>
<div id="stats"></div>
<form id="form"><textarea id="input" placeholder="Message (Enter sends, Shift+Enter: new line)"></textarea>
<button id="send" type="submit">Send</button><button id="stop" type="button" disabled>Stop</button></form>
<script>
const history = [];
let controller = null;
const $ = (id) => document.getElementById(id);
function key() { return localStorage.getItem('kestrel_api_key') || ''; }
function headers() {
  const h = {'Content-Type': 'application/json'};
  if (key()) h['Authorization'] = 'Bearer ' + key();
  return h;
}
function add(role, text) {
  const d = document.createElement('div');
  d.className = 'msg ' + role; d.textContent = text;
  $('messages').appendChild(d); $('messages').scrollTop = 1e9; return d;
}
// One DOM update per frame, however fast tokens arrive, so the page (and
// its Stop button) stays responsive.
let pending = null;
function draw(el, text) {
  if (pending === null) requestAnimationFrame(() => { if (pending !== null) el.textContent = pending; pending = null;
    $('messages').scrollTop = 1e9; });
  pending = text;
}
async function send(text) {
  history.push({role: 'user', content: text});
  add('user', text);
  const out = add('assistant', '');
  controller = new AbortController();
  $('stop').disabled = false; $('send').disabled = true;
  let answer = '', n = 0; const t0 = performance.now();
  try {
    let res = await fetch('/v1/chat/completions', {method: 'POST', headers: headers(), signal: controller.signal,
      body: JSON.stringify({messages: history, stream: true})});
    if (res.status === 401) {
      const k = prompt('API key'); if (k) localStorage.setItem('kestrel_api_key', k);
      throw new Error('unauthorized: send again');
    }
    if (!res.ok) throw new Error((await res.json()).error.message);
    const reader = res.body.getReader(); const dec = new TextDecoder(); let buf = '';
    for (;;) {
      const {done, value} = await reader.read(); if (done) break;
      buf += dec.decode(value, {stream: true});
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 2);
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6); if (data === '[DONE]') continue;
        const j = JSON.parse(data);
        if (j.error) throw new Error(j.error.message);
        const d = j.choices && j.choices[0] && j.choices[0].delta;
        if (d && d.content) { answer += d.content; n++; draw(out, answer); }
      }
    }
    $('stats').textContent = n + ' chunks, ' + (n / ((performance.now() - t0) / 1000)).toFixed(1) + ' chunks/s';
  } catch (e) {
    if (e.name === 'AbortError') { $('stats').textContent = 'stopped'; }
    else { out.classList.add('error'); out.textContent = answer + '\n[' + e.message + ']'; }
  }
  if (pending !== null) { out.textContent = answer; pending = null; }
  history.push({role: 'assistant', content: answer});
  out.dataset.done = '1';
  controller = null; $('stop').disabled = true; $('send').disabled = false;
}
$('form').addEventListener('submit', (e) => { e.preventDefault(); const t = $('input').value.trim();
  if (t && !controller) { $('input').value = ''; send(t); } });
$('input').addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault();
  $('form').requestSubmit(); } });
$('stop').addEventListener('click', () => { if (controller) controller.abort(); });
fetch('/v1/models', {headers: headers()}).then(r => r.json()).then(j => { $('model').textContent = j.data[0].id; }).catch(() => {});
</script></body></html>
)HTML";

}  // namespace

void route_index(ServerState&, const httplib::Request&, httplib::Response& res) {
  res.set_content(kPage, "text/html; charset=utf-8");
}

}  // namespace kestrel::server
