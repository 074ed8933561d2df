// Downloading the connected member's own files: Download all, live progress, a summary, and the
// files on disk. The download folder defaults to <HOME>/Downloads/Datalinks (the throwaway HOME
// has no XDG user-dirs file) and is changed in the system's folder dialog; files to upload are
// chosen in its file dialog. A path the page names itself is never used.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  startApp, e2eTest, byTestId, waitForCardState, cardState, showConnections, showSettings, setBrowserMode,
  filesUnder, appDataDir, chooseInDialog, chooseWith,
} from "./harness.mjs";

const DEFAULT_FOLDER = path.join(process.env.HOME, "Downloads", "Datalinks");
const DOWNLOAD_FOLDER = path.join(process.env.HOME, "Health data");

let browser;
const current = () => browser;

before(async () => {
  browser = await startApp();
});

after(async () => {
  await browser?.deleteSession();
});

e2eTest("connect again (03 disconnected)", current, async () => {
  await showConnections(browser);
  if ((await cardState(browser)) !== "connected") {
    setBrowserMode("allow");
    await byTestId(browser, "connect-openhumans").click();
    await waitForCardState(browser, "connected");
  }
  await byTestId(browser, "member-id").waitForExist({ timeout: 15_000 });
});

e2eTest("the download folder defaults to Downloads/Datalinks in Settings", current, async () => {
  await showSettings(browser);
  const shown = byTestId(browser, "download-folder");
  await browser.waitUntil(async () => (await shown.getText()) !== "", { timeout: 10_000 });
  assert.equal(await shown.getText(), DEFAULT_FOLDER);
});

e2eTest("the download folder is changed in the system's folder dialog, never by a path from the page", current, async () => {
  // What a compromised page would try: the old raw-path command, and a made-up pick id.
  const refused = await browser.executeAsync((done) => {
    const { invoke, transformCallback } = window.__TAURI_INTERNALS__;
    // A channel for progress, as the page makes one, so the calls get as far as the path.
    const onProgress = `__CHANNEL__:${transformCallback(() => {})}`;
    Promise.allSettled([
      invoke("set_download_folder", { folder: "/tmp/elsewhere" }),
      invoke("upload_file", {
        connection: 1, file: "/etc/passwd",
        input: { description: "x", tags: ["x"], creation_date: null, datatypes: [] }, onProgress,
      }),
      invoke("download_project_files", { request: { only: null, exclude: [], source: null, project_data: false, max_size: null, id_prefix: false, concurrency: 1 }, dest: "pick-1", onProgress }),
    ]).then((outcomes) => done(outcomes.map((o) => (o.status === "rejected" ? String(o.reason?.message ?? o.reason) : "accepted"))));
  });
  assert.match(refused[0], /set_download_folder/, "the raw-path command is gone");
  assert.match(refused[1], /no longer chosen/);
  assert.match(refused[2], /no longer chosen/);
  assert.equal(await byTestId(browser, "download-folder").getText(), DEFAULT_FOLDER);

  fs.mkdirSync(DOWNLOAD_FOLDER, { recursive: true });
  const change = byTestId(browser, "choose-download-folder");
  await change.scrollIntoView({ block: "center" });
  await change.click();
  chooseInDialog("^Choose the download folder$", DOWNLOAD_FOLDER);
  const shown = byTestId(browser, "download-folder");
  await browser.waitUntil(async () => (await shown.getText()) === DOWNLOAD_FOLDER, {
    timeout: 15_000, timeoutMsg: `the chosen folder was not shown: ${await shown.getText()}`,
  });
  await showConnections(browser);
});

e2eTest("Download all shows progress and a summary, and the files are on disk", current, async () => {
  const fileCountText = byTestId(browser, "file-count");
  await browser.waitUntil(async () => /^\d+$/.test((await fileCountText.getText()).trim()), {
    timeout: 15_000, timeoutMsg: "the file count never appeared",
  });
  const fileCount = Number((await fileCountText.getText()).trim());
  const memberId = (await byTestId(browser, "member-id").getText()).trim();

  const downloadAll = byTestId(browser, "download-all");
  await downloadAll.waitForClickable({ timeout: 15_000 });
  await downloadAll.click();
  const progress = byTestId(browser, "download-progress");
  await progress.waitForExist({ timeout: 20_000, timeoutMsg: "no download progress was shown" });
  assert.equal(Number(await progress.getAttribute("data-total")), fileCount);

  const summary = byTestId(browser, "download-summary");
  await summary.waitForExist({ timeout: 120_000, timeoutMsg: "no download summary appeared" });
  assert.equal(Number(await summary.getAttribute("data-failed")), 0, await summary.getText());
  assert.equal(Number(await summary.getAttribute("data-downloaded")), fileCount);
  assert.equal(Number(await summary.getAttribute("data-skipped")), 0);
  assert.equal(Number(await progress.getAttribute("data-done")), fileCount);

  const memberFolder = path.join(DOWNLOAD_FOLDER, memberId);
  const onDisk = filesUnder(memberFolder);
  assert.equal(onDisk.filter((file) => file.endsWith(".part")).length, 0, "unfinished .part files left");
  assert.equal(onDisk.length, fileCount, `files under ${memberFolder}`);
});

e2eTest("no download link (its key authorizes the download) reached the logs or the database", current, () => {
  const written = filesUnder(appDataDir()).filter((file) => /\.(log|sqlite3?)(-wal|-journal)?$/.test(file));
  assert.ok(written.length > 0, `nothing to scan under ${appDataDir()}`);
  // The audit log names the path it asked (`/data-management/datafile-download/<id>/`), never
  // the query that authorizes it.
  const leaks = written.filter((file) => {
    const text = fs.readFileSync(file).toString("latin1");
    return /datafile-download\/\d+\/\?/.test(text) || /key=[0-9a-f]{8}-/.test(text) || text.includes("Signature=");
  });
  assert.deepEqual(leaks, [], "download URLs were written down");
});

e2eTest("a file of the member's own is uploaded, listed in the project's group, then deleted after confirming", current, async () => {
  const local = path.join(process.env.HOME, "sleep-notes.csv");
  const content = "night,hours\n2026-11-20,7.5\n2026-11-21,6.9\n".repeat(2000);
  fs.writeFileSync(local, content);

  const form = byTestId(browser, "upload-form");
  await form.scrollIntoView({ block: "center" });
  await chooseWith(browser, "upload-file", "^Choose a file to upload$", local);
  await byTestId(browser, "upload-description").setValue("Sleep notes kept by hand");
  await byTestId(browser, "upload-tags").setValue("sleep, notes");
  await byTestId(browser, "upload-submit").click();
  const result = byTestId(browser, "upload-result");
  await result.waitForExist({ timeout: 30_000, timeoutMsg: "no upload result" });
  const fileId = await result.getAttribute("data-file-id");
  assert.match(fileId, /^\d+$/);
  const row = byTestId(browser, "file-row", `[data-file-id="${fileId}"]`);
  await row.waitForExist({ timeout: 15_000, timeoutMsg: "the uploaded file is not listed" });
  assert.equal(await row.$(".basename").getAttribute("title"), "sleep-notes.csv");

  const remove = row.$('[data-testid="delete-file"]');
  await remove.scrollIntoView({ block: "center" });
  await remove.click();
  const confirm = byTestId(browser, "confirm-delete");
  await confirm.waitForClickable({ timeout: 10_000 });
  await confirm.click();
  await byTestId(browser, "delete-result").waitForExist({ timeout: 15_000 });
  await row.waitForExist({ reverse: true, timeout: 15_000, timeoutMsg: "the deleted file is still listed" });
});
