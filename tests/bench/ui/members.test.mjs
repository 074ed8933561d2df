// Driven by tests/bench/members-ui.sh: opens a project of BENCH_MEMBERS members in the app and
// prints how long the member list takes to show its first page, to list again, to search and
// to sort, and the peak memory of the app and its web process.
import { before, after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { startApp, byTestId, showSettings } from "../../e2e/harness.mjs";

const MEMBERS = Number(process.env.BENCH_MEMBERS);
let browser;

before(async () => {
  browser = await startApp();
});

after(async () => {
  await browser?.deleteSession();
});

/**
 * Clicks `testId`; resolves with the ms (in the page's clock, at the next frame) until the first
 * member row is on screen and until the listing indicator is gone with rows shown.
 */
async function timeList(testId) {
  return browser.executeAsync((id, done) => {
    const start = performance.now();
    const times = {};
    let seenLoading = false;
    const check = () => {
      const row = document.querySelector('[data-testid="project-member-row"]') !== null;
      const loading = document.querySelector('[data-testid="members-loading"]') !== null;
      seenLoading ||= loading;
      if (row && times.firstRow === undefined) {
        times.firstRow = -1;
        requestAnimationFrame(() => (times.firstRow = performance.now() - start));
      }
      if (row && seenLoading && !loading && times.complete === undefined) {
        times.complete = -1;
        observer.disconnect();
        requestAnimationFrame(() => {
          times.complete = performance.now() - start;
          const finish = () => (times.firstRow >= 0 ? done(times) : requestAnimationFrame(finish));
          finish();
        });
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, { childList: true, subtree: true, attributes: true });
    document.querySelector(`[data-testid="${id}"]`).click();
  }, testId);
}

function peakKiB(pattern) {
  let pids = [];
  try {
    pids = execFileSync("pgrep", ["-f", pattern]).toString().trim().split("\n").filter(Boolean);
  } catch {
    return 0;
  }
  return Math.max(0, ...pids.map((pid) => {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }));
}

test(`member list of ${MEMBERS} members`, async () => {
  // Point the app's Open Humans settings at the benchmark's sandbox.
  if (await byTestId(browser, "try-sandbox").isExisting()) await byTestId(browser, "nav-settings").click();
  else await showSettings(browser);
  await byTestId(browser, "client-id").setValue(process.env.BENCH_CLIENT_ID);
  await byTestId(browser, "client-secret").setValue(process.env.BENCH_CLIENT_SECRET);
  await byTestId(browser, "base-url").setValue(process.env.BENCH_SANDBOX_URL);
  await byTestId(browser, "save-settings").click();
  await browser.pause(500);

  await byTestId(browser, "nav-project").click();
  await byTestId(browser, "master-token").setValue(process.env.BENCH_MASTER_TOKEN);
  const opened = await timeList("open-project");
  const shown = Number(await byTestId(browser, "member-count-shown").getAttribute("data-count"));
  assert.equal(shown, MEMBERS);

  const relist = (await timeList("refresh-members")).complete;

  const search = await browser.executeAsync((done) => {
    const input = document.querySelector('[data-testid="member-search"]');
    const start = performance.now();
    input.value = "fitbit";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));
  });
  await browser.execute(() => {
    const input = document.querySelector('[data-testid="member-search"]');
    input.value = "";
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  const sort = await browser.executeAsync((done) => {
    const select = document.querySelector('[data-testid="member-sort"]');
    const start = performance.now();
    select.value = "files";
    select.dispatchEvent(new Event("change", { bubbles: true }));
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));
  });
  const rowsInDom = await browser.execute(() => document.querySelectorAll('[data-testid="project-member-row"]').length);

  const appKiB = peakKiB("target/.*/datalinks-app");
  const webKiB = peakKiB("WebKitWebProcess");
  console.log(`\n=== member list, ${MEMBERS} members (${process.env.DATALINKS_APP})`);
  console.log(`  open project -> first rendered page: ${opened.firstRow.toFixed(0)} ms`);
  console.log(`  open project -> all members listed:  ${opened.complete.toFixed(0)} ms`);
  console.log(`  refresh (list all again) -> rendered: ${relist.toFixed(0)} ms`);
  console.log(`  search "fitbit" -> rendered:          ${search.toFixed(0)} ms`);
  console.log(`  sort by files -> rendered:            ${sort.toFixed(0)} ms`);
  console.log(`  rows in the DOM:                      ${rowsInDom}`);
  console.log(`  peak RSS: app ${(appKiB / 1024).toFixed(1)} MiB, web process ${(webKiB / 1024).toFixed(1)} MiB`);
});
