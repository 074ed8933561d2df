// A member leaves the researcher's project and asks for erasure: the sandbox posts Open Humans'
// signed webhook to the app's receiver, the console's inbox shows it on top, and the researcher
// deletes their local copies (gone from disk), learns in plain words that Open Humans no longer
// lets the project delete that member's files, and marks it handled. The webhook secret never
// comes back through IPC, nor reaches the DOM, logs or database.
// Since 09 the console opens projects on the person's own Open Humans server (a standalone
// sandbox, stopped since): a standalone sandbox with three members serves that address again.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  startApp, e2eTest, byTestId, allByTestId, showSettings, startIpcRecording, leakedSecrets, freePort, snapshot,
  startStandaloneSandbox, standaloneCredentials,
} from "./harness.mjs";

const LEAVING = "member00002";

let browser;
let standalone;
let admin;
let sandboxUrl;
let masterToken;
let memberId;
let localCopies;
const webhookSecret = crypto.randomBytes(24).toString("base64url");
const current = () => browser;

async function sandbox(pathAndQuery, init = {}) {
  const response = await fetch(new URL(pathAndQuery, sandboxUrl), {
    ...init,
    headers: { "X-Sandbox-Key": admin, "Content-Type": "application/json", ...(init.headers ?? {}) },
  });
  assert.equal(response.status, 200, `${pathAndQuery}: HTTP ${response.status}`);
  return response.json();
}

before(async () => {
  browser = await startApp();
  await showSettings(browser);
  await byTestId(browser, "settings-tab-own-openhumans").click();
  const form = byTestId(browser, "settings-openhumans");
  await browser.waitUntil(async () => (await form.getAttribute("data-sandbox")) === "false", {
    timeout: 5_000, timeoutMsg: "the own app's form did not open",
  });
  const own = new URL(await form.$('[data-testid="base-url"]').getValue());
  standalone = await startStandaloneSandbox(
    ["--oc-port", "0", "--hapi-port", "0", "--members", "3", "--files-per-member", "3"],
    Number(own.port),
  );
  const credentials = standaloneCredentials(standalone.stdout, "Open Humans");
  sandboxUrl = `${credentials.address}/`;
  masterToken = credentials.masterToken;
  admin = credentials.adminKey;
});

after(async () => {
  await browser?.deleteSession();
  standalone?.child.kill("SIGINT");
});

e2eTest("the researcher opens the project and downloads a member's files", current, async () => {
  const listed = await sandbox(`api/direct-sharing/project/members/?access_token=${masterToken}`);
  memberId = listed.results.find((member) => member.username === LEAVING).project_member_id;
  await byTestId(browser, "nav-project").click();
  await startIpcRecording(browser);
  await byTestId(browser, "master-token").waitForExist({ timeout: 10_000 });
  await byTestId(browser, "master-token").setValue(masterToken);
  await byTestId(browser, "open-project").click();
  await browser.waitUntil(async () => (await allByTestId(browser, "project-member-row")).length > 0, {
    timeout: 30_000, timeoutMsg: "no member row appeared",
  });
  const row = byTestId(browser, "project-member-row", `[data-id="${memberId}"]`);
  await row.$('[data-testid="open-member"]').click();
  await byTestId(browser, "member-download").waitForExist({ timeout: 20_000 });
  await browser.waitUntil(async () => (await allByTestId(browser, "project-file-row")).length > 0, {
    timeout: 20_000, timeoutMsg: "the member's files were not shown",
  });
  await byTestId(browser, "member-download").click();
  const summary = byTestId(browser, "member-download-summary");
  await summary.waitForExist({ timeout: 120_000, timeoutMsg: "no summary after the download" });
  localCopies = path.join((await summary.$("code").getText()).trim(), memberId);
  assert.ok(fs.readdirSync(localCopies).length > 0, `nothing under ${localCopies}`);
  await byTestId(browser, "close-member").click();
});

e2eTest("the receiver starts with the webhook secret saved in the keyring", current, async () => {
  await byTestId(browser, "project-tab-departures").click();
  await byTestId(browser, "departures-empty").waitForExist({ timeout: 15_000 });
  await byTestId(browser, "webhook-secret").scrollIntoView({ block: "center" });
  await byTestId(browser, "webhook-secret").setValue(webhookSecret);
  await byTestId(browser, "webhook-secret-save").click();
  await byTestId(browser, "webhook-secret-saved").waitForExist({ timeout: 15_000 });
  assert.equal(await byTestId(browser, "webhook-secret").getValue(), "", "the field forgets the secret");

  const port = await freePort();
  const portField = byTestId(browser, "webhook-port");
  await portField.scrollIntoView({ block: "center" });
  await portField.clearValue();
  await portField.setValue(String(port));
  await byTestId(browser, "webhook-toggle").click();
  const listening = byTestId(browser, "webhook-listening");
  await listening.waitForExist({ timeout: 15_000, timeoutMsg: "the receiver did not start" });
  assert.match(await listening.getText(), new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
  await sandbox("_sandbox/webhook", {
    method: "POST",
    body: JSON.stringify({ url: `http://127.0.0.1:${port}/`, secret: webhookSecret }),
  });
});

e2eTest("a member who leaves asking for erasure arrives signed and stays on top", current, async () => {
  await sandbox(`_sandbox/deauthorize?username=${LEAVING}&erasure_requested=true`, { method: "POST" });
  const deliveries = await sandbox("_sandbox/webhook-deliveries");
  assert.equal(deliveries.length, 1, JSON.stringify(deliveries));
  assert.deepEqual(
    [deliveries[0].project_member_id, deliveries[0].signed, deliveries[0].status],
    [memberId, true, 200],
    "one signed delivery, answered 200: no unsigned retry",
  );

  const banner = byTestId(browser, "pending-erasures");
  await banner.waitForExist({ timeout: 15_000, timeoutMsg: "the inbox did not show the erasure request" });
  assert.match(await banner.getText(), new RegExp(`1 member asked for their data to be erased \\(${memberId}\\)`));
  const entry = byTestId(browser, "departure-entry", `[data-member="${memberId}"]`);
  assert.equal(await entry.getAttribute("data-erasure"), "true");
  assert.match(await entry.getText(), /Open Humans' webhook/);
  await snapshot(browser, "departures-inbox", '[data-testid="departures-panel"]');
});

e2eTest("the researcher deletes the local copies and learns why the project's files cannot go", current, async () => {
  await byTestId(browser, "departure-delete-files").scrollIntoView({ block: "center" });
  await byTestId(browser, "departure-delete-files").click();
  await byTestId(browser, "departure-confirm").click();
  const error = byTestId(browser, "departure-error");
  await error.waitForExist({ timeout: 15_000, timeoutMsg: "no error at the entry" });
  assert.match(await error.getText(), /no longer lets this project touch the files of member/);
  assert.doesNotMatch(await error.getText(), /HTTP 400|project_member_id is invalid/, "plain words, not the raw answer");

  await byTestId(browser, "departure-delete-copies").scrollIntoView({ block: "center" });
  await byTestId(browser, "departure-delete-copies").click();
  await byTestId(browser, "departure-confirm").click();
  const receipt = byTestId(browser, "departure-copies-receipt");
  await receipt.waitForExist({ timeout: 15_000, timeoutMsg: "no receipt for the local copies" });
  assert.match(await receipt.getText(), /Deleted \d+ files? and the folder/);
  assert.ok(!fs.existsSync(localCopies), `${localCopies} is still there`);
  await snapshot(browser, "departures-acted", '[data-testid="departures-panel"]');

  await byTestId(browser, "departure-note").scrollIntoView({ block: "center" });
  await byTestId(browser, "departure-note").setValue("Erased on request.");
  await byTestId(browser, "departure-mark-handled").click();
  await byTestId(browser, "departure-handled").waitForExist({ timeout: 15_000 });
  await browser.waitUntil(async () => !(await byTestId(browser, "pending-erasures").isExisting()), {
    timeout: 10_000, timeoutMsg: "the handled request still shows on top",
  });
});

e2eTest("the checklist shows the steps Datalinks saw along the way", current, async () => {
  await byTestId(browser, "project-tab-checklist").click();
  await byTestId(browser, "checklist-panel").waitForExist({ timeout: 10_000 });
  await browser.waitUntil(async () => (await allByTestId(browser, "checklist-item")).length === 10, {
    timeout: 10_000, timeoutMsg: "the checklist did not show its ten steps",
  });
  const done = [];
  for (const item of await allByTestId(browser, "checklist-item")) {
    if ((await item.getAttribute("data-done")) === "true") done.push(await item.getAttribute("data-step"));
  }
  assert.deepEqual(done, ["project_created", "test_authorization", "withdrawal", "data_access"]);
  assert.match(await byTestId(browser, "member-cap").getText(), /of at most 20 until Open Humans approves/);
  await snapshot(browser, "checklist", '[data-testid="checklist-panel"]');
  if (process.env.E2E_SCREENSHOTS === "1") {
    // The smallest window the app allows.
    const { width, height } = await browser.getWindowSize();
    await browser.setWindowSize(720, 520);
    await snapshot(browser, "checklist-minimum-window", '[data-testid="checklist-panel"]');
    await byTestId(browser, "project-tab-departures").click();
    await byTestId(browser, "departures-panel").waitForExist({ timeout: 10_000 });
    await snapshot(browser, "departures-minimum-window", '[data-testid="departures-panel"]');
    await browser.setWindowSize(width, height);
  }
});

e2eTest("the webhook secret never comes back through IPC, nor reaches the DOM, logs or database", current, async () => {
  assert.deepEqual(
    await leakedSecrets(browser, { "webhook secret": webhookSecret, "master token": masterToken }),
    [],
    "a secret leaked",
  );
});
