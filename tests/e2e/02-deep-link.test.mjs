// A restarted app, the datalinks:// transport end to end, and hostile or broken callbacks.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  startApp, e2eTest, byTestId, waitForCardState, cardState, showConnections, showSettings,
  assertResponsive, setBrowserMode, browserRuns, waitForBrowserRun, gioOpen, secondInstance,
  markSeenNotices, waitForNewNotice, disconnectFromUi, snapshot,
} from "./harness.mjs";

let browser;
const current = () => browser;

before(async () => {
  browser = await startApp();
});

after(async () => {
  setBrowserMode("allow");
  await browser?.deleteSession();
});

async function disconnectIfConnected() {
  if ((await cardState(browser)) === "connected") {
    await disconnectFromUi(browser);
    await waitForCardState(browser, ["disconnected", "not_configured"]);
  }
}

e2eTest("after a restart the connection carries on, account and sandbox grants kept", current, async () => {
  // The in-process sandbox keeps its grants (token digests) in a state file, as a real provider
  // keeps them in its database, so the stored tokens still work after the app restarts.
  await waitForCardState(browser, "connected", 20_000);
  await byTestId(browser, "sandbox-badge").waitForExist({ timeout: 5_000 });
  await byTestId(browser, "member-id").waitForExist({ timeout: 15_000 });
  assert.equal(await cardState(browser), "connected", "the member view loaded with the stored tokens");
});

e2eTest("deep-link transport: the redirect comes back through gio open and single-instance", current, async () => {
  await showSettings(browser);
  // Only the sandbox is set up, so its tab is the one shown.
  assert.equal(await byTestId(browser, "settings-openhumans").getAttribute("data-sandbox"), "true");
  await byTestId(browser, "transport").selectByAttribute("value", "deep_link");
  await byTestId(browser, "save-settings").click();
  await browser.waitUntil(async () => (await byTestId(browser, "transport").getValue()) === "deep_link", {
    timeout: 10_000, timeoutMsg: "transport did not stay deep_link after saving",
  });
  await showConnections(browser);
  await disconnectIfConnected();

  setBrowserMode("allow");
  const runsBefore = browserRuns().length;
  await byTestId(browser, "connect-openhumans").click();
  await waitForCardState(browser, "connected");
  const run = await waitForBrowserRun(runsBefore);
  assert.equal(run.delivered_by, "gio-open", `fake browser: ${JSON.stringify(run)}`);
  assert.match(run.callback, /^datalinks:\/\/oauth\/callback\?/);
  assert.equal(run.callback_status, 0, "gio open failed");
});

e2eTest("a callback with a foreign state is refused with state_mismatch", current, async () => {
  await markSeenNotices(browser);
  secondInstance("datalinks://oauth/callback?code=x&state=wrong");
  await waitForNewNotice(browser, "state_mismatch");
  await assertResponsive(browser);
  assert.equal(await cardState(browser), "connected", "a refused callback must not touch the connection");
});

for (const [label, send] of [
  ["an unknown deep link (datalinks://evil/x, via gio open)", () => gioOpen("datalinks://evil/x")],
  ["a callback without parameters", () => secondInstance("datalinks://oauth/callback")],
  ["a non-URL argument", () => secondInstance("not a url")],
]) {
  e2eTest(`${label} is refused with callback_refused`, current, async () => {
    await markSeenNotices(browser);
    send();
    await waitForNewNotice(browser, "callback_refused");
    await assertResponsive(browser);
  });
}

e2eTest("denying on the consent page (Cancel) shows authorization_denied", current, async () => {
  await disconnectIfConnected();
  setBrowserMode("deny");
  const runsBefore = browserRuns().length;
  await byTestId(browser, "connect-openhumans").click();
  const run = await waitForBrowserRun(runsBefore);
  assert.equal(run.steps.at(-1), "cancel", `fake browser: ${JSON.stringify(run)}`);
  assert.match(run.callback, /[?&]error=access_denied/);
  const error = byTestId(browser, "connection-error", '[data-code="authorization_denied"]');
  await error.waitForExist({ timeout: 15_000, timeoutMsg: `no authorization_denied error; card is ${await cardState(browser)}` });
  assert.notEqual(await cardState(browser), "waiting");
});

e2eTest("an access_denied callback for a pending attempt ends the wait", current, async () => {
  setBrowserMode("ignore"); // the user opens the page and walks away
  const runsBefore = browserRuns().length;
  await byTestId(browser, "connect-openhumans").click();
  await waitForCardState(browser, "waiting", 15_000);
  assert.match(await byTestId(browser, "waiting").getText(), /Sign in to Open Humans in the browser/);
  await snapshot(browser, "waiting-panel", '[data-testid="provider-openhumans"]');
  await byTestId(browser, "connection-error").waitForExist({
    reverse: true, timeout: 5_000, timeoutMsg: "the previous attempt's error is still shown while waiting",
  });
  await waitForBrowserRun(runsBefore);
  const authorizeUrl = new URL((await byTestId(browser, "authorize-url").getText()).trim());
  const state = authorizeUrl.searchParams.get("state");
  assert.ok(state, `no state in ${authorizeUrl}`);

  // "Copy link" puts exactly the authorize URL on the X clipboard.
  await byTestId(browser, "copy-link").click();
  await browser.waitUntil(async () => (await byTestId(browser, "copy-link").getText()).includes("Copied"), {
    timeout: 5_000, timeoutMsg: "Copy link did not confirm",
  });
  const clipboard = spawnSync("xclip", ["-o", "-selection", "clipboard"], { encoding: "utf8", timeout: 5_000 });
  assert.equal(clipboard.status, 0, `xclip failed: ${clipboard.stderr}`);
  assert.equal(clipboard.stdout.trim(), authorizeUrl.toString());

  gioOpen(`datalinks://oauth/callback?error=access_denied&state=${encodeURIComponent(state)}`);
  const error = byTestId(browser, "connection-error", '[data-code="authorization_denied"]');
  await error.waitForExist({ timeout: 15_000, timeoutMsg: `no authorization_denied error; card is ${await cardState(browser)}` });
  await browser.waitUntil(async () => (await cardState(browser)) !== "waiting", {
    timeout: 10_000, timeoutMsg: "the card is still waiting",
  });
  await assertResponsive(browser);
});
