// Shared helpers for the e2e tests. tests/e2e/run.sh provides the environment: a private D-Bus
// session with an unlocked keyring, Xvfb, WebKitWebDriver on $E2E_DRIVER_PORT, throwaway XDG dirs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { remote } from "webdriverio";

const required = ["DATALINKS_APP", "E2E_DRIVER_PORT", "DATALINKS_E2E_ARTIFACTS", "DATALINKS_E2E_TMP"];
for (const name of required) {
  if (!process.env[name]) throw new Error(`${name} is not set: run the suite through tests/e2e/run.sh`);
}

export const APP = process.env.DATALINKS_APP;
/** The `datalinks` command, built next to the app. */
export const CLI = path.join(path.dirname(APP), "datalinks");
export const ARTIFACTS = process.env.DATALINKS_E2E_ARTIFACTS;
export const TMP = process.env.DATALINKS_E2E_TMP;
export const KEYRING_SERVICE = "org.datalinks.app";
/** The key the built-in sandbox's `/_sandbox/…` endpoints take (run.sh names it). */
export const SANDBOX_ADMIN = { "X-Sandbox-Key": process.env.DATALINKS_SANDBOX_ADMIN_KEY ?? "" };

/**
 * The keyring entry names of a provider's secrets: `<provider>/<fingerprint>/client_secret` per
 * registration and `<provider>/<fingerprint>/<account id>/<kind>` per account, where the
 * fingerprint (16 hex digits) names the registration's server addresses and client ID.
 */
export function keyringName(provider, kind) {
  return kind === "client_secret"
    ? new RegExp(`^${provider}/([0-9a-f]{16})/client_secret$`)
    : new RegExp(`^${provider}/([0-9a-f]{16})/([^/]+)/${kind}$`);
}
export const TOKENS_USER = keyringName("openhumans", "tokens");
export const CLIENT_SECRET_USER = keyringName("openhumans", "client_secret");
const CONNECT_TIMEOUT_MS = 45_000;

/** Starts the app through WebDriver and waits until the UI has rendered. */
export async function startApp() {
  const browser = await remote({
    hostname: "127.0.0.1",
    port: Number(process.env.E2E_DRIVER_PORT),
    logLevel: "warn",
    connectionRetryTimeout: 60_000,
    connectionRetryCount: 1,
    capabilities: {
      "webkitgtk:browserOptions": { binary: APP, args: [] },
      // WebKitWebDriver speaks classic WebDriver only.
      "wdio:enforceWebDriverClassic": true,
    },
  });
  try {
    // The provider sections render once the connections are loaded.
    await byTestId(browser, "provider-openhumans").waitForExist({
      timeout: 30_000, timeoutMsg: "the app never rendered the Open Humans section",
    });
  } catch (error) {
    // Free the driver's single session slot for the next test file.
    await saveArtifacts(browser, "failure-app-start");
    await browser.deleteSession().catch(() => {});
    throw error;
  }
  return browser;
}

export function byTestId(browser, id, extra = "") {
  return browser.$(`[data-testid="${id}"]${extra}`);
}

export function allByTestId(browser, id, extra = "") {
  return browser.$$(`[data-testid="${id}"]${extra}`);
}

/**
 * A node:test test that, when it fails, saves a screenshot and the page HTML under the
 * artifacts dir (with E2E_SCREENSHOTS=1, after every test, to look at what people see).
 * `getBrowser` is read lazily because the session starts in `before`.
 */
export function e2eTest(name, getBrowser, body) {
  test(name, async (t) => {
    try {
      await body(t);
    } catch (error) {
      await saveArtifacts(getBrowser(), `failure-${name}`);
      throw error;
    }
    if (process.env.E2E_SCREENSHOTS === "1") await saveArtifacts(getBrowser(), `after-${name}`);
  });
}

/**
 * With E2E_SCREENSHOTS=1, a screenshot and the HTML of what is on screen now, named `name`;
 * the element `top` (a CSS selector) is scrolled to just below the sticky top bar first.
 */
export async function snapshot(browser, name, top = undefined) {
  if (process.env.E2E_SCREENSHOTS !== "1") return;
  if (top) {
    await browser.execute((selector) => {
      const element = document.querySelector(selector);
      const bar = document.querySelector("header")?.getBoundingClientRect().height ?? 0;
      if (element) window.scrollBy(0, element.getBoundingClientRect().top - bar - 12);
    }, top);
  }
  await saveArtifacts(browser, `during-${name}`);
}

async function saveArtifacts(browser, name) {
  if (!browser) return;
  const base = path.join(ARTIFACTS, name.replace(/[^a-z0-9]+/gi, "-").slice(0, 70));
  try {
    await browser.saveScreenshot(`${base}.png`);
  } catch (error) {
    fs.writeFileSync(`${base}.screenshot-error.txt`, String(error));
  }
  try {
    fs.writeFileSync(`${base}.html`, await browser.execute(() => document.documentElement.outerHTML));
  } catch (error) {
    fs.writeFileSync(`${base}.html-error.txt`, String(error));
  }
}

/**
 * Where a provider stands on the connections page, summed up from the DOM: "waiting" or
 * "connect_window_open" while one of its sign-ins is; otherwise the first card's data-state;
 * otherwise "disconnected" when it can sign in, "not_configured" when it is not set up
 * (null when its section is not on screen).
 */
export async function cardState(browser, provider = "openhumans") {
  return browser.execute((provider) => {
    const signIns = [...document.querySelectorAll(`[data-testid="sign-in-${provider}"]`)];
    for (const busy of ["waiting", "connect_window_open"]) {
      if (signIns.some((signIn) => signIn.dataset.state === busy)) return busy;
    }
    const card = document.querySelector(`[data-testid="connection-${provider}"]`);
    if (card) return card.dataset.state;
    if (signIns.length > 0) return "disconnected";
    return document.querySelector(`[data-testid="provider-${provider}"]`) ? "not_configured" : null;
  }, provider);
}

/** The provider's connection cards as {connection, state, sandbox, account}, in page order. */
export async function cards(browser, provider = "openhumans") {
  return browser.execute((provider) =>
    [...document.querySelectorAll(`[data-testid="connection-${provider}"]`)].map((card) => ({
      connection: card.dataset.connection,
      state: card.dataset.state,
      sandbox: card.dataset.sandbox === "true",
      account: card.querySelector('[data-testid="account"]')?.textContent.trim(),
    })), provider);
}

/** The card of one connection, or the provider's first card. */
export function card(browser, provider = "openhumans", connection = undefined) {
  const which = connection === undefined ? "" : `[data-connection="${connection}"]`;
  return byTestId(browser, `connection-${provider}`, which);
}

/** The Connect button of the provider's own app's sign-in, or with `sandbox` the sandbox's. */
export function connectButton(browser, provider = "openhumans", { sandbox } = {}) {
  const which = sandbox === undefined ? "" : `[data-sandbox="${sandbox}"]`;
  return browser.$(`[data-testid="sign-in-${provider}"]${which} [data-testid="connect-${provider}"]`);
}

export async function waitForCardState(browser, wanted, timeout = CONNECT_TIMEOUT_MS, provider = "openhumans") {
  const wantedStates = [wanted].flat();
  let last;
  await browser.waitUntil(
    async () => {
      last = await cardState(browser, provider);
      return wantedStates.includes(last);
    },
    { timeout, interval: 200, timeoutMsg: `the ${provider} card never reached ${wantedStates.join("|")}` },
  ).catch((error) => {
    throw new Error(`${error.message}; last data-state=${last}; ${describeLastBrowserRun()}`);
  });
}

export async function showConnections(browser) {
  await byTestId(browser, "nav-connections").click();
  await byTestId(browser, "provider-openhumans").waitForExist({ timeout: 10_000 });
}

export async function showSettings(browser) {
  await byTestId(browser, "nav-settings").click();
  await byTestId(browser, "settings-openhumans").waitForExist({ timeout: 10_000 });
}

/** Disconnect… then the confirmation the card asks for (the first card, or `connection`'s). */
export async function disconnectFromUi(browser, provider = "openhumans", connection = undefined) {
  const which = card(browser, provider, connection);
  const disconnect = which.$(`[data-testid="disconnect-${provider}"]`);
  await disconnect.scrollIntoView({ block: "center" });
  await disconnect.click();
  const confirm = which.$('[data-testid="confirm-disconnect"]');
  await confirm.waitForClickable({ timeout: 10_000 });
  await confirm.click();
}

/** The window still runs script and answers clicks. */
export async function assertResponsive(browser) {
  assert.equal(await browser.execute(() => 6 * 7), 42);
  await showSettings(browser);
  await showConnections(browser);
}

// ---- the fake system browser ----

export function setBrowserMode(mode) {
  fs.writeFileSync(process.env.FAKE_BROWSER_CONTROL, `${mode}\n`);
}

export function browserRuns() {
  const file = path.join(ARTIFACTS, "fake-browser.jsonl");
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

function describeLastBrowserRun() {
  const runs = browserRuns();
  const run = runs.length ? `last fake-browser run: ${JSON.stringify(runs.at(-1))}` : "the fake browser never ran";
  return `${run}; ${lastSignInSteps()}`;
}

/** The app log's last sign-in steps (each step of a completion is logged), for a stall's report. */
function lastSignInSteps() {
  const log = path.join(process.env.XDG_DATA_HOME ?? "", "org.datalinks.app", "logs", "Datalinks.log");
  try {
    const steps = fs.readFileSync(log, "utf8").split("\n").filter((line) => line.includes("sign_in]"));
    return `last sign-in steps in the app log:\n${steps.slice(-6).join("\n")}`;
  } catch (error) {
    return `no app log (${error.code})`;
  }
}

/** Waits for the fake browser to finish the run after the first `countBefore` runs. */
export async function waitForBrowserRun(countBefore, timeout = CONNECT_TIMEOUT_MS) {
  const start = Date.now();
  while (Date.now() - start < timeout) {
    const runs = browserRuns();
    if (runs.length > countBefore) return runs[countBefore];
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the fake browser was not started within ${timeout} ms (runs so far: ${browserRuns().length})`);
}

// ---- the OS keyring (Secret Service through secret-tool) ----

function secretTool(args) {
  const result = spawnSync("secret-tool", args, { encoding: "utf8", timeout: 15_000 });
  if (result.error) throw result.error;
  return result;
}

/** Every item of our service as {attributes, secret}. */
export function keyringItems() {
  const result = secretTool(["search", "--all", "--unlock", "service", KEYRING_SERVICE]);
  // secret-tool (libsecret 0.20) prints each item's label/secret block to stdout but its
  // attributes to stderr, in the same item order: pair them up again.
  const items = [];
  for (const line of result.stdout.split("\n")) {
    if (line.startsWith("[")) items.push({ path: line.slice(1, -1), attributes: {}, secret: null });
    const secret = /^secret = (.*)$/.exec(line);
    if (secret && items.length) items.at(-1).secret = secret[1];
  }
  const attributeGroups = [];
  for (const line of result.stderr.split("\n")) {
    const match = /^attribute\.(\S+) = (.*)$/.exec(line);
    if (!match) continue;
    const [, key, value] = match;
    if (!attributeGroups.length || key in attributeGroups.at(-1)) attributeGroups.push({});
    attributeGroups.at(-1)[key] = value;
  }
  assert.equal(attributeGroups.length, items.length, `cannot pair secret-tool output: ${result.stderr}`);
  items.forEach((item, index) => (item.attributes = attributeGroups[index]));
  return items;
}

export function keyringLookup(user) {
  const result = secretTool(["lookup", "service", KEYRING_SERVICE, "username", user]);
  return result.status === 0 ? result.stdout : null;
}

/** The keyring items whose entry name matches `pattern` (a keyringName). */
export function keyringMatching(pattern) {
  return keyringItems().filter((item) => pattern.test(item.attributes.username));
}

/** The secret of the one entry matching `pattern`; null when there is none. */
export function keyringSecret(pattern) {
  const found = keyringMatching(pattern);
  assert.ok(found.length <= 1, `${found.length} keyring entries match ${pattern}: ${found.map((i) => i.attributes.username)}`);
  return found[0]?.secret ?? null;
}

/** Every secret Datalinks keeps in the keyring, by name (token sets split into their tokens). */
export function secretsFromKeyring() {
  const items = keyringItems();
  assert.ok(items.length > 0, "the keyring holds no Datalinks entry");
  const secrets = {};
  for (const item of items) {
    const name = item.attributes.username;
    if (name.endsWith("/tokens")) {
      const tokens = JSON.parse(item.secret);
      secrets[`${name} access_token`] = tokens.access_token;
      // Some providers issue no refresh token.
      if (tokens.refresh_token) secrets[`${name} refresh_token`] = tokens.refresh_token;
    } else {
      secrets[name] = item.secret;
    }
  }
  return secrets;
}

// ---- the app's log ----

/** Every line of the app's log files (the plugin's log folder under the app's data folder). */
function appLogLines() {
  return filesUnder(path.join(appDataDir(), "logs"))
    .filter((file) => file.endsWith(".log"))
    .flatMap((file) => (readIfStillThere(file) ?? "").split("\n"));
}

/**
 * The built-in sandbox's addresses in the running app, from the line it logs when it starts
 * ({openHumans, openCollective, humanApi}). Earlier runs of the app logged other ports, so the
 * newest line whose Open Humans sandbox answers is the one.
 */
export async function sandboxAddresses(timeout = 20_000) {
  const start = Date.now();
  while (Date.now() - start < timeout) {
    const lines = appLogLines()
      .map((line) => /sandbox: Open Humans at (\S+), Open Collective at (\S+), Human API at (\S+)/.exec(line))
      .filter(Boolean)
      .reverse();
    for (const [, openHumans, openCollective, humanApi] of lines) {
      const answers = await fetch(new URL("_sandbox/master-token", openHumans), { headers: SANDBOX_ADMIN }).then(
        (r) => r.ok,
        () => false,
      );
      if (answers) return { openHumans, openCollective, humanApi };
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error("the app never logged the address of a running sandbox");
}

// ---- deep links from outside the app ----

/** `gio open <url>`: the OS handler -> second app instance -> single-instance forwarding. */
export function gioOpen(url) {
  return run("gio", ["open", url]);
}

/** Starts the app binary a second time with one argument; it should forward it and exit 0. */
export function secondInstance(arg) {
  return run(APP, [arg]);
}

function run(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 20_000, killSignal: "SIGKILL" });
  assert.ok(!result.error, `${command} ${args.join(" ")} did not finish: ${result.error}`);
  assert.equal(result.status, 0, `${command} ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result;
}

// ---- the Human API Connect window ----

/** Switches to the Connect window once the app opened it next to `mainWindow`. */
export async function switchToConnectWindow(browser, mainWindow) {
  await browser.waitUntil(async () => (await browser.getWindowHandles()).length > 1, {
    timeout: 20_000, timeoutMsg: "no Connect window opened",
  });
  const other = (await browser.getWindowHandles()).find((handle) => handle !== mainWindow);
  await browser.switchToWindow(other);
}

/** Enters the frame in which the Connect script shows Connect's page. */
export async function enterConnectFrame(browser) {
  await browser.waitUntil(async () => (await browser.$$("iframe")).length > 0, {
    timeout: 20_000, timeoutMsg: "the Connect frame never appeared",
  });
  await browser.switchToFrame(await browser.$("iframe"));
}

/**
 * In the Connect frame: connects the first source offered, waits until Connect lists it as
 * connected (the page redraws its list, so rows are counted in the page), then closes Connect.
 */
export async function connectASourceAndClose(browser) {
  const connected = () =>
    browser.execute(() => document.querySelectorAll('[data-testid="hc-disconnect-source"]').length);
  const before = await connected();
  const connectSource = byTestId(browser, "hc-connect-source");
  await connectSource.waitForClickable({ timeout: 20_000 });
  await connectSource.click();
  await browser.waitUntil(async () => (await connected()) > before, {
    timeout: 10_000, timeoutMsg: "Connect never listed the source as connected",
  });
  await byTestId(browser, "hc-close").click();
}

// ---- native windows (X11; Xvfb runs no window manager) ----

/**
 * Ids of the visible X11 windows whose title matches `pattern`, waiting until there is one.
 * Searches again when one fails: xdotool stops with BadWindow when any window it looks at
 * disappears meanwhile (WebKit opens and closes short-lived ones).
 */
export function x11Windows(pattern, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = spawnSync("xdotool", ["search", "--onlyvisible", "--name", pattern], {
      encoding: "utf8", timeout: 5_000, killSignal: "SIGKILL",
    });
    const ids = (last.stdout ?? "").split("\n").filter(Boolean);
    if (!last.error && last.status === 0 && ids.length > 0) return ids;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  assert.fail(`no window titled /${pattern}/ appeared: ${last?.error ?? last?.stderr}`);
}

/** Closes a window as a window manager's close button does (WM_DELETE_WINDOW). */
export function closeLikeWindowManager(windowId) {
  run("/usr/bin/python3", [path.join(import.meta.dirname, "close-window.py"), windowId]);
}

/**
 * Chooses `target` in the system's file dialog titled `title` (a regular expression) as a person
 * would: the location field (ctrl+L), the full path, Enter. GTK's folder dialog then answers with
 * the typed folder's first subfolder if it has one, so choose folders without subfolders.
 */
export function chooseInDialog(title, target) {
  const [dialog] = x11Windows(title);
  run("xdotool", ["windowfocus", "--sync", dialog]);
  run("xdotool", ["key", "--clearmodifiers", "ctrl+l"]);
  run("xdotool", ["key", "--clearmodifiers", "ctrl+a"]);
  run("xdotool", ["type", "--delay", "20", target]);
  run("xdotool", ["key", "Return"]);
}

/** Clicks a PathChooser's button, chooses `target` in its dialog, and waits until it is shown. */
export async function chooseWith(browser, testid, title, target) {
  await byTestId(browser, testid).click();
  chooseInDialog(title, target);
  const chosen = byTestId(browser, `${testid}-chosen`);
  await browser.waitUntil(async () => (await chosen.getText()) === target, {
    timeout: 15_000, timeoutMsg: `${testid}: ${target} was not shown as chosen`,
  });
}

// ---- notices ----

/** Marks the notices on screen so that a later wait only accepts a new one. */
export async function markSeenNotices(browser) {
  await browser.execute(() => {
    for (const el of document.querySelectorAll('[data-testid="notice"]')) el.setAttribute("data-e2e-seen", "1");
  });
}

export async function waitForNewNotice(browser, code, timeout = 15_000) {
  const notice = byTestId(browser, "notice", `[data-code="${code}"]:not([data-e2e-seen])`);
  await notice.waitForExist({
    timeout,
    timeoutMsg: `no new notice with data-code=${code}; notices on screen: ${await noticeSummary(browser)}`,
  });
  return notice;
}

async function noticeSummary(browser) {
  const notices = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="notice"]')].map(
      (el) => `${el.getAttribute("data-code")}${el.hasAttribute("data-e2e-seen") ? "(old)" : ""}: ${el.textContent.trim()}`,
    ),
  );
  return notices.length ? notices.join(" | ") : "none";
}

// ---- IPC recording ----

/**
 * Records every payload handed back to the page through Tauri's callback table: command
 * responses (resolved or rejected) and event payloads. `__TAURI_INTERNALS__.invoke` itself is
 * frozen, but `runCallback` looks callbacks up in the exposed `callbacks` map on every call.
 */
export async function startIpcRecording(browser) {
  const installed = await browser.execute(() => {
    const internals = window.__TAURI_INTERNALS__;
    if (!internals || !(internals.callbacks instanceof Map)) return false;
    if (!window.__e2eIpc) {
      window.__e2eIpc = [];
      const callbacks = internals.callbacks;
      // defineProperty, not assignment: the app runs with freezePrototype.
      Object.defineProperty(callbacks, "get", { value: function (id) {
        const callback = Map.prototype.get.call(this, id);
        if (!callback) return callback;
        return (data) => {
          let text;
          try {
            text = JSON.stringify(data);
          } catch {
            text = String(data);
          }
          window.__e2eIpc.push(text ?? "undefined");
          return callback(data);
        };
      } });
    }
    return true;
  });
  assert.ok(installed, "window.__TAURI_INTERNALS__.callbacks is not available to wrap");
}

export async function recordedIpc(browser) {
  return browser.execute(() => window.__e2eIpc ?? []);
}

// ---- files the app wrote ----

export function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

export const appDataDir = () => path.join(process.env.XDG_DATA_HOME, "org.datalinks.app");

// ---- the secrets scan ----

/**
 * Where each secret (name -> value) shows up: the DOM and form values, every IPC payload
 * recorded since startIpcRecording, the app's logs and SQLite files, and everything else the app
 * left in HOME/XDG_* (WebKit caches too; the keyring file is encrypted). [] when nowhere.
 */
/** A file's bytes as text, or null when it vanished after being listed (WebKit's temp files). */
function readIfStillThere(file) {
  try {
    return fs.readFileSync(file).toString("latin1");
  } catch (error) {
    if (error.code === "ENOENT") return null;
    throw error;
  }
}

export async function leakedSecrets(browser, secrets) {
  const dom = await browser.execute(() =>
    [document.documentElement.outerHTML, ...[...document.querySelectorAll("input, textarea")].map((el) => el.value)].join("\n"),
  );
  const ipc = await recordedIpc(browser);
  assert.ok(ipc.length >= 5, `only ${ipc.length} IPC payloads were recorded`);
  const logFiles = filesUnder(appDataDir()).filter((file) => file.endsWith(".log"));
  assert.ok(logFiles.length > 0, `no log file under ${appDataDir()}`);
  const dbFiles = filesUnder(appDataDir()).filter((file) => /\.(sqlite3?|db)(-wal|-journal)?$/.test(file));
  assert.ok(dbFiles.length > 0, `no SQLite file under ${appDataDir()}`);
  const otherFiles = filesUnder(TMP).filter((file) => !logFiles.includes(file) && !dbFiles.includes(file));
  const places = [
    ["DOM", dom],
    ...ipc.map((payload, index) => [`IPC payload #${index}`, payload]),
    ...[...logFiles, ...dbFiles, ...otherFiles].flatMap((file) => {
      const text = readIfStillThere(file);
      return text === null ? [] : [[file, text]];
    }),
  ];
  const leaks = [];
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(secret, `${name} is missing, so it cannot be looked for`);
    for (const [place, text] of places) if (text.includes(secret)) leaks.push(`${name} in ${place}`);
  }
  return leaks;
}

// ---- `datalinks sandbox`, the three provider sandboxes standalone ----

/** A port nothing listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

/** Starts `datalinks sandbox --port <port> …args` (port 0: free ports for all three) and
 * resolves, once it serves, with the process and what it printed. */
export function startStandaloneSandbox(args = [], port = 0) {
  const child = spawn(CLI, ["sandbox", "--port", String(port), ...args]);
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`datalinks sandbox did not start: ${stdout} ${stderr}`)), 30_000);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("Press Ctrl-C to stop.")) {
        clearTimeout(timer);
        resolve({ child, stdout });
      }
    });
    child.on("exit", (code) => reject(new Error(`datalinks sandbox exited ${code}: ${stderr}`)));
  });
}

/** The address and app credentials `datalinks sandbox` printed for one provider ("Open Humans"…). */
export function standaloneCredentials(stdout, provider) {
  const block = stdout.split(/\n(?=\S)/).find((part) => part.startsWith(`${provider} sandbox at `));
  if (!block) throw new Error(`no ${provider} sandbox in:\n${stdout}`);
  const field = (name) => block.match(new RegExp(`^  ${name}: +(\\S+)`, "m"))?.[1];
  return {
    address: /sandbox at (\S+)/.exec(block)[1].replace(/\/$/, ""),
    clientId: field("client id"),
    clientSecret: field("client secret"),
    masterToken: field("master token"),
    adminKey: field("admin key"),
  };
}
