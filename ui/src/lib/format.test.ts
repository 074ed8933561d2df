import { describe, expect, it } from "vitest";
import { formatCount } from "./format";

describe("formatCount", () => {
  it("agrees the noun with the count and groups digits as the locale does", () => {
    expect(formatCount(1, "authorized member")).toBe("1 authorized member");
    expect(formatCount(0, "file")).toBe("0 files");
    expect(formatCount(1234, "file")).toBe(`${new Intl.NumberFormat().format(1234)} files`);
    expect(formatCount(2, "person", "people")).toBe("2 people");
  });
});
