import { describe, expect, it } from "vitest";
import { parseTags, validateUpload } from "./upload";

const FILE = { id: "pick-1", path: "/home/alice/steps.csv" };
const VALID = { file: FILE, description: "Daily steps", tags: "steps, daily", date: "" };

describe("upload form rules", () => {
  it("turns valid fields into the chosen file's id and the command's input", () => {
    expect(validateUpload({ ...VALID, description: "  Daily steps ", date: " 2024-03-01 " })).toEqual({
      file: "pick-1",
      input: {
        description: "Daily steps",
        tags: ["steps", "daily"],
        creation_date: "2024-03-01",
        datatypes: [],
      },
    });
    expect(validateUpload({ ...VALID, date: "2024-03-01T10:00:00+02:00" })).toHaveProperty("input");
  });

  it("requires a chosen file, a description and a tag, and an ISO 8601 date when one is given", () => {
    expect(validateUpload({ file: null, description: " ", tags: " , ", date: "March 1st" })).toEqual({
      errors: {
        file: "Choose the file to upload.",
        description: "Open Humans requires a description.",
        tags: "Give at least one tag, such as steps or survey.",
        date: "Use an ISO 8601 date, such as 2024-03-01.",
      },
    });
    expect(validateUpload({ ...VALID, file: null })).toEqual({ errors: { file: "Choose the file to upload." } });
    expect(validateUpload({ ...VALID, date: "01/03/2024" })).toHaveProperty("errors.date");
  });

  it("splits tags on commas and drops blanks", () => {
    expect(parseTags(" a ,b,, c ")).toEqual(["a", "b", "c"]);
    expect(parseTags("")).toEqual([]);
  });
});
