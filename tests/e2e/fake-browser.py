#!/usr/bin/python3
"""Stand-in for the system browser in the e2e tests: plays the user on the sandbox's authorize page.

The OS opener (xdg-open / gio) runs it with the authorize URL, either through the
`x-scheme-handler/http` desktop entry or through $BROWSER, both set up by tests/e2e/run.sh.
It detaches at once so the opener (and the app) never wait, then:
  1. GETs the authorize URL, logs in through the login form (alice / sandbox),
  2. submits the consent form as the page does: hidden fields plus `allow=Authorize project`,
     or without `allow` (the Cancel path) when the control file says `deny`,
  3. does not follow the final redirect but delivers it like a browser would hand it on:
     http://127.0.0.1:PORT/... is fetched (the app's loopback listener), datalinks://... is
     given to `gio open` so the OS handler -> second instance -> single-instance path runs.

Control file ($FAKE_BROWSER_CONTROL): allow (default), deny, or ignore (open the page and do
nothing, like a user who walked away), optionally followed by the user to sign in as (alice by
default; Open Collective's seeded user is ada; a sandbox started with `--members 2` also has
`member00002`, e.g. `allow member00002`). Consent forms are Open Humans' (`allow`
button) or Open Collective's (`decision` = Authorize / Cancel). Every run appends one JSON line to
$DATALINKS_E2E_ARTIFACTS/fake-browser.jsonl and a readable trace to fake-browser.log.
"""

import html.parser
import http.cookiejar
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

USERNAME = os.environ.get("FAKE_BROWSER_USER", "alice")
PASSWORD = os.environ.get("FAKE_BROWSER_PASSWORD", "sandbox")
TIMEOUT_SECONDS = 15
MAX_PAGES = 12


class FormParser(html.parser.HTMLParser):
    """Collects every <form> with its inputs and submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._button = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": attrs.get("action", ""), "method": attrs.get("method", "get").lower(),
                 "fields": [], "submits": []}
            )
            return
        if not self.forms:
            return
        form = self.forms[-1]
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "image"):
                form["submits"].append({"name": attrs.get("name", ""), "value": attrs.get("value", "")})
            elif kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    form["fields"].append({"type": kind, "name": attrs.get("name", ""),
                                           "value": attrs.get("value", "on")})
            else:
                form["fields"].append({"type": kind, "name": attrs.get("name", ""),
                                       "value": attrs.get("value", "")})
        elif tag == "button" and attrs.get("type", "submit").lower() == "submit":
            self._button = {"name": attrs.get("name", ""), "value": attrs.get("value", ""), "text": ""}
            form["submits"].append(self._button)

    def handle_data(self, data):
        if self._button is not None:
            self._button["text"] += data.strip()

    def handle_endtag(self, tag):
        if tag == "button":
            self._button = None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, trace):
        self.trace = trace
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, headers={"User-Agent": "datalinks-e2e-fake-browser"})
        try:
            resp = self.opener.open(req, timeout=TIMEOUT_SECONDS)
        except urllib.error.HTTPError as err:  # 3xx/4xx/5xx arrive here once redirects are off
            resp = err
        body = resp.read().decode("utf-8", "replace")
        location = resp.headers.get("Location")
        self.trace(f"{'POST' if form is not None else 'GET'} {url} -> {resp.status}"
                   + (f" Location: {location}" if location else ""))
        return resp.status, location, body


def origin(url):
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme, parts.netloc)


def is_login_form(form):
    return any(f["type"] == "password" for f in form["fields"])


def is_consent_form(form):
    return any(s["name"] in ("allow", "decision") for s in form["submits"])


def login_fields(form, username):
    fields = []
    user_filled = False
    for f in form["fields"]:
        if f["type"] == "password":
            fields.append((f["name"], PASSWORD))
        elif not user_filled and f["type"] in ("text", "email") and f["name"]:
            fields.append((f["name"], username))
            user_filled = True
        elif f["name"]:
            fields.append((f["name"], f["value"]))
    return fields


def consent_fields(form, mode):
    fields = [(f["name"], f["value"]) for f in form["fields"] if f["name"]]
    def label(submit):
        return submit["value"] or submit["text"]

    approve = next(
        s for s in form["submits"]
        if s["name"] == "allow" or (s["name"] == "decision" and label(s) == "Authorize")
    )
    if mode == "allow":
        fields.append((approve["name"], label(approve)))
    else:
        # The Cancel path: posted without the approving button, with the cancel button if named.
        cancel = next((s for s in form["submits"] if s["name"] and s is not approve), None)
        if cancel:
            fields.append((cancel["name"], label(cancel)))
    return fields


def deliver(callback, browser, trace, record):
    record["callback"] = callback
    if callback.startswith("http://127.0.0.1:") or callback.startswith("http://localhost:"):
        status, _, body = browser.request(callback)
        record["delivered_by"] = "http-get"
        record["callback_status"] = status
        trace(f"loopback answered {status}: {body[:200]!r}")
    elif callback.startswith("datalinks:"):
        proc = subprocess.run(["gio", "open", callback], capture_output=True, text=True, timeout=30)
        record["delivered_by"] = "gio-open"
        record["callback_status"] = proc.returncode
        trace(f"gio open exit {proc.returncode} stdout={proc.stdout.strip()!r} stderr={proc.stderr.strip()!r}")
    else:
        record["delivered_by"] = "none"
        trace(f"redirect to an unexpected place, not delivered: {callback}")


def play_user(url, mode, username, browser, trace, record):
    start_origin = origin(url)
    form_data = None
    for _ in range(MAX_PAGES):
        status, location, body = browser.request(url, form_data)
        form_data = None
        if location:
            target = urllib.parse.urljoin(url, location)
            if origin(target) == start_origin:
                url = target
                continue
            deliver(target, browser, trace, record)
            return
        if status != 200:
            record["error"] = f"HTTP {status} at {url}: {body[:300]}"
            return
        parser = FormParser()
        parser.feed(body)
        login = next((f for f in parser.forms if is_login_form(f)), None)
        consent = next((f for f in parser.forms if is_consent_form(f)), None)
        if login:
            form_data = login_fields(login, username)
            record["steps"].append("login")
            form = login
        elif consent:
            if mode == "ignore":
                record["steps"].append("consent-shown-ignored")
                return
            form_data = consent_fields(consent, mode)
            record["steps"].append("authorize" if mode == "allow" else "cancel")
            form = consent
        else:
            record["error"] = f"no login or consent form at {url}: {body[:300]}"
            return
        if form["method"] != "post":
            record["error"] = f"form at {url} uses method {form['method']}"
            return
        url = urllib.parse.urljoin(url, form["action"] or url)
    record["error"] = "too many pages"


def read_control():
    """(mode, username) from the control file."""
    mode, username = "allow", USERNAME
    path = os.environ.get("FAKE_BROWSER_CONTROL")
    if path and os.path.exists(path):
        with open(path) as f:
            words = f.read().split()
        if words and words[0] in ("allow", "deny", "ignore"):
            mode = words[0]
        if len(words) > 1:
            username = words[1]
    return mode, username


def run(argv):
    via = "argv"
    args = []
    for arg in argv[1:]:
        if arg.startswith("--via="):
            via = arg.split("=", 1)[1]
        else:
            args.append(arg)
    artifacts = os.environ.get("DATALINKS_E2E_ARTIFACTS") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    log_path = os.path.join(artifacts, "fake-browser.log")

    def trace(line):
        with open(log_path, "a") as log:
            log.write(f"{time.strftime('%H:%M:%S')} [{os.getpid()}] {line}\n")

    mode, username = read_control()
    record = {"at": time.time(), "via": via, "mode": mode, "url": args[0] if args else None, "steps": []}
    trace(f"opened via {via} in mode {mode}: {args}")
    try:
        if len(args) != 1 or not args[0].startswith(("http://", "https://")):
            record["error"] = f"expected one http(s) URL, got {args}"
        else:
            play_user(args[0], mode, username, Browser(trace), trace, record)
    except Exception as err:  # report anything to the test through the record
        record["error"] = f"{type(err).__name__}: {err}"
    if "error" in record:
        trace(f"ERROR {record['error']}")
    with open(os.path.join(artifacts, "fake-browser.jsonl"), "a") as out:
        out.write(json.dumps(record) + "\n")


def detach():
    """Double fork so the opener returns at once and the work outlives it."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


if __name__ == "__main__":
    if os.environ.get("FAKE_BROWSER_FOREGROUND") != "1":
        detach()
    run(sys.argv)
