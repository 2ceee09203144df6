#!/usr/bin/env bash
# Black-box browser check of the dashboard (`GET /dashboard`) in headless
# Chromium, against `llm-cache serve` with the stand-in upstream:
#
# - the figures Chromium renders (--dump-dom) are the numbers /admin/stats
#   reports, and a chart is drawn from /admin/history;
# - opened without a token, with a wrong one, or on a proxy without
#   --admin-token, the page shows no figure and says why;
# - driven through Chrome's DevTools protocol (a standard-library websocket
#   client below, no test hook in the page): the token leaves the address bar
#   and survives a reload, the range switch and a chart's tooltip work, the
#   invalidation form is used by keyboard (cancelled) and by mouse
#   (confirmed) and deletes the tagged entry (the next request is a MISS),
#   sign-out removes the figures; the page made no request but to the proxy
#   and logged no error;
# - screenshots at 1400×1000, light and dark, into $DASHBOARD_SCREENSHOT
#   (default: a new temporary folder), whose paths it prints.
#
# Not covered: "Wrong answer" on a semantic hit (this proxy runs with
# --semantic off, so it serves none; the list's empty state is checked),
# Firefox, and how the page looks (look at the screenshots).
#
# Prints PASS/FAIL lines and "N passed, N failed"; exits non-zero on failure.
# Needs root or a user namespace for Chromium: it runs with --no-sandbox, as CI does.
# Usage: scripts/dashboard-check.sh [path/to/llm-cache]  (default .build/debug/llm-cache)
set -uo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/debug/llm-cache}"
[ -x "$bin" ] || { echo "no llm-cache binary at $bin: build it with swift build --product llm-cache" >&2; exit 2; }
bash scripts/install-browser.sh || exit 2
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a server in the background and sets $url from its "listening on" line.
start() {
  local out="$1"; shift
  "$@" >"$out" 2>"$out.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    if grep -q '^listening on ' "$out" 2>/dev/null; then url="$(sed -n 's/^listening on //p' "$out")"; return 0; fi
    sleep 0.1
  done
  echo "server did not start: $*" >&2; cat "$out.log" >&2; return 1
}

token="dashboard-admin-token-0123456789"
tag="dashboard-check"
start "$work/upstream" "$bin" fake-upstream --port 0 || exit 1
upstream="$url"
start "$work/proxy" "$bin" serve --port 0 --upstream "$upstream/v1" --anthropic-upstream "$upstream" --store "sqlite:$work/cache.sqlite" --admin-token "$token" --semantic off || exit 1
proxy="$url"
start "$work/proxy-closed" "$bin" serve --port 0 --upstream "$upstream/v1" --store memory --semantic off || exit 1
proxy_closed="$url"

passed=0
failed=0
result() { # name, status (0 = pass), detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}
# Runs the Python below with a mode; counts the PASS/FAIL lines it prints.
py_check() { # name, mode, arguments
  local name="$1" out="$work/$1.out" status; shift
  timeout 300 python3 "$work/check.py" "$@" >"$out" 2>&1
  status=$?
  while IFS= read -r line; do
    echo "$line"
    case "$line" in PASS*) passed=$((passed + 1)) ;; FAIL*) failed=$((failed + 1)) ;; esac
  done < <(grep -E '^(PASS|FAIL)' "$out")
  if [ "$status" -ne 0 ] || ! grep -qE '^(PASS|FAIL)' "$out"; then
    result "$name ran to its end" 1 "exit status $status: $(grep -vE '^(PASS|FAIL)' "$out" | tail -5 | tr -s '\n' ' ')"
  fi
}
# Headless Chromium with a profile of its own, so runs share no state.
chromium_run() { # output file, URL, flags
  local out="$1" page="$2"; shift 2
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
    --disable-extensions --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$work/profile.XXXXXX")" "$@" "$page" >"$out" 2>"$out.log"
}

cat >"$work/check.py" <<'PYTHON'
import base64, html.parser, json, os, re, socket, struct, subprocess, sys, tempfile, time, urllib.parse, urllib.request

def report(name, ok, detail=""):
    print(("PASS " + name) if ok else ("FAIL %s: %s" % (name, detail)), flush=True)
    return ok

class DOM(html.parser.HTMLParser):
    """The elements of a dumped page: tag, attributes and text content."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements, self.open = [], []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": "", "inside": [e["tag"] for e in self.open]}
        self.elements.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": "", "inside": [e["tag"] for e in self.open]})

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i]["tag"] == tag:
                del self.open[i:]
                break

    def handle_data(self, data):
        for element in self.open:
            element["text"] += data

    def metrics(self):
        return {e["attrs"]["data-metric"]: e["text"].strip() for e in self.elements if "data-metric" in e["attrs"]}

    def drawn(self):
        """Chart marks that carry data: rects with an area, paths with a line."""
        marks = []
        for e in self.elements:
            if "svg" not in e["inside"] or "data" not in e["attrs"].get("class", "").split():
                continue
            a = e["attrs"]
            if e["tag"] == "rect" and float(a.get("width", 0)) > 0 and float(a.get("height", 0)) > 0:
                marks.append("rect")
            elif e["tag"] == "path" and re.search(r"[ML]\s*[\d.]+", a.get("d", "")):
                marks.append("path")
        return marks

# The page's figure for each metric, from /admin/stats.
def expected(stats):
    store = stats.get("store") or {}
    return {
        "requests": stats.get("requests"), "hits": stats.get("hits"), "semantic_hits": stats.get("semantic_hits"),
        "misses": stats.get("misses"), "bypasses": stats.get("bypasses"), "hit_rate": stats.get("hit_ratio"),
        "saved_tokens": stats.get("saved_tokens"), "saved_cost": stats.get("cost_saved_usd"),
        "time_saved": stats.get("time_saved_seconds"), "entries": store.get("entries"),
        "stored_bytes": store.get("stored_bytes"), "store_errors": stats.get("store_errors", store.get("store_errors")),
    }

def same_number(text, value):
    if value is None:
        return text == ""
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", text, re.I):
        return False
    if isinstance(value, int):
        return re.fullmatch(r"-?\d+", text) is not None and int(text) == value
    return float(text) == float(value)

def figures(dom_file, stats_file):
    dom, stats = DOM(open(dom_file).read()), json.load(open(stats_file))
    shown = dom.metrics()
    for name in ("hits", "misses"):
        report("dashboard %s is /admin/stats' %s (%s)" % (name, name, stats.get(name)),
               same_number(shown.get(name, "<absent>"), stats.get(name)), "page shows %r" % shown.get(name, "<absent>"))
    report("dashboard shows hit_rate", "hit_rate" in shown and shown["hit_rate"] != "", "data-metric=hit_rate is %r" % shown.get("hit_rate", "<absent>"))
    wrong = {name: (shown.get(name, "<absent>"), value) for name, value in expected(stats).items()
             if not same_number(shown.get(name, "<absent>"), value)}
    report("every figure is the number /admin/stats reports, unformatted", not wrong,
           "; ".join("%s: page %r, stats %r" % (k, v[0], v[1]) for k, v in wrong.items()))
    marks = dom.drawn()
    report("a chart is drawn from the history (%d bars, %d lines)" % (marks.count("rect"), marks.count("path")),
           "rect" in marks and "path" in marks, "no <rect>/<path> with data inside an <svg>")

def nofigures(dom_file, name, phrase):
    dom = DOM(open(dom_file).read())
    shown = {k: v for k, v in dom.metrics().items() if v}
    report("%s: no figure is shown" % name, not shown and not dom.drawn(), "shown: %r" % shown)
    text = re.sub(r"\s+", " ", "".join(e["text"] for e in dom.elements if e["tag"] == "body"))
    report("%s: the page says %r" % (name, phrase), phrase.lower() in text.lower(), "page text: %s" % text[:300])

class WebSocket:
    """Just enough of RFC 6455 for Chrome's DevTools protocol: text frames, unfragmented sends."""
    def __init__(self, url):
        parts = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (parts.path, parts.hostname, parts.port, key)).encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError("websocket handshake refused: %r" % head[:200])

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("DevTools closed the connection")
        return chunk

    def _read(self, count):
        while len(self.buffer) < count:
            self.buffer += self._recv()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _frame(self, opcode, data):
        header = bytearray([0x80 | opcode])
        if len(data) < 126:
            header.append(0x80 | len(data))
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(data))
        mask = os.urandom(4)
        self.sock.sendall(bytes(header) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def send(self, text):
        self._frame(0x1, text.encode())

    def receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the websocket")
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode("utf-8", "replace")

class Page:
    """One Chromium tab, driven with DevTools commands; keeps the events it sees."""
    def __init__(self, ws):
        self.ws, self.counter, self.events = ws, 0, []

    def call(self, method, **params):
        self.counter += 1
        ident = self.counter
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})
            self.events.append(message)

    def js(self, expression):
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise RuntimeError("page script failed: %s" % answer["exceptionDetails"].get("text"))
        return answer.get("result", {}).get("value")

    def wait(self, expression, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.2)
        return None

    def centre(self, selector):
        return self.js("""(() => { const e = document.querySelector(%s); if (!e) return null;
            e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
            return r.width && r.height ? [r.x + r.width / 2, r.y + r.height / 2] : null; })()""" % json.dumps(selector))

    def click(self, selector):
        """A real mouse click at the element's centre, as a user's."""
        point = self.centre(selector)
        if not point:
            raise RuntimeError("nothing visible to click at %s" % selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=point[0], y=point[1], button="left", clickCount=1)

    def key(self, name, code):
        extra = {"text": "\r"} if name == "Enter" else {}
        self.call("Input.dispatchKeyEvent", type="keyDown", key=name, code=name, windowsVirtualKeyCode=code, **extra)
        self.call("Input.dispatchKeyEvent", type="keyUp", key=name, code=name, windowsVirtualKeyCode=code)

def chat(proxy, prompt, tags=None):
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}).encode()
    headers = {"Authorization": "Bearer sk-dashboard", "Content-Type": "application/json"}
    if tags:
        headers["X-Cache-Tags"] = tags
    try:
        with urllib.request.urlopen(urllib.request.Request(proxy + "/v1/chat/completions", data=body, headers=headers), timeout=30) as response:
            return response.headers.get("X-Cache")
    except OSError as error:
        return "no answer (%s)" % error

def interact(proxy, token, tag, prompt):
    profile = tempfile.mkdtemp(prefix="profile.", dir=os.environ["WORK"])
    browser = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                                "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                "--remote-debugging-port=0", "--user-data-dir=" + profile, "--window-size=1400,1000", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=30))
        page = Page(WebSocket(next(t for t in targets if t.get("type") == "page")["webSocketDebuggerUrl"]))
        for domain in ("Page", "Runtime", "Network", "Log"):
            page.call(domain + ".enable")
        drive(page, proxy, token, tag, prompt)
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()

def drive(page, proxy, token, tag, prompt):
    figures_shown = "(() => { const e = document.querySelector('[data-metric=\"hits\"]'); return e && e.textContent !== '' ? e.textContent : null; })()"
    page.call("Page.navigate", url=proxy + "/dashboard#token=" + token)
    report("the page signs in with #token= and shows figures", page.wait(figures_shown), "no figure within 30 s")
    where = page.js("location.href")
    report("the token is removed from the address bar", token not in where and "#" not in where, "address is " + where)
    page.call("Page.reload")
    time.sleep(0.5)
    report("after a reload it signs in again from sessionStorage", page.wait(figures_shown), "no figure within 30 s of the reload")

    listed = page.wait("(() => { const t = document.querySelector('#hits-title'); const s = t && t.parentNode.nextElementSibling;"
                       " return s && s.textContent ? s.textContent : null; })()", 15) or ""
    if page.js("document.querySelectorAll('[data-report-key]').length") == 0:
        report("the semantic hits list says it has none", re.search("No semantic hits yet|Semantic matching is off", listed), listed[:200])
    else:
        key = page.js("document.querySelector('[data-report-key]').dataset.reportKey")
        page.click("[data-report-key]")
        page.wait("document.querySelector('#confirm').open", 10)
        page.click("#confirm-ok")
        done = page.wait("(() => { const s = document.querySelector('table.hits .result'); return s ? s.textContent : null; })()", 20)
        sent = [e["params"]["request"].get("postData") for e in page.events if e.get("method") == "Network.requestWillBeSent"
                and e["params"]["request"]["url"].endswith("/admin/incorrect-hit")]
        report("Wrong answer, confirmed, reports the hit: %s" % done, done and "Reported" in done and sent and json.loads(sent[-1]) == {"key": key},
               "result %r, bodies %r" % (done, sent))

    page.click("[data-range=day]")
    note = page.wait("(() => { const b = document.querySelector('[data-range=day]'); const n = document.querySelector('.section-head .note');"
                     " return b && b.getAttribute('aria-pressed') === 'true' && n && /24 hours/.test(n.textContent) ? n.textContent : null; })()", 20)
    asked = [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]
    report("the range switch loads the last day", note and any("range=day" in u for u in asked), "note %r; history requests %r" % (note, [u for u in asked if "history" in u]))

    bar = page.js("""(() => { const r = [...document.querySelectorAll('svg rect.data')].pop(); if (!r) return null;
        const b = r.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })()""")
    if bar:
        page.call("Input.dispatchMouseEvent", type="mouseMoved", x=bar[0], y=bar[1])
    tip = page.wait("(() => { const t = document.querySelector('.tip:not([hidden])'); return t ? t.textContent : null; })()", 5)
    report("hovering a bar shows its figures", bool(tip) and re.search(r"\d", tip or ""), "tooltip %r" % tip)

    # Invalidation by keyboard, cancelled: Enter in the field submits, Escape cancels the confirmation.
    page.js("document.querySelector('#invalidate-value').focus()")
    page.call("Input.insertText", text=tag)
    page.key("Enter", 13)
    title = page.wait("(() => { const d = document.querySelector('#confirm'); return d && d.open ? document.querySelector('#confirm-title').textContent : null; })()", 10)
    report("Enter in the form asks to confirm, naming what goes", title and tag in title, "dialog title %r" % title)
    focused = page.js("document.activeElement && document.activeElement.id")
    page.key("Escape", 27)
    outcome = page.wait("(() => { const d = document.querySelector('#confirm'); const r = document.querySelector('#invalidate-result');"
                        " return d && !d.open && r && r.textContent ? r.textContent : null; })()", 10)
    report("Escape cancels, and nothing is sent (focus was on %s)" % focused,
           outcome and "Cancelled" in outcome and not any(u.endswith("/admin/invalidate") for u in urls(page)), "result %r" % outcome)

    # Invalidation by mouse, confirmed.
    page.click("#invalidate-review")
    page.wait("document.querySelector('#confirm').open", 10)
    page.click("#confirm-ok")
    count = page.wait("(() => { const e = document.querySelector('#invalidate-result [data-invalidated]'); return e ? e.dataset.invalidated : null; })()", 20)
    bodies = [e["params"]["request"].get("postData") for e in page.events
              if e.get("method") == "Network.requestWillBeSent" and e["params"]["request"]["url"].endswith("/admin/invalidate")]
    text = page.js("document.querySelector('#invalidate-result').textContent")
    report("confirming invalidates the tagged entry: %s" % text, count == "1" and bodies and json.loads(bodies[-1]) == {"tag": tag},
           "count %r, request bodies %r, result %r" % (count, bodies, text))
    again = chat(proxy, prompt, tag)
    report("the invalidated answer is gone: its request is a MISS", again == "MISS", "X-Cache: %s" % again)

    page.click("#sign-out")
    gone = page.wait("""(() => [...document.querySelectorAll('[data-metric]')].every(e => e.textContent === '')
        && !document.querySelector('#auth').hidden && sessionStorage.length === 0)()""", 10)
    report("sign out removes the figures and the stored token", gone, "figures or token still there")

    origin = urllib.parse.urlparse(proxy)
    foreign = [u for u in urls(page) if not (u.startswith("data:") or u.startswith("about:") or urllib.parse.urlparse(u).netloc == origin.netloc)]
    report("the page requested nothing but the proxy (%d requests)" % len(urls(page)), not foreign, "also asked %r" % foreign[:5])
    problems = []
    for e in page.events:
        if e.get("method") == "Runtime.exceptionThrown":
            problems.append(e["params"]["exceptionDetails"].get("exception", {}).get("description") or e["params"]["exceptionDetails"].get("text"))
        elif e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning", "assert"):
            problems.append(" ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"]))
        elif e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning"):
            problems.append(e["params"]["entry"]["text"])
    report("no error or warning in the console", not problems, "; ".join(p or "?" for p in problems)[:600])

def urls(page):
    return [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]

mode = sys.argv[1]
if mode == "figures":
    figures(sys.argv[2], sys.argv[3])
elif mode == "nofigures":
    nofigures(sys.argv[2], sys.argv[3], sys.argv[4])
elif mode == "interact":
    interact(*sys.argv[2:6])
PYTHON
export WORK="$work"

# Traffic: three misses and three hits; one entry carries the tag the page invalidates.
auth=(-H "Authorization: Bearer sk-dashboard" -H "Content-Type: application/json")
ask() { # prompt, more curl arguments: prints X-Cache
  local prompt="$1"; shift
  curl -s -D - -o /dev/null "${auth[@]}" "$@" -d "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"$prompt\"}]}" "$proxy/v1/chat/completions" \
    | tr -d '\r' | sed -n 's/^X-Cache: //Ip'
}
seen="$(ask "dashboard one") $(ask "dashboard one") $(ask "dashboard one") $(ask "dashboard two") $(ask "dashboard two") $(ask "dashboard tagged" -H "X-Cache-Tags: $tag")"
[ "$seen" = "MISS HIT HIT MISS HIT MISS" ]; result "traffic: 3 misses and 3 hits" $? "X-Cache: $seen"

headers="$(curl -s -D - -o /dev/null "$proxy/dashboard" | tr -d '\r')"
grep -qi "^Content-Security-Policy: default-src 'none'" <<<"$headers" && grep -qi '^Content-Type: text/html' <<<"$headers"
result "/dashboard is HTML under a Content-Security-Policy" $? "$headers"

# What Chromium renders, then /admin/stats right after (reading it counts nothing).
chromium_run "$work/signed-in.html" "$proxy/dashboard#token=$token" --virtual-time-budget=10000 --dump-dom
curl -s -H "Authorization: Bearer $token" "$proxy/admin/stats" >"$work/stats.json"
py_check figures figures "$work/signed-in.html" "$work/stats.json"

chromium_run "$work/no-token.html" "$proxy/dashboard" --virtual-time-budget=5000 --dump-dom
py_check no-token nofigures "$work/no-token.html" "without a token" "Admin token"
chromium_run "$work/wrong-token.html" "$proxy/dashboard#token=not-the-token" --virtual-time-budget=5000 --dump-dom
py_check wrong-token nofigures "$work/wrong-token.html" "with a wrong token" "token was refused"
chromium_run "$work/closed.html" "$proxy_closed/dashboard#token=$token" --virtual-time-budget=5000 --dump-dom
py_check closed nofigures "$work/closed.html" "on a proxy without --admin-token" "--admin-token"

shot="${DASHBOARD_SCREENSHOT:-$(mktemp -d "${TMPDIR:-/tmp}/llm-cache-dashboard.XXXXXX")/dashboard.png}"
mkdir -p "$(dirname "$shot")"
dark="${shot%.png}-dark.png"
rm -f "$shot" "$dark"
chromium_run "$work/shot.out" "$proxy/dashboard#token=$token" --virtual-time-budget=10000 --hide-scrollbars --window-size=1400,1000 --screenshot="$shot"
[ -s "$shot" ]; result "screenshot at 1400x1000" $? "$(tail -3 "$work/shot.out.log")"
chromium_run "$work/dark.out" "$proxy/dashboard#token=$token" --virtual-time-budget=10000 --hide-scrollbars --window-size=1400,1000 --force-dark-mode --screenshot="$dark"
[ -s "$dark" ]; result "dark screenshot at 1400x1000" $? "$(tail -3 "$work/dark.out.log")"

py_check interact interact "$proxy" "$token" "$tag" "dashboard tagged"

echo "screenshots: $shot $dark"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
