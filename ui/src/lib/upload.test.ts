import { describe, expect, it } from "vitest";
import { parseTags, validateUpload } from "./upload";

const VALID = { path: "/home/alice/steps.csv", description: "Daily steps", tags: "steps, daily", date: "" };

describe("upload form rules", () => {
  it("turns valid fields into the command's input", () => {
    expect(validateUpload({ ...VALID, description: "  Daily steps ", date: " 2024-03-01 " })).toEqual({
      input: {
        path: "/home/alice/steps.csv",
        description: "Daily steps",
        tags: ["steps", "daily"],
        creation_date: "2024-03-01",
        datatypes: [],
      },
    });
    expect(validateUpload({ ...VALID, path: "C:\\Users\\alice\\steps.csv" })).toHaveProperty("input");
    expect(validateUpload({ ...VALID, date: "2024-03-01T10:00:00+02:00" })).toHaveProperty("input");
  });

  it("requires a full path, a description and a tag, and an ISO 8601 date when one is given", () => {
    expect(validateUpload({ path: "", description: " ", tags: " , ", date: "March 1st" })).toEqual({
      errors: {
        path: "Enter the path of the file to upload.",
        description: "Open Humans requires a description.",
        tags: "Give at least one tag, such as steps or survey.",
        date: "Use an ISO 8601 date, such as 2024-03-01.",
      },
    });
    expect(validateUpload({ ...VALID, path: "steps.csv" })).toEqual({
      errors: { path: "Enter the file's full path, such as /home/you/steps.csv." },
    });
    expect(validateUpload({ ...VALID, date: "01/03/2024" })).toHaveProperty("errors.date");
  });

  it("splits tags on commas and drops blanks", () => {
    expect(parseTags(" a ,b,, c ")).toEqual(["a", "b", "c"]);
    expect(parseTags("")).toEqual([]);
  });
});
