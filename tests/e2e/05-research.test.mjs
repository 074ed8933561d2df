// The researcher console on the app's sandbox: paste the project's master token, see the
// members, download one member's files with visible progress, download the members of a list
// file into a folder and upload results from one (every file and folder chosen in the system's
// dialogs), export the file list, and send a message whose receipt the sandbox records. The master token never comes back through IPC, nor reaches the logs,
// the database or the DOM. Runs after 04 (alice is a member of the sandbox project).
import { before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  SANDBOX_ADMIN, startApp, e2eTest, byTestId, allByTestId, showConnections, startIpcRecording, filesUnder, leakedSecrets,
  sandboxAddresses, chooseInDialog, chooseWith, TMP,
} from "./harness.mjs";

let browser;
let sandboxUrl;
let masterToken;
/** The first member in the list, read while the list is on screen. */
let firstMember;
const current = () => browser;

async function sandboxJson(pathAndQuery) {
  const response = await fetch(new URL(pathAndQuery, sandboxUrl), { headers: SANDBOX_ADMIN });
  assert.equal(response.status, 200, `${pathAndQuery}: HTTP ${response.status}`);
  return response.json();
}

/** Every file the sandbox holds for a member, page after page. */
async function memberFiles(memberId) {
  const files = [];
  let page = `api/direct-sharing/project/exchange-member/?project_member_id=${memberId}&access_token=${masterToken}`;
  while (page) {
    const answer = await sandboxJson(page);
    files.push(...answer.data);
    page = answer.next;
  }
  return files;
}

before(async () => {
  browser = await startApp();
});

after(async () => {
  await browser?.deleteSession();
});

e2eTest("the sandbox's project page gives the master token", current, async () => {
  // Alice's card reads her files from the sandbox, which starts on free ports and logs where;
  // Settings show it as "built-in sandbox", with no address.
  await showConnections(browser);
  await byTestId(browser, "member-id").waitForExist({ timeout: 15_000 });
  sandboxUrl = `${(await sandboxAddresses()).openHumans.replace(/\/$/, "")}/`;
  assert.match(sandboxUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  masterToken = (await sandboxJson("_sandbox/master-token")).master_access_token;
  assert.match(masterToken, /^[A-Za-z0-9]{64}$/);
});

e2eTest("a researcher pastes the master token and sees the members", current, async () => {
  await byTestId(browser, "nav-project").click();
  await startIpcRecording(browser);
  const tokenInput = byTestId(browser, "master-token");
  await tokenInput.waitForExist({ timeout: 10_000 });
  await tokenInput.setValue(masterToken);
  await byTestId(browser, "open-project").click();

  await byTestId(browser, "project-name").waitForExist({ timeout: 20_000, timeoutMsg: "the project did not open" });
  assert.match(await byTestId(browser, "token-storage").getText(), /this session only/);
  const remaining = Number(await byTestId(browser, "token-countdown").getAttribute("data-remaining"));
  assert.ok(remaining > 23 * 3600 && remaining <= 24 * 3600, `countdown ${remaining}`);

  await browser.waitUntil(async () => (await allByTestId(browser, "project-member-row")).length > 0, {
    timeout: 30_000, timeoutMsg: "no member row appeared",
  });
  // Rows show page by page as they arrive; the count is final once the listing is.
  await byTestId(browser, "members-loading").waitForExist({ reverse: true, timeout: 60_000 });
  const shown = Number(await byTestId(browser, "member-count-shown").getAttribute("data-count"));
  const listed = await fetch(new URL(`api/direct-sharing/project/members/?access_token=${masterToken}`, sandboxUrl))
    .then((r) => r.json());
  assert.equal(shown, listed.count, "every member of the project is listed");
  firstMember = await (await allByTestId(browser, "project-member-row"))[0].getAttribute("data-id");
});

e2eTest("one member's files download with visible progress, into ohapi's layout", current, async () => {
  const row = (await allByTestId(browser, "project-member-row"))[0];
  const memberId = await row.getAttribute("data-id");
  await row.$('[data-testid="open-member"]').click();
  const detail = byTestId(browser, "project-member-detail");
  await detail.waitForExist({ timeout: 10_000 });
  await browser.waitUntil(async () => (await allByTestId(browser, "project-file-row")).length > 0, {
    timeout: 20_000, timeoutMsg: "the member's files were not shown",
  });
  // ohapi's layout, except that every file is kept: same-named files get their ID in front.
  const files = await memberFiles(memberId);
  const fileCount = files.length;
  assert.ok(fileCount > 0);

  await byTestId(browser, "member-download").click();
  const progress = byTestId(browser, "download-progress");
  await progress.waitForExist({ timeout: 20_000, timeoutMsg: "no download progress was shown" });
  assert.equal(Number(await progress.getAttribute("data-total")), fileCount);
  const summary = byTestId(browser, "member-download-summary");
  await summary.waitForExist({ timeout: 120_000, timeoutMsg: "no summary after the download" });
  assert.equal(Number(await summary.getAttribute("data-downloaded")), fileCount, await summary.getText());

  const folder = (await summary.$("code").getText()).trim();
  const onDisk = filesUnder(path.join(folder, memberId));
  assert.equal(onDisk.filter((file) => file.endsWith(".part")).length, 0);
  assert.equal(onDisk.length, fileCount);
  // <folder>/<member>/<source>/<file>, as ohproj-download writes it.
  assert.ok(onDisk.every((file) => path.relative(folder, file).split(path.sep).length === 3), onDisk[0]);
  await byTestId(browser, "close-member").click();
});

e2eTest("a message to the selected member is previewed, sent, and received", current, async () => {
  const before = (await sandboxJson("_sandbox/messages")).length;
  const row = (await allByTestId(browser, "project-member-row"))[0];
  const memberId = await row.getAttribute("data-id");
  await row.$('[data-testid="member-select"]').click();
  await byTestId(browser, "project-tab-message").click();
  await byTestId(browser, "message-to-selected").click();
  await byTestId(browser, "message-subject").setValue("Study update");
  await byTestId(browser, "message-body").setValue("Hello {{ PROJECT_MEMBER_ID }}, new results are in.");
  await byTestId(browser, "message-preview-button").click();

  const count = byTestId(browser, "message-recipient-count");
  await count.waitForExist({ timeout: 10_000 });
  assert.equal(await count.getText(), "1");
  assert.equal(await byTestId(browser, "message-rendered").getText(), `Hello ${memberId}, new results are in.`);
  await byTestId(browser, "message-send").click();
  await byTestId(browser, "message-sent").waitForExist({ timeout: 15_000, timeoutMsg: "no confirmation" });

  const messages = await sandboxJson("_sandbox/messages");
  assert.equal(messages.length, before + 1);
  const received = messages.at(-1);
  assert.equal(received.project_member_id, memberId);
  // Open Humans prefixes the subject with "[Open Humans Project Message]".
  assert.match(received.subject, /\] Study update$/);
  assert.equal(received.body, `Hello ${memberId}, new results are in.`);
});

e2eTest("the members of a list file download into a folder chosen in the system's dialog", current, async () => {
  const memberId = firstMember;
  const list = path.join(TMP, "research", "members.txt");
  const into = path.join(TMP, "research", "bulk download");
  fs.mkdirSync(into, { recursive: true });
  fs.writeFileSync(list, `${memberId}\n`);

  await byTestId(browser, "project-tab-download").click();
  await byTestId(browser, "bulk-who-list").click();
  await byTestId(browser, "bulk-only-file").click();
  chooseInDialog("^Choose a member list$", list);
  const note = byTestId(browser, "bulk-list-note");
  await note.waitForExist({ timeout: 15_000, timeoutMsg: "the list file was not read" });
  assert.equal(await note.getText(), `Added 1 member ID from ${list}.`);
  assert.equal(await byTestId(browser, "bulk-only").getValue(), memberId);

  await chooseWith(browser, "bulk-dest", "^Choose where to download to$", into);
  const start = byTestId(browser, "bulk-start");
  await start.scrollIntoView({ block: "center" });
  await start.click();
  const summary = byTestId(browser, "bulk-summary");
  await summary.waitForExist({ timeout: 120_000, timeoutMsg: "no bulk download summary" });
  assert.equal(Number(await summary.getAttribute("data-failed")), 0, await summary.getText());
  assert.equal(await summary.$("code").getText(), into);
  assert.deepEqual(fs.readdirSync(into), [memberId], "only the listed member, in the chosen folder");
  assert.ok(filesUnder(path.join(into, memberId)).length > 0);

  // The file list goes where the save dialog says.
  const csv = path.join(TMP, "research", "file list.csv");
  await byTestId(browser, "export-metadata").click();
  chooseInDialog("^Save the file list as CSV$", csv);
  const exported = byTestId(browser, "metadata-exported");
  await exported.waitForExist({ timeout: 15_000, timeoutMsg: "no export confirmation" });
  assert.match(await exported.getText(), new RegExp(` written to ${csv}$`));
  assert.match(fs.readFileSync(csv, "utf8"), /^project_member_id,data_source,file_basename,file_upload_date\r\n/, "as ohapi writes it");
});

e2eTest("results are uploaded to a member from a folder and a CSV chosen in the system's dialogs", current, async () => {
  const memberId = firstMember;
  // One member's files directly in the folder (see chooseInDialog on folders with subfolders).
  const results = path.join(TMP, "research", "results");
  fs.mkdirSync(results, { recursive: true });
  fs.writeFileSync(path.join(results, "summary.txt"), "Your results are in.\n");
  const csv = path.join(TMP, "research", "results.csv");
  fs.writeFileSync(csv, 'filename,description,tags\nsummary.txt,Study summary,"results,summary"\n');

  await byTestId(browser, "project-tab-upload").click();
  await chooseWith(browser, "project-upload-dir", "^Choose the folder to upload from$", results);
  await chooseWith(browser, "project-upload-csv", "^Choose the metadata CSV$", csv);
  await byTestId(browser, "project-upload-member").setValue(memberId);
  const start = byTestId(browser, "project-upload-start");
  await start.scrollIntoView({ block: "center" });
  await start.click();
  const report = byTestId(browser, "project-upload-report");
  await report.waitForExist({ timeout: 30_000, timeoutMsg: "no upload report" });
  assert.equal(Number(await report.getAttribute("data-failures")), 0, await report.getText());
  const files = await memberFiles(memberId);
  assert.ok(files.some((file) => file.basename === "summary.txt"), "the sandbox has the uploaded file");
});

e2eTest("the plots draw the project's members", current, async () => {
  await byTestId(browser, "project-tab-plots").click();
  const joined = byTestId(browser, "plot-joined");
  await joined.waitForExist({ timeout: 15_000 });
  const shown = Number(await byTestId(browser, "plot-joined").getAttribute("data-total"));
  assert.ok(shown >= 1, `plot total ${shown}`);
  assert.ok((await byTestId(browser, "plot-volume").$$('[data-testid="plot-bar"]')).length > 0);
});

e2eTest("the master token never comes back through IPC, nor reaches the DOM, logs or database", current, async () => {
  assert.deepEqual(await leakedSecrets(browser, { "master token": masterToken }), [], "the master token leaked");
});
