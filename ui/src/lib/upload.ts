// The upload form's rules, checked before anything is sent. Rust checks them again (and the
// file itself); these give the person an answer next to the field.
import type { UploadInput } from "./bindings/UploadInput";

export type UploadFields = { path: string; description: string; tags: string; date: string };
export type UploadErrors = Partial<Record<keyof UploadFields, string>>;

/** A date, or a date and time with an optional offset, as Open Humans reads ISO 8601. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `/home/…`, `C:\…` or `\\server\…`. */
function isFullPath(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
}

export function parseTags(text: string): string[] {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag !== "");
}

/** The command's input, or what is wrong with each field. */
export function validateUpload(fields: UploadFields): { input: UploadInput } | { errors: UploadErrors } {
  const errors: UploadErrors = {};
  const path = fields.path.trim();
  const description = fields.description.trim();
  const tags = parseTags(fields.tags);
  const date = fields.date.trim();
  if (path === "") errors.path = "Enter the path of the file to upload.";
  else if (!isFullPath(path)) errors.path = "Enter the file's full path, such as /home/you/steps.csv.";
  if (description === "") errors.description = "Open Humans requires a description.";
  if (tags.length === 0) errors.tags = "Give at least one tag, such as steps or survey.";
  if (date !== "" && !ISO_8601.test(date)) errors.date = "Use an ISO 8601 date, such as 2024-03-01.";
  if (Object.keys(errors).length > 0) return { errors };
  return { input: { path, description, tags, creation_date: date === "" ? null : date, datatypes: [] } };
}
